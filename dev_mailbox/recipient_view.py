"""One recipient's own view of the mailbox: a participant in a demo reads only the mail for the address
they typed, on their phone, live.

Reached only through a link signed with the access token (`access.sign_recipient`): it cannot be
guessed, changed to another address, or listed. Without an access token there is no such view (404).
It shows both folders, so a participant sees a message land in Spam, and nothing of anyone else's.
"""

import re

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _

from dev_mailbox.access import AccessPolicy, recipient_from
from dev_mailbox.api import change_events, store
from dev_mailbox.mime import parse_message
from dev_mailbox.search import FOLDERS, Filter
from dev_mailbox.store import Summary

PAGE_SIZE = 50
_LINK = re.compile(r"https?://[^\s<>\"']+")

recipient = Blueprint("recipient", __name__, url_prefix="/minu")


def _address(signed: str) -> str:
    access: AccessPolicy = current_app.extensions["dev_mailbox.access"]
    address = recipient_from(access.token, signed)
    if address is None:
        abort(404)
    return address


@recipient.errorhandler(404)
def _not_found(_error) -> tuple[str, int]:
    return render_template("recipient/gone.html"), 404


def _folder(address: str, folder: str) -> tuple[list[Summary], int]:
    messages, matched = store().find(
        Filter().in_folder(folder).to_recipient(address), 0, PAGE_SIZE, count=True
    )
    return messages, matched or 0


@recipient.get("/<signed>/")
def mailbox(signed: str) -> str:
    address = _address(signed)
    folders = {folder: _folder(address, folder) for folder in FOLDERS}
    return render_template("recipient/mailbox.html", signed=signed, address=address, folders=folders)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The text in pieces, (piece, is_link), so that the template makes the links clickable."""
    pieces, at = [], 0
    for match in _LINK.finditer(text):
        link = match[0].rstrip(".,;:!?)")
        pieces += [(text[at : match.start()], False), (link, True)]
        at = match.start() + len(link)
    return [*pieces, (text[at:], False)]


@recipient.get("/<signed>/<message_id>")
def message(signed: str, message_id: str) -> str:
    address = _address(signed)
    found = store().get(message_id)
    # Someone else's message is as absent as a deleted one.
    if found is None or address not in [recipient.lower() for recipient in found[0].envelope_to]:
        abort(404)
    summary, raw = found
    if not summary.read:
        store().set_read([summary.id], True)
    return render_template(
        "recipient/message.html",
        signed=signed,
        address=address,
        summary=summary,
        pieces=_pieces(parse_message(raw).text),
    )


@recipient.get("/<signed>/events")
def events(signed: str) -> Response:
    """Server-sent events: "change" whenever the mailbox changes (the page then asks for itself
    again and sees only its own address's mail)."""
    _address(signed)
    return change_events(store())


@recipient.app_template_global()
def recipient_language_url(code: str) -> str:
    """This page in another language (the view's pages read no other parameter)."""
    return url_for(request.endpoint, **(request.view_args or {}), lang=code)


@recipient.app_template_global()
def folder_name(folder: str) -> str:
    return _("Spam") if folder == "spam" else _("Inbox")
