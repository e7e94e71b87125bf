"""The message checks on the web side: spam score, link check, HTML check, and the preview widths.

Each check is a panel of its own (templates/checks/_*.html): on the message page, and as a page of
its own at /message/ID/<check> that works without JavaScript (checks.js loads it into the message
page). The JSON API (api.py) answers in Mailpit's shapes through the functions here, which also
word every problem in the reader's language.
"""

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from dev_mailbox import htmlcheck, linkcheck
from dev_mailbox.mime import parse_message
from dev_mailbox.spam import MAX_CHECKED_BYTES, SpamCheckError, Spamd, Verdict

# The HTML preview's widths: (name, CSS pixels; None fills the panel).
PREVIEW_WIDTHS = (("phone", 375), ("tablet", 768), ("desktop", None))
DEFAULT_PREVIEW = "desktop"

checks = Blueprint("checks", __name__)


def spamd() -> Spamd:
    return current_app.extensions["dev_mailbox.spamd"]


def spam_problem(error: SpamCheckError) -> str:
    """Why there is no spam score, and what to do about it."""
    if error.reason == "not-installed":
        return _(
            "SpamAssassin is not installed, so there is no spam score. To turn it on, install it"
            " (on Debian or Ubuntu: sudo apt-get install spamd spamc; make test does this) and"
            " restart the mailbox: it then starts SpamAssassin by itself."
        )
    if error.reason == "too-large":
        return _(
            "The message is too large for the spam check (over %(limit)s KiB).",
            limit=MAX_CHECKED_BYTES // 1024,
        )
    if error.reason == "not-started":
        return _("SpamAssassin did not start: %(detail)s", detail=error.detail or "?")
    return _("The spam check failed: %(detail)s", detail=error.detail or "?")


def spam_check(message_id: str, raw: bytes) -> tuple[Verdict | None, str]:
    """SpamAssassin's verdict, or None and why there is none."""
    try:
        return spamd().check(raw, key=message_id), ""
    except SpamCheckError as error:
        return None, spam_problem(error)


def spam_check_json(message_id: str, raw: bytes) -> dict[str, Any]:
    """Mailpit's SpamAssassinResponse; without a verdict, its Error says why."""
    verdict, problem = spam_check(message_id, raw)
    if verdict is None:
        return {"IsSpam": False, "Error": problem, "Score": 0.0, "Rules": []}
    return verdict.as_api()


def follow_redirects() -> bool:
    """Mailpit's ?follow=true (or 1)."""
    return request.args.get("follow", "").lower() in ("true", "1")


def link_check(raw: bytes) -> linkcheck.LinkReport:
    return linkcheck.check_links(parse_message(raw).links, follow=follow_redirects())


class HtmlCheckProblem(Exception):
    """No HTML check: the message has no HTML, or the support data is missing (status 503)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def html_check(raw: bytes) -> dict[str, Any]:
    """Mailpit's HTMLCheckResponse; HtmlCheckProblem when there is nothing to check it with."""
    html = parse_message(raw).html
    if not html:
        raise HtmlCheckProblem(_("The message has no HTML version to check."))
    try:
        return htmlcheck.check_html(html)
    except htmlcheck.DataMissing:
        raise HtmlCheckProblem(
            _(
                "The e-mail clients' support data (caniemail) is missing. Run make install, which"
                " copies it to %(path)s.",
                path=str(htmlcheck.data_file()),
            ),
            503,
        ) from None


@checks.app_template_global()
def preview_width() -> str:
    """The preview width asked for with ?preview=, else the desktop's."""
    asked = request.args.get("preview", "")
    return asked if asked in dict(PREVIEW_WIDTHS) else DEFAULT_PREVIEW


@checks.app_template_global()
def cached_spam_verdict(message_id: str) -> Verdict | None:
    """The spam verdict when it is at hand (the panel is filled at once instead of loaded)."""
    return spamd().cached(message_id)


@checks.app_context_processor
def preview_labels() -> dict:
    """The preview widths with their names: (name, pixels, label)."""
    labels = {"phone": _("Phone"), "tablet": _("Tablet"), "desktop": _("Desktop")}
    return {"preview_widths": [(name, pixels, labels[name]) for name, pixels in PREVIEW_WIDTHS]}


def _message(message_id: str):
    found = current_app.extensions["dev_mailbox.store"].get(message_id)
    if found is None:
        abort(404)
    return found


@checks.get("/message/<message_id>/spam-check")
def spam_page(message_id: str) -> str:
    summary, raw = _message(message_id)
    verdict, problem = spam_check(summary.id, raw)
    return render_template(
        "checks/page.html", summary=summary, panel="spam", verdict=verdict, problem=problem
    )


@checks.get("/message/<message_id>/link-check")
def link_page(message_id: str) -> str:
    summary, raw = _message(message_id)
    return render_template(
        "checks/page.html",
        summary=summary,
        panel="links",
        links=parse_message(raw).links,
        report=link_check(raw),
        follow=follow_redirects(),
        link_limit=linkcheck.MAX_LINKS,
    )


@checks.get("/message/<message_id>/html-check")
def html_page(message_id: str) -> str:
    summary, raw = _message(message_id)
    try:
        report, problem = html_check(raw), ""
    except HtmlCheckProblem as error:
        report, problem = None, str(error)
    return render_template("checks/page.html", summary=summary, panel="html", report=report, problem=problem)
