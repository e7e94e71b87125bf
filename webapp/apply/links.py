"""The step-1 link: a token for the application form, sent to the address the parent gave."""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp import tokens
from webapp.auth.links import find_parent, send_login_link
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import LinkToken
from webapp.outbox import send_email
from webapp.rendering import external_url


def _recent_links(email: str) -> int:
    since = utcnow() - timedelta(hours=1)
    return db.session.scalar(
        sa.select(sa.func.count(LinkToken.id)).where(
            LinkToken.purpose == tokens.Purpose.APPLY.value,
            LinkToken.email == email,
            LinkToken.created_at >= since,
        )
    )


def send_application_link(email: str, child_personal_code: str, locale: str, limited: bool = True) -> bool:
    """Write the token and its e-mail in one transaction. Returns False when the address
    already had its share of links this hour (`limited`: staff resending are not capped);
    the parent is told the same either way."""
    if limited and _recent_links(email) >= current_app.config["APPLY_LINKS_PER_ADDRESS_PER_HOUR"]:
        return False
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
        valid_hours=int(lifetime.total_seconds() // 3600),
    )
    db.session.commit()
    return True


def resend(email: str) -> None:
    """ "I didn't get the e-mail": the newest step-1 link for this address again (a fresh one, for the
    same child), or else a login link when the address has an account. The caps of both apply, and
    the parent is told the same whatever happened."""
    last = db.session.scalar(
        sa.select(LinkToken)
        .where(
            LinkToken.purpose == tokens.Purpose.APPLY.value,
            LinkToken.email == email,
            LinkToken.used_at.is_(None),
            LinkToken.created_at >= utcnow() - current_app.config["APPLY_LINK_TTL"],
        )
        .order_by(LinkToken.id.desc())
    )
    if last is not None:
        send_application_link(email, last.child_personal_code, last.locale)
        return
    parent = find_parent(email)
    if parent is not None and send_login_link(parent):
        db.session.commit()
