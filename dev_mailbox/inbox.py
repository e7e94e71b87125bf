"""The web inbox: the list and the open message side by side (one at a time on a phone), the delivery
scenarios with their plain-language presets, and the delivery log.

Every page works without script: a message is a page that shows the list beside it. inbox.js opens
messages in place, adds the keyboard shortcuts, and live.js keeps the list and the counts current.
"""

import base64
import hashlib
import json
import re
import shlex
from dataclasses import dataclass
from itertools import zip_longest

from babel.units import format_unit
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from dev_mailbox import scenarios
from dev_mailbox.api import store
from dev_mailbox.mime import ParsedMessage, parse_message, part_content
from dev_mailbox.search import FOLDERS, Filter, SearchError, parse_query
from dev_mailbox.store import Summary

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
# What the list shows (a folder, a recipient, a search, from which message on), and with the
# preview's width, every query parameter the pages read: a link to the same page keeps these, and
# only these.
LIST_ARGUMENTS = ("folder", "to", "q", "start")
PAGE_ARGUMENTS = (*LIST_ARGUMENTS, "preview")
# Formats for durations, by the inbox's language (English the British way, as elsewhere).
UNIT_LOCALES = {"en": "en_GB"}

inbox = Blueprint("inbox", __name__)


@inbox.context_processor
def labels() -> dict:
    """Translated names for the values stored in English (actions, chaos stages, outcomes)."""
    return {
        "action_labels": action_labels(),
        "stage_labels": stage_labels(),
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


def action_labels() -> dict[str, str]:
    return {
        "deliver": _("Deliver"),
        "spam": _("To spam"),
        "drop": _("Drop silently"),
        "delay": _("Delay"),
        "reject": _("Reject (550)"),
        "tempfail": _("Fail temporarily (451)"),
        "disconnect": _("Disconnect"),
    }


def stage_labels() -> dict[str, str]:
    return {
        "Sender": _("Sender (MAIL)"),
        "Recipient": _("Recipient (RCPT)"),
        "Data": _("Message (DATA)"),
        "Authentication": _("Login (AUTH)"),
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


# The list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """Which messages the list shows: a folder, a recipient, a search, and from which one on."""

    folder: str = "inbox"
    recipient: str = ""
    query: str = ""
    start: int = 0

    @classmethod
    def asked(cls, source: MultiDict | None = None, folder: str = "inbox") -> "Listing":
        """From the query string (or a form's fields); `folder` when none is given."""
        source = request.args if source is None else source
        chosen = source.get("folder") or folder
        try:
            start = max(0, int(source.get("start", 0)))
        except ValueError:
            start = 0
        return cls(
            chosen if chosen in FOLDERS else "inbox",
            source.get("to", "").strip(),
            source.get("q", "").strip(),
            start,
        )

    def arguments(self, **changes: object) -> dict:
        """For url_for: the folder always, the rest when set."""
        values = {"folder": self.folder, "to": self.recipient, "q": self.query, "start": self.start}
        return {name: value for name, value in (values | changes).items() if value}

    def url(self, **changes: object) -> str:
        return url_for("inbox.messages", **self.arguments(**changes))


def _query_words(query: str) -> list[str]:
    """The words of a search as search.parse_query reads them."""
    try:
        return shlex.split(query)
    except ValueError:
        return query.replace('"', " ").split()


def _query_text(words: list[str]) -> str:
    """Words back into a search: tag:"login link" rather than shell quoting."""
    written = []
    for word in words:
        keyword, colon, value = word.partition(":")
        if not re.search(r"[\s\"']", word):
            written.append(word)
        elif colon and keyword.isalpha() and '"' not in value:
            written.append(f'{keyword}:"{value}"')
        else:
            written.append(shlex.quote(word))
    return " ".join(written)


def _is_tag_word(word: str, tag: str) -> bool:
    keyword, colon, value = word.partition(":")
    return bool(colon) and keyword.lower() == "tag" and value.lower() == tag.lower()


def tag_links(listing: Listing, tags: list[str]) -> list[dict]:
    """Each tag in use with the list filtered by it, or, when it already is, without it."""
    words = _query_words(listing.query)
    links = []
    for tag in tags:
        active = any(_is_tag_word(word, tag) for word in words)
        if active:
            changed = [word for word in words if not _is_tag_word(word, tag)]
        else:
            changed = [*words, f"tag:{tag}"]
        links.append({"tag": tag, "active": active, "url": listing.url(q=_query_text(changed), start=0)})
    return links


@inbox.app_template_global()
def tag_url(tag: str) -> str:
    """The inbox listing the messages with this tag (both folders: spam is a tag too)."""
    return url_for("inbox.messages", q=_query_text([f"tag:{tag}"]))


def folder_counts() -> dict[str, dict[str, int]]:
    """Each folder's messages and unread ones: {"inbox": {"total": 3, "unread": 1}, ...}."""
    counts = store().folder_counts()
    both = {folder: counts.get(folder, (0, 0)) for folder in FOLDERS}
    return {folder: {"total": total, "unread": unread} for folder, (total, unread) in both.items()}


def _listing_context(listing: Listing) -> dict:
    where = Filter().in_folder(listing.folder)
    if listing.recipient:
        where.to_recipient(listing.recipient)
    error = None
    if listing.query:
        try:
            parse_query(listing.query, into=where, zone=current_app.extensions["dev_mailbox.time_zone"])
        except SearchError:
            error = _('The search was not understood. Examples: from:kool subject:konto tag:"login link"')
            where = Filter().in_folder(listing.folder)
            if listing.recipient:
                where.to_recipient(listing.recipient)
    counts = folder_counts()
    # A whole folder's size is already in the folder counts: no second count needed.
    whole_folder = not listing.recipient and not (listing.query and error is None)
    page, matched = store().find(where, listing.start, PAGE_SIZE, count=not whole_folder)
    if matched is None:
        matched = counts[listing.folder]["total"]
    tags = [tag for tag in store().tags() if tag.lower() != "spam"]
    return {
        "listing": listing,
        "folder": listing.folder,
        "messages": page,
        "matched": matched,
        "page_size": PAGE_SIZE,
        "counts": counts,
        "tags": tag_links(listing, tags),
        "error": error,
    }


@inbox.get("/")
def messages() -> str:
    listing = Listing.asked()
    return render_template("mailbox.html", summary=None, **_listing_context(listing))


# One message ---------------------------------------------------------------------------------


def _found(message_id: str) -> tuple[Summary, bytes]:
    found = store().get(message_id)
    if found is None:
        abort(404)
    return found


@inbox.get("/view/<message_id>")  # Mailpit's address for the same page; "latest" works too
@inbox.get("/message/<message_id>")  # registered first: the address links are built with
def message(message_id: str) -> str:
    """The message beside the list it was opened from (its own folder's by default)."""
    summary, raw = _found(message_id)
    if not summary.read:
        store().set_read([summary.id], True)  # before the list is read, so that it shows it read
    listing = Listing.asked(folder=summary.folder)
    return render_template(
        "mailbox.html",
        summary=summary,
        parsed=parse_message(raw),
        source=raw[:MAX_SOURCE_SHOWN].decode("utf-8", "replace"),
        source_cut=len(raw) > MAX_SOURCE_SHOWN,
        **_listing_context(listing),
    )


@inbox.get("/message/<message_id>/html")
@inbox.get("/view/<message_id>.html")
def message_html(message_id: str) -> Response:
    raw = _found(message_id)[1]
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
    return Response(parse_message(_found(message_id)[1]).text, mimetype="text/plain")


@inbox.post("/message/<message_id>/delete")
def delete_message(message_id: str) -> Response:
    store().delete([message_id])
    return redirect(Listing.asked(request.form).url(), 303)


@inbox.post("/message/<message_id>/unread")
def mark_unread(message_id: str) -> Response:
    """Unread again, as Mailpit's "Mark unread": back to the list, where it shows so."""
    store().set_read([message_id], False)
    return redirect(Listing.asked(request.form).url(), 303)


@inbox.post("/delete")
def delete_messages() -> Response:
    folder = request.form.get("folder", "inbox")
    ids = request.form.getlist("id")
    if ids:
        store().delete(ids)
    elif folder in FOLDERS:
        store().delete(where=Filter().in_folder(folder))
    return redirect(url_for("inbox.messages", folder=folder if folder in FOLDERS else "inbox"), 303)


# Delivery scenarios --------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """ "2 minutes", "90 seconds": whole minutes as minutes, in the reader's language."""
    language = str(get_locale())
    locale = UNIT_LOCALES.get(language, language)
    if seconds >= 60 and seconds % 60 == 0:
        return format_unit(int(seconds // 60), "duration-minute", locale=locale)
    return format_unit(int(seconds) if seconds == int(seconds) else seconds, "duration-second", locale=locale)


@inbox.app_template_global()
def rule_sentence(rule: scenarios.Rule) -> str:
    """What a rule does, in a sentence of the reader's language: "The next e-mail to ... goes to spam."."""
    who, delay, times = rule.match, duration(rule.seconds or 0), rule.times
    if times == 1:
        said = {
            "deliver": lambda: _("The next e-mail to %(who)s is delivered as usual.", who=who),
            "spam": lambda: _("The next e-mail to %(who)s goes to spam.", who=who),
            "drop": lambda: _("The next e-mail to %(who)s is lost: accepted, and never delivered.", who=who),
            "delay": lambda: _("The next e-mail to %(who)s arrives %(delay)s late.", who=who, delay=delay),
            "reject": lambda: _("The next e-mail to %(who)s is refused: 550, no such user.", who=who),
            "tempfail": lambda: _(
                "The next e-mail to %(who)s fails for now (451): the sender tries again later.", who=who
            ),
            "disconnect": lambda: _("The next e-mail to %(who)s breaks the connection off.", who=who),
        }
    elif times:
        said = {
            "deliver": lambda: ngettext(
                "The next %(num)d e-mail to %(who)s is delivered as usual.",
                "The next %(num)d e-mails to %(who)s are delivered as usual.",
                times,
                who=who,
            ),
            "spam": lambda: ngettext(
                "The next %(num)d e-mail to %(who)s goes to spam.",
                "The next %(num)d e-mails to %(who)s go to spam.",
                times,
                who=who,
            ),
            "drop": lambda: ngettext(
                "The next %(num)d e-mail to %(who)s is lost: accepted, and never delivered.",
                "The next %(num)d e-mails to %(who)s are lost: accepted, and never delivered.",
                times,
                who=who,
            ),
            "delay": lambda: ngettext(
                "The next %(num)d e-mail to %(who)s arrives %(delay)s late.",
                "The next %(num)d e-mails to %(who)s arrive %(delay)s late.",
                times,
                who=who,
                delay=delay,
            ),
            "reject": lambda: ngettext(
                "The next %(num)d e-mail to %(who)s is refused: 550, no such user.",
                "The next %(num)d e-mails to %(who)s are refused: 550, no such user.",
                times,
                who=who,
            ),
            "tempfail": lambda: ngettext(
                "The next %(num)d e-mail to %(who)s fails for now (451): the sender tries again later.",
                "The next %(num)d e-mails to %(who)s fail for now (451): the sender tries again later.",
                times,
                who=who,
            ),
            "disconnect": lambda: ngettext(
                "The next %(num)d e-mail to %(who)s breaks the connection off.",
                "The next %(num)d e-mails to %(who)s break the connection off.",
                times,
                who=who,
            ),
        }
    else:
        said = {
            "deliver": lambda: _("Every e-mail to %(who)s is delivered as usual.", who=who),
            "spam": lambda: _("Every e-mail to %(who)s goes to spam.", who=who),
            "drop": lambda: _("Every e-mail to %(who)s is lost: accepted, and never delivered.", who=who),
            "delay": lambda: _("Every e-mail to %(who)s arrives %(delay)s late.", who=who, delay=delay),
            "reject": lambda: _("Every e-mail to %(who)s is refused: 550, no such user.", who=who),
            "tempfail": lambda: _(
                "Every e-mail to %(who)s fails for now (451): the sender tries again later.", who=who
            ),
            "disconnect": lambda: _("Every e-mail to %(who)s breaks the connection off.", who=who),
        }
    return said[rule.action]()


@inbox.app_template_global()
def number_text(value: object) -> str:
    """A stored number as typed: 120, not 120.0 (what was typed stays as it was)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


@inbox.app_template_global()
def chaos_sentences() -> list[str]:
    """The random failures in force, one sentence each."""
    labels = stage_labels()
    return [
        _(
            "Random failures at %(stage)s: %(probability)s in 100 fail with %(code)s.",
            stage=labels[stage],
            probability=trigger.probability,
            code=trigger.error_code,
        )
        for stage, trigger in store().chaos.items()
        if trigger.probability
    ]


@inbox.app_template_global()
def match_kind(match: str) -> str:
    """What kind of match a rule has, when it is more than one address."""
    if match.startswith("re:"):
        return _("a regular expression: every address it finds a match in")
    if any(char in match for char in "*?["):
        return _("a pattern: every address that fits it")
    return ""


@inbox.app_template_global()
def reason_text(reason: str) -> str:
    """A delivery log reason in the reader's language ("rule 2: ... → drop" is stored in English)."""
    explained = scenarios.explain_reason(reason)
    if explained is None:
        return reason
    kind, values = explained
    if kind == "default":
        return _("No rule matched")
    if kind == "chaos":
        return _("Chaos: a random failure at %(stage)s", stage=stage_labels()[values["stage"]])
    action = action_labels()[values["action"]]
    if values["seconds"]:
        action = f"{action} ({duration(values['seconds'])})"
    return _(
        "Rule %(position)s (%(match)s): %(action)s",
        position=values["position"],
        match=values["match"],
        action=action,
    )


def rules_fingerprint(rules: list[scenarios.Rule]) -> str:
    """Which rules a form was made from: saving over rules that changed meanwhile (an e-mail used one
    up, say) would bring back what is gone."""
    text = json.dumps([rule.as_api() for rule in rules], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _rows_from_form() -> list[dict]:
    """Every row of the rules form as typed, the empty ones too: a refused form shows them again
    where they were, so that "Rule 2" is still the second row."""
    # zip_longest: a hand-made request with uneven fields is refused by validation, not a 500.
    fields = ("match", "action", "seconds", "times")
    rows = zip_longest(*(request.form.getlist(name) for name in fields))
    return [
        {
            "match": (match or "").strip(),
            "action": action,
            "seconds": (seconds or "").strip(),
            "times": (times or "").strip(),
        }
        for match, action, seconds, times in rows
    ]


def _rule_of(row: dict) -> dict:
    """A filled row as a rule's JSON form, numbers made numbers where they are."""
    rule: dict = {"match": row["match"], "action": row["action"]}
    if row["action"] == "delay" or row["seconds"]:
        try:
            rule["seconds"] = float(row["seconds"].replace(",", "."))
        except ValueError:
            rule["seconds"] = row["seconds"]
    if row["times"]:
        try:
            rule["times"] = int(row["times"])
        except ValueError:
            rule["times"] = row["times"]
    return rule


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


def _scenarios_page(
    rule_rows: list[dict] | None = None,
    chaos_rows: dict | None = None,
    problem: scenarios.ScenarioError | None = None,
    invalid: str | None = None,
    preset: dict | None = None,
    status: int = 200,
) -> tuple[str, int]:
    rules = store().rules
    page = render_template(
        "scenarios.html",
        rules=rules,
        fingerprint=rules_fingerprint(rules),
        rows=rule_rows
        if rule_rows is not None
        else [rule.as_api() for rule in rules] + [{"match": "", "action": "deliver"}] * EMPTY_RULE_ROWS,
        actions=scenarios.ACTIONS,
        chaos=chaos_rows if chaos_rows is not None else scenarios.chaos_as_api(store().chaos),
        error=problem and problem.say(_),
        # The id of the field at fault, e.g. "match-2", "probability-Data" or "preset-address".
        invalid=invalid,
        preset=preset or {"address": "", "preset": "spam", "minutes": "2"},
        presets=scenarios.PRESET_ACTIONS,
        max_minutes=scenarios.MAX_PRESET_MINUTES,
        notice={
            "1": _("Saved."),
            "cleared": _("Every rule and all chaos cleared: every e-mail is delivered."),
        }.get(request.args.get("saved", "")),
        counts=folder_counts(),
    )
    return page, status


@inbox.route("/scenarios", methods=["GET", "POST"])
def scenarios_page() -> tuple[str, int] | Response:
    if request.method == "GET":
        return _scenarios_page()
    rule_rows, chaos_rows = _rows_from_form(), _chaos_from_form()
    filled = [number for number, row in enumerate(rule_rows, start=1) if row["match"]]
    try:
        rules = scenarios.parse_rules([_rule_of(row) for row in rule_rows if row["match"]])
        chaos = scenarios.parse_chaos(chaos_rows)
    except scenarios.ScenarioError as problem:
        if "position" in problem.values:  # the rule's row in the form, as its label numbers it
            problem.values["position"] = filled[problem.values["position"] - 1]
        where = problem.values.get("position", problem.values.get("stage"))
        invalid = problem.field and f"{problem.field}-{where}"
        return _scenarios_page(rule_rows, chaos_rows, problem, invalid, status=400)
    seen = request.form.get("fingerprint")
    if seen is not None and seen != rules_fingerprint(store().rules):
        changed = scenarios.ScenarioError(
            scenarios.N_(
                "The rules changed while this form was open (an e-mail used one up, or someone"
                " saved others). They are listed above as they are now. Check the form and save again."
            )
        )
        return _scenarios_page(rule_rows, chaos_rows, changed, status=409)
    store().save_rules(rules)
    store().save_chaos(chaos)
    return redirect(url_for("inbox.scenarios_page", saved=1), 303)


@inbox.post("/scenarios/preset")
def set_preset() -> tuple[str, int] | Response:
    """ "The next e-mail to ... goes to spam": a rule for that address, first, applying once."""
    asked = {name: request.form.get(name, "") for name in ("address", "preset", "minutes")}
    try:
        rule = scenarios.preset_rule(asked["address"], asked["preset"], asked["minutes"])
    except scenarios.ScenarioError as problem:
        return _scenarios_page(problem=problem, invalid=f"preset-{problem.field}", preset=asked, status=400)
    store().save_rules(scenarios.first_for_its_address(store().rules, rule))
    return redirect(url_for("inbox.scenarios_page", saved=1), 303)


@inbox.app_template_global()
def rule_key(rule: scenarios.Rule) -> str:
    """A rule named by what it does: its position may move, its count go down, while a form is open."""
    return json.dumps([rule.match, rule.action, rule.seconds])


@inbox.post("/scenarios/remove")
def remove_rule() -> Response:
    """Remove one rule (the first one doing what the form names); gone already, nothing changes."""
    rules = store().rules
    named = [rule for rule in rules if rule_key(rule) == request.form.get("rule")]
    if named:
        store().save_rules([rule for rule in rules if rule is not named[0]])
    return redirect(url_for("inbox.scenarios_page", saved=1), 303)


@inbox.route("/scenarios/clear", methods=["GET", "POST"])
def clear_scenarios() -> str | Response:
    """Every rule and all chaos gone in one step, after a confirmation (a page of its own without script)."""
    if request.method == "GET":
        return render_template("clear.html", rules=store().rules, counts=folder_counts())
    store().save_rules([])
    store().save_chaos(scenarios.default_chaos())
    return redirect(url_for("inbox.scenarios_page", saved="cleared"), 303)


# The delivery log ----------------------------------------------------------------------------


@inbox.get("/log")
def delivery_log() -> str:
    return render_template("log.html", entries=store().log(limit=500), counts=folder_counts())
