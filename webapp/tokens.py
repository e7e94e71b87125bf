"""Secret links: 256-bit random tokens, stored only as SHA-256, one purpose each, expiring, single use."""

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa

from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import LinkToken

# A token is 43 URL-safe characters; anything far outside that is not worth a database look-up.
TOKEN_MAX_LENGTH = 100


class Purpose(StrEnum):
    APPLY = "apply"
    LOGIN = "login"
    EMAIL_CHANGE = "email_change"


class TokenState(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(purpose: Purpose, email: str, lifetime: timedelta, locale: str, **fields) -> tuple[str, LinkToken]:
    """Add a token row to the session (the caller commits); the secret is for the link, and exists
    nowhere else."""
    secret = secrets.token_urlsafe(32)
    token = LinkToken(
        purpose=purpose.value,
        token_hash=_digest(secret),
        email=email,
        locale=locale,
        expires_at=utcnow() + lifetime,
        **fields,
    )
    db.session.add(token)
    return secret, token


def revoke(purpose: Purpose, **owner) -> None:
    """End every unused link of `purpose` for an owner (parent_id=… or email=…): the old link dies
    when a fresh one goes to a corrected address."""
    conditions = [getattr(LinkToken, name) == value for name, value in owner.items()]
    db.session.execute(
        sa.update(LinkToken)
        .where(LinkToken.purpose == purpose.value, LinkToken.used_at.is_(None), *conditions)
        .values(expires_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def find(purpose: Purpose, secret: str) -> tuple[TokenState, LinkToken | None]:
    """Look a secret up without using it. A token of another purpose is as good as unknown."""
    if not secret or len(secret) > TOKEN_MAX_LENGTH:
        return TokenState.UNKNOWN, None
    token = db.session.scalar(sa.select(LinkToken).where(LinkToken.token_hash == _digest(secret)))
    if token is None or token.purpose != purpose.value:
        return TokenState.UNKNOWN, None
    if token.used_at is not None:
        return TokenState.USED, token
    if token.expires_at <= utcnow():
        return TokenState.EXPIRED, token
    return TokenState.VALID, token


def consume(token: LinkToken) -> bool:
    """Mark the token used, atomically: of two concurrent requests only one gets True."""
    now = utcnow()
    result = db.session.execute(
        sa.update(LinkToken)
        .where(LinkToken.id == token.id, LinkToken.used_at.is_(None), LinkToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        token.used_at = now
        return True
    return False
