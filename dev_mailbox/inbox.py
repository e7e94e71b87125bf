"""The web inbox: folders, search, one message, scenarios and the delivery log."""

import base64
import re
from itertools import zip_longest

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from dev_mailbox import scenarios
from dev_mailbox.api import store
from dev_mailbox.mime import ParsedMessage, parse_message, part_content
from dev_mailbox.search import FOLDERS, Filter, SearchError, parse_query

PAGE_SIZE = 50
EMPTY_RULE_ROWS = 3
# The HTML body is shown in a sandboxed frame: no scripts, no remote images, no same origin.
HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:;"
    " sandbox allow-popups allow-popups-to-escape-sandbox"
)
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.I)
_CID = re.compile(r"cid:(?P<cid>[^\s\"'<>)]+)", re.I)
_SAFE_TYPE = re.compile(r"image/[\w.+-]+")
MAX_INLINE_IMAGE = 2 * 1024 * 1024
# Bigger sources are cut on the page; the raw link always has all of it.
MAX_SOURCE_SHOWN = 256 * 1024
# The query parameters the pages read: a link to the same page keeps these, and only these.
PAGE_ARGUMENTS = ("folder", "to", "q", "start", "preview")

inbox = Blueprint("inbox", __name__)


@inbox.context_processor
def labels() -> dict:
    """Translated names for the values stored in English (actions, chaos stages, outcomes)."""
    return {
        "action_labels": {
            "deliver": _("Deliver"),
            "spam": _("To spam"),
            "drop": _("Drop silently"),
            "delay": _("Delay"),
            "reject": _("Reject (550)"),
            "tempfail": _("Fail temporarily (451)"),
            "disconnect": _("Disconnect"),
        },
        "stage_labels": {
            "Sender": _("Sender (MAIL)"),
            "Recipient": _("Recipient (RCPT)"),
            "Data": _("Message (DATA)"),
            "Authentication": _("Login (AUTH)"),
        },
        "outcome_labels": {
            "delivered": _("Delivered"),
            "spam": _("Spam"),
            "dropped": _("Dropped"),
            "delayed": _("Delayed"),
            "rejected": _("Rejected"),
            "tempfailed": _("Failed temporarily"),
            "disconnected": _("Disconnected"),
        },
    }


@inbox.app_template_global()
def same_page_url(**changes: str) -> str:
    """This page's address with `changes` (lang="ru"). Only the parameters pages read are kept:
    any other would go to url_for as is, and Flask reads `_external`, `_scheme`, `_anchor` and
    `_method` there (links built from the Host header, or a 500)."""
    arguments = {name: request.args[name] for name in PAGE_ARGUMENTS if name in request.args}
    rule = request.url_rule
    if rule is None or "GET" not in (rule.methods or ()):  # an error page after a form: to the inbox
        return url_for("inbox.messages", **arguments, **changes)
    return url_for(rule.endpoint, **(request.view_args or {}), **arguments, **changes)


@inbox.get("/")
def messages() -> str:
    folder = request.args.get("folder", "inbox")
    if folder not in FOLDERS:
        folder = "inbox"
    recipient = request.args.get("to", "").strip()
    query = request.args.get("q", "").strip()
    try:
        start = max(0, int(request.args.get("start", 0)))
    except ValueError:
        start = 0
    where = Filter().in_folder(folder)
    if recipient:
        where.to_recipient(recipient)
    error = None
    if query:
        try:
            parse_query(query, into=where)
        except SearchError:
            error = _("The search was not understood. Examples: from:kool subject:konto is:spam")
            where = Filter().in_folder(folder)
    counts = store().folder_counts()
    # A whole folder's size is already in the folder counts: no second count needed.
    whole_folder = not recipient and not (query and error is None)
    page, matched = store().find(where, start, PAGE_SIZE, count=not whole_folder)
    if matched is None:
        matched = counts.get(folder, 0)
    return render_template(
        "messages.html",
        folder=folder,
        recipient=recipient,
        query=query,
        messages=page,
        matched=matched,
        start=start,
        page_size=PAGE_SIZE,
        counts=counts,
        error=error,
    )


@inbox.post("/delete")
def delete_messages() -> Response:
    folder = request.form.get("folder", "inbox")
    ids = request.form.getlist("id")
    if ids:
        store().delete(ids)
    elif folder in FOLDERS:
        store().delete(where=Filter().in_folder(folder))
    return redirect(url_for("inbox.messages", folder=folder), 303)


