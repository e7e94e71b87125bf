"""Links asked for by address ("send me a login link", "I didn't get the e-mail", step 1).

The request only records the address, and the same way whether or not it is known: the same answer,
the same work. The sender looks the address up later and sends what fits, or nothing. The records are
also what the per-address cap counts: at most LINKS_PER_ADDRESS_PER_HOUR link e-mails an hour to one
address, whoever asks.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, session

from webapp.clock import utcnow
from webapp.extensions import db
from webapp.mailed_links import send_application_link, send_login_link
from webapp.models import LinkRequest, LinkRequestKind, LinkToken, Parent
from webapp.outbox import wake_sender_on_commit
from webapp.tokens import Purpose

WINDOW = timedelta(hours=1)
BATCH_SIZE = 50
# The address this browser last asked a link for: the check-your-mail pages say when the next may go.
SESSION_KEY = "last_link_request"


def _recent(email: str) -> list[datetime]:
    return list(
        db.session.scalars(
            sa.select(LinkRequest.created_at)
            .where(LinkRequest.email == email, LinkRequest.created_at > utcnow() - WINDOW)
            .order_by(LinkRequest.created_at)
        )
    )


def next_allowed_at(email: str) -> datetime | None:
    """When the address may have its next link e-mail, if it has had its share this hour."""
    recent = _recent(email)
    cap = current_app.config["LINKS_PER_ADDRESS_PER_HOUR"]
    return recent[-cap] + WINDOW if len(recent) >= cap else None


def remember(email: str) -> None:
    session[SESSION_KEY] = email


def last_requested() -> str | None:
    return session.get(SESSION_KEY)


def cap_notice() -> dict:
    """What the check-your-mail pages say about the cap: the same whether or not the address is known."""
    email = last_requested()
    return {
        "links_per_hour": current_app.config["LINKS_PER_ADDRESS_PER_HOUR"],
        "next_link_at": next_allowed_at(email) if email else None,
    }


def record(kind: LinkRequestKind, email: str, locale: str, processed: bool = False) -> bool:
    """Add the request to the session (the caller commits). False, and nothing recorded, when the
    address has had its share this hour. `processed`: the caller sends the link itself (step 1)."""
    if next_allowed_at(email) is not None:
        return False
    now = utcnow()
    db.session.add(
        LinkRequest(
            kind=kind, email=email, locale=locale, created_at=now, processed_at=now if processed else None
        )
    )
    if not processed:
        wake_sender_on_commit()
    return True


def process_due() -> int:
    """Answer waiting requests (the sender calls this); returns how many were taken."""
    ids = db.session.scalars(
        sa.select(LinkRequest.id)
        .where(LinkRequest.processed_at.is_(None))
        .order_by(LinkRequest.id)
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    ).all()
    taken = 0
    for request_id in ids:
        # Compare-and-set: with several senders (or SQLite, which has no row locks) one takes it.
        claimed = db.session.execute(
            sa.update(LinkRequest)
            .where(LinkRequest.id == request_id, LinkRequest.processed_at.is_(None))
            .values(processed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            _answer(db.session.get(LinkRequest, request_id))
            taken += 1
    db.session.commit()  # the requests and the e-mails they cause, together
    return taken


def _answer(request: LinkRequest) -> None:
    if request.kind == LinkRequestKind.SEND_AGAIN:
        last = _last_application_link(request.email)
        if last is not None:
            send_application_link(request.email, last.child_personal_code, last.locale)
            return
    parent = db.session.scalar(sa.select(Parent).where(Parent.email == request.email))
    if parent is not None:
        send_login_link(parent, current_app.config["REQUESTED_LOGIN_LINK_TTL"])


def _last_application_link(email: str) -> LinkToken | None:
    """The newest step-1 link for the address still worth renewing (not used for an application)."""
    return db.session.scalar(
        sa.select(LinkToken)
        .where(
            LinkToken.purpose == Purpose.APPLY.value,
            LinkToken.email == email,
            LinkToken.used_at.is_(None),
            LinkToken.created_at >= utcnow() - current_app.config["APPLY_LINK_TTL"],
        )
        .order_by(LinkToken.id.desc())
    )
