"""A parent's password and e-mail address: what changes with them, and the way back.

A change ends the older login and e-mail-change links and every other session of the account, and
tells the address the account had before, with a link that undoes the change ("this wasn't me").
Services here add to the session; the view or command commits, once.
"""

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp import changes, passwords, tokens
from webapp.extensions import db
from webapp.mailed_links import send_login_link
from webapp.models import LinkToken, Parent, Staff
from webapp.outbox import mark_bounces_handled, send_email
from webapp.rendering import external_url
from webapp.sessions import end_sessions_of

CONFIRM_EMAIL_WITHIN = timedelta(hours=24)
UNDO_WITHIN = timedelta(days=14)
LINKS_OF_THE_ACCOUNT = (tokens.Purpose.LOGIN, tokens.Purpose.EMAIL_CHANGE)


def _lock_out(parent: Parent, keep_current_session: bool = True) -> None:
    tokens.revoke(LINKS_OF_THE_ACCOUNT, parent_id=parent.id)
    end_sessions_of(parent, keep_current_session)


def _notify(parent: Parent, address: str, template: str, subject, undo: tokens.Purpose, **context) -> None:
    """Tell `address` about the change, with a link that undoes it."""
    secret, token = tokens.issue(undo, address, UNDO_WITHIN, parent.locale, parent_id=parent.id)
    send_email(
        address,
        template,
        subject,
        parent.locale,
        link_token=token,
        parent=parent,
        undo_link=external_url("profile.undo_change", token=secret),
        **context,
    )


def set_password(parent: Parent, password: str) -> None:
    parent.password_hash = passwords.hash_password(password)
    _lock_out(parent)
    _notify(
        parent,
        parent.email,
        "password_changed",
        _l("Your password was changed"),
        tokens.Purpose.UNDO_PASSWORD_CHANGE,
    )


def request_email_change(parent: Parent, new_email: str) -> None:
    """A confirmation link to the new address; the address changes when it is used there."""
    tokens.revoke((tokens.Purpose.EMAIL_CHANGE,), parent_id=parent.id)  # only the newest request counts
    secret, token = tokens.issue(
        tokens.Purpose.EMAIL_CHANGE, new_email, CONFIRM_EMAIL_WITHIN, parent.locale, parent_id=parent.id
    )
    send_email(
        new_email,
        "email_change",
        _l("Confirm your new e-mail address"),
        parent.locale,
        link_token=token,
        parent=parent,
        link=external_url("profile.confirm_email", token=secret),
        valid_for=CONFIRM_EMAIL_WITHIN,
    )


def change_email(parent: Parent, new_email: str, staff: Staff | None = None) -> None:
    """Give the account a new address (changes.EmailTaken if another account has it): recorded with
    who did it, the old address told, its bounces dealt with."""
    old_email = parent.email
    changes.ensure_email_free(parent, new_email)
    changes.update(parent, {"email": new_email}, staff)
    _lock_out(parent)
    mark_bounces_handled(old_email)
    _notify(
        parent,
        old_email,
        "email_changed",
        _l("Your e-mail address was changed"),
        tokens.Purpose.UNDO_EMAIL_CHANGE,
        new_email=new_email,
    )


def undo(link: LinkToken) -> Parent:
    """ "This wasn't me": the address comes back (for an e-mail change), the password goes (whoever
    changed anything may know it), every session ends, and a login link goes to the rightful address
    so that its owner sets a new password. changes.EmailTaken when the old address has been taken."""
    parent = db.session.get(Parent, link.parent_id)
    if link.purpose == tokens.Purpose.UNDO_EMAIL_CHANGE and parent.email != link.email:
        changes.ensure_email_free(parent, link.email)
        changes.update(parent, {"email": link.email}, staff=None)
    parent.password_hash = None
    _lock_out(parent, keep_current_session=False)
    send_login_link(parent, current_app.config["REQUESTED_LOGIN_LINK_TTL"])
    return parent
