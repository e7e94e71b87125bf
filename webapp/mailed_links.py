"""E-mails that carry a link: the step-1 link to the application form, and login links.

Each adds its token and its e-mail to the session; the caller commits them with the change that
caused them. Caps on how many a parent may ask for are `link_requests`' business, not these.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp import tokens
from webapp.extensions import db
from webapp.models import Parent, Student
from webapp.outbox import send_email
from webapp.rendering import external_url

# Lazy, so that send_email translates them into the parent's language, not the current page's.
LOGIN_SUBJECTS = {"login_link": _l("Your login link"), "approved": _l("Your account is ready")}


def send_application_link(email: str, child_personal_code: str, locale: str) -> None:
    """The link to the application form, for this child, to this address."""
    lifetime = current_app.config["APPLY_LINK_TTL"]
    secret, token = tokens.issue(
        tokens.Purpose.APPLY, email, lifetime, locale, child_personal_code=child_personal_code
    )
    send_email(
        email,
        "apply_link",
        _l("Your link to the account application"),
        locale,
        link_token=token,
        link=external_url("apply.application_form", token=secret),
        valid_for=lifetime,
    )


def send_login_link(parent: Parent, lifetime: timedelta, child: Student | None = None) -> None:
    """A login link to the parent's address; it ends the older login and e-mail-change links.
    `child` set: the school's approval e-mail, naming the child."""
    tokens.revoke((tokens.Purpose.LOGIN, tokens.Purpose.EMAIL_CHANGE), parent_id=parent.id)
    template = "approved" if child is not None else "login_link"
    secret, token = tokens.issue(
        tokens.Purpose.LOGIN, parent.email, lifetime, parent.locale, parent_id=parent.id
    )
    send_email(
        parent.email,
        template,
        LOGIN_SUBJECTS[template],
        parent.locale,
        link_token=token,
        parent=parent,
        child=child,
        link=external_url("auth.login_link", token=secret),
        valid_for=lifetime,
    )


def find_parent(email: str) -> Parent | None:
    return db.session.scalar(sa.select(Parent).where(Parent.email == email.lower()))


def send_after_correction(parent: Parent) -> None:
    """The school put a parent's address right: the approval e-mail again while the parent has never
    logged in (its link lives as long as the approval's), else an ordinary login link."""
    config = current_app.config
    if parent.last_login_at is None and parent.children:
        send_login_link(parent, config["APPROVAL_LINK_TTL"], child=parent.children[0])
    else:
        send_login_link(parent, config["REQUESTED_LOGIN_LINK_TTL"])
