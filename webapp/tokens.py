"""Secret links: 256-bit random tokens, stored only as SHA-256, one purpose each, expiring, single use.

A link is found, checked and used here and nowhere else (`check` for the page a link opens, `redeem`
for the button on it); a link that no longer works raises `LinkUnusable`, which one page explains.
"""

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
    # "This wasn't me": sent to the old address when the password or the address changes.
    UNDO_PASSWORD_CHANGE = "undo_password"  # noqa: S105 - a purpose, not a password
    UNDO_EMAIL_CHANGE = "undo_email"


class TokenState(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"  # a newer link, a corrected address or a new password ended it


class LinkUnusable(Exception):
    """The link cannot be used; `state` says why, `link` is the row when there is one."""

    def __init__(self, purpose: Purpose, state: TokenState, link: LinkToken | None, secret: str) -> None:
        super().__init__(state.value)
        self.purpose, self.state, self.link, self.secret = purpose, state, link, secret

    @property
    def status_code(self) -> int:
        return 404 if self.state is TokenState.UNKNOWN else 410


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


def revoke(purposes: tuple[Purpose, ...], **owner) -> None:
    """End every unused link of these purposes for an owner (parent_id=… or email=…, …)."""
    conditions = [getattr(LinkToken, name) == value for name, value in owner.items()]
    db.session.execute(
        sa.update(LinkToken)
        .where(
            LinkToken.purpose.in_([purpose.value for purpose in purposes]),
            LinkToken.used_at.is_(None),
            LinkToken.revoked_at.is_(None),
            *conditions,
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _state(token: LinkToken) -> TokenState:
    if token.used_at is not None:
        return TokenState.USED
    if token.revoked_at is not None:
        return TokenState.REPLACED
    if token.expires_at <= utcnow():
        return TokenState.EXPIRED
    return TokenState.VALID


def check(purposes: Purpose | tuple[Purpose, ...], secret: str) -> LinkToken:
    """The valid link for a secret, without using it; LinkUnusable otherwise. A token of another
    purpose is as good as unknown."""
    allowed = purposes if isinstance(purposes, tuple) else (purposes,)
    token = None
    if secret and len(secret) <= TOKEN_MAX_LENGTH:
        token = db.session.scalar(sa.select(LinkToken).where(LinkToken.token_hash == _digest(secret)))
    if token is None or token.purpose not in allowed:
        raise LinkUnusable(allowed[0], TokenState.UNKNOWN, None, secret)
    state = _state(token)
    if state is not TokenState.VALID:
        raise LinkUnusable(Purpose(token.purpose), state, token, secret)
    return token


def redeem(purposes: Purpose | tuple[Purpose, ...], secret: str) -> LinkToken:
    """Use the link, atomically: of two concurrent requests one gets the link, the other
    LinkUnusable(USED). The caller commits the use together with what the link does."""
    token = check(purposes, secret)
    now = utcnow()
    result = db.session.execute(
        sa.update(LinkToken)
        .where(
            LinkToken.id == token.id,
            LinkToken.used_at.is_(None),
            LinkToken.revoked_at.is_(None),
            LinkToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()  # the other request has committed by now (the update waited for it)
        used = db.session.get(LinkToken, token.id)
        raise LinkUnusable(Purpose(token.purpose), TokenState.USED, used, secret)
    token.used_at = now
    return token
