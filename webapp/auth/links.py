"""Login links: a token bound to one parent's account, sent to that parent's address."""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp import tokens
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import LinkToken, Parent
from webapp.outbox import send_email
from webapp.rendering import external_url

LINKS_PER_ACCOUNT_PER_HOUR = 3

# Lazy, so that send_email translates them into the parent's language, not the current page's.
SUBJECTS = {"login_link": _l("Your login link"), "approved": _l("Your account is ready")}


def _recent_links(parent: Parent) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(LinkToken.id)).where(
            LinkToken.purpose == tokens.Purpose.LOGIN.value,
            LinkToken.parent_id == parent.id,
            LinkToken.created_at >= utcnow() - timedelta(hours=1),
        )
    )


def send_login_link(parent: Parent, template: str = "login_link", limited: bool = True, **context) -> bool:
    """Add a login link e-mail to the session (the caller commits). `limited` caps the links a parent
    can ask for; the school's approval is never capped. False when nothing was sent."""
    if limited and _recent_links(parent) >= LINKS_PER_ACCOUNT_PER_HOUR:
        return False
    lifetime = current_app.config["LOGIN_LINK_TTL"]
    secret, token = tokens.issue(
        tokens.Purpose.LOGIN, parent.email, lifetime, parent.locale, parent_id=parent.id
    )
    send_email(
        parent.email,
        template,
        SUBJECTS[template],
        parent.locale,
        link_token=token,
        parent=parent,
        link=external_url("auth.login_link", token=secret),
        valid_days=lifetime.days,
        **context,
    )
    return True


def find_parent(email: str) -> Parent | None:
    return db.session.scalar(sa.select(Parent).where(Parent.email == email.lower()))