@inbox.get("/message/<message_id>")
@inbox.get("/view/<message_id>")  # Mailpit's address for the same page; "latest" works too
def message(message_id: str) -> str:
    found = store().get(message_id)
    if found is None:
        abort(404)
    summary, raw = found
    if not summary.read:
        store().set_read([summary.id], True)
    return render_template(
        "message.html",
        summary=summary,
        parsed=parse_message(raw),
        source=raw[:MAX_SOURCE_SHOWN].decode("utf-8", "replace"),
        source_cut=len(raw) > MAX_SOURCE_SHOWN,
    )


@inbox.get("/message/<message_id>/html")
@inbox.get("/view/<message_id>.html")
def message_html(message_id: str) -> Response:
    found = store().get(message_id)
    if found is None:
        abort(404)
    raw = found[1]
    parsed = parse_message(raw)
    html = _inline_images(raw, parsed, parsed.html)
    # Links open in a new tab instead of inside the small frame.
    doctype = _DOCTYPE.match(html)
    cut = doctype.end() if doctype else 0
    html = html[:cut] + '<base target="_blank">' + html[cut:]
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = HTML_POLICY
    return response


def _inline_images(raw: bytes, parsed: ParsedMessage, html: str) -> str:
    """cid: images become data: URIs, the only images the frame's policy lets load."""
    images = {part.content_id: part for part in parsed.inline if part.size <= MAX_INLINE_IMAGE}
    if not images:
        return html

    def data_uri(match: re.Match) -> str:
        part = images.get(match["cid"])
        found = part and part_content(raw, part.part_id)
        if not found or not _SAFE_TYPE.fullmatch(part.content_type):
            return match[0]
        return f"data:{part.content_type};base64,{base64.b64encode(found[1]).decode()}"

    return _CID.sub(data_uri, html)


@inbox.get("/view/<message_id>.txt")
def message_text(message_id: str) -> Response:
    """The decoded text body, as Mailpit's /view/ID.txt gives it."""
    found = store().get(message_id)
    if found is None:
        abort(404)
    return Response(parse_message(found[1]).text, mimetype="text/plain")


@inbox.post("/message/<message_id>/delete")
def delete_message(message_id: str) -> Response:
    store().delete([message_id])
    return redirect(url_for("inbox.messages"), 303)


def _rules_from_form() -> list[dict]:
    rules = []
    # zip_longest: a hand-made request with uneven fields is refused by validation, not a 500.
    fields = ("match", "action", "seconds", "times")
    rows = zip_longest(*(request.form.getlist(name) for name in fields))
    for match, action, seconds, times in rows:
        match, seconds, times = (match or "").strip(), (seconds or "").strip(), (times or "").strip()
        if not match:
            continue
        rule: dict = {"match": match, "action": action}
        if action == "delay" or seconds:
            try:
                rule["seconds"] = float(seconds)
            except ValueError:
                rule["seconds"] = seconds
        if times:
            try:
                rule["times"] = int(times)
            except ValueError:
                rule["times"] = times
        rules.append(rule)
    return rules


def _chaos_from_form() -> dict:
    chaos = {}
    for stage in scenarios.CHAOS_STAGES:
        trigger = {}
        for field, key in (("ErrorCode", f"code_{stage}"), ("Probability", f"probability_{stage}")):
            value = request.form.get(key, "").strip()
            try:
                trigger[field] = int(value)
            except ValueError:
                trigger[field] = value
        chaos[stage] = trigger
    return chaos


@inbox.route("/scenarios", methods=["GET", "POST"])
def scenarios_page() -> str | Response:
    problem = None
    rule_rows = [rule.as_api() for rule in store().rules]
    chaos_rows = scenarios.chaos_as_api(store().chaos)
    if request.method == "POST":
        rule_rows, chaos_rows = _rules_from_form(), _chaos_from_form()
        try:
            rules = scenarios.parse_rules(rule_rows)
            chaos = scenarios.parse_chaos(chaos_rows)
        except scenarios.ScenarioError as error:
            problem = error
        else:
            store().save_rules(rules)
            store().save_chaos(chaos)
            return redirect(url_for("inbox.scenarios_page", saved=1), 303)
    page = render_template(
        "scenarios.html",
        rows=rule_rows + [{"match": "", "action": "deliver"}] * EMPTY_RULE_ROWS,
        actions=scenarios.ACTIONS,
        chaos=chaos_rows,
        error=problem and _(problem.message, **problem.values),
        # The id of the field at fault, e.g. "match-2" or "probability-Data", to tie the message to.
        invalid=problem and problem.field and f"{problem.field}-{_where(problem)}",
        saved=request.args.get("saved") == "1",
    )
    return (page, 400) if problem else page


def _where(problem: scenarios.ScenarioError) -> object:
    return problem.values.get("position", problem.values.get("stage"))


@inbox.get("/log")
def delivery_log() -> str:
    return render_template("log.html", entries=store().log(limit=500))
