"""A parent changes their e-mail address: confirmed by a link sent to the new address before it
replaces the old one; the old address is told of the change."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from webapp import bounces, changes, tokens
from webapp.extensions import db
from webapp.models import LinkToken, Parent
from webapp.outbox import send_email
from webapp.rendering import external_url

CONFIRM_WITHIN = timedelta(hours=24)


def request_change(parent: Parent, new_email: str) -> None:
    tokens.revoke(tokens.Purpose.EMAIL_CHANGE, parent_id=parent.id)  # only the newest request counts
    secret, token = tokens.issue(
        tokens.Purpose.EMAIL_CHANGE, new_email, CONFIRM_WITHIN, parent.locale, parent_id=parent.id
    )
    send_email(
        new_email,
        "email_change",
        _l("Confirm your new e-mail address"),
        parent.locale,
        link_token=token,
        parent=parent,
        link=external_url("profile.confirm_email", token=secret),
    )
    db.session.commit()


def confirm_change(token: LinkToken) -> Parent:
    """Make the token's address the account's (changes.EmailTaken if another account has it)."""
    parent = db.session.get(Parent, token.parent_id)
    old_email = parent.email
    changes.change_parent_email(parent, token.email)
    bounces.mark_handled(old_email)
    send_email(
        old_email,
        "email_changed",
        _l("Your e-mail address was changed"),
        parent.locale,
        parent=parent,
        new_email=token.email,
    )
    db.session.commit()
    return parent
