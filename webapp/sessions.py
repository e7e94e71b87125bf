"""Sessions kept on the server, in the database: the cookie carries a random id and nothing else.

Any host serves any session, logging out ends it everywhere, and each session has an idle and an
absolute lifetime (staff's shorter than parents'). Rows are read and written on a connection of their
own, never in the view's transaction, so that saving a session cannot commit a view's half-done work.

A visitor who has nothing to keep but the CSRF secret of the forms on a page (anyone reading the portal
without logging in or sending anything) costs no row and no query: the cookie then holds an anonymous id,
12 random bytes and the time it was made, signed with an HMAC under SECRET_KEY, and the CSRF secret is
the HMAC of that id. Only the portal can make such an id, so a cookie cannot choose its own CSRF secret,
and it lasts no longer than a parent's session may (PARENT_SESSION_MAX). The first thing worth keeping
moves the session into a row under a new random id, the CSRF secret with it.

Durability: a write that starts or ends a login (a new id, a deleted row) is committed like any other
data. Other session writes (the last-seen time, a remembered address, a message for the next page) skip
the wait for the disk (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off): a power cut may
lose the last of them, never leave a half-written row, and never bring back a session that was ended.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask, Request, Response, current_app, session
from flask.sessions import SessionInterface, SessionMixin
from flask_login import login_user, logout_user
from werkzeug.datastructures import CallbackDict

from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import Account, WebSession

ID_LENGTH = 43  # secrets.token_urlsafe(32); an anonymous id (32 bytes too) is as long
ANONYMOUS_RANDOM_BYTES, ANONYMOUS_TIME_BYTES, ANONYMOUS_PROOF_BYTES = 12, 4, 16
CSRF_KEY = "csrf_token"  # where Flask-WTF keeps a session's CSRF secret
# A session's last-seen time is written at most this often: reading a page is not a write.
TOUCH_EVERY = timedelta(minutes=1)
# One new session in this many deletes the rows of ended sessions.
CLEAR_ENDED_ONE_IN = 64
LOGGED_IN_AT = "logged_in_at"
LOGIN_METHOD = "login_method"


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _mac(purpose: bytes, value: bytes) -> bytes:
    return hmac.new(current_app.secret_key.encode(), purpose + value, hashlib.sha256).digest()


def _seconds(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _new_anonymous_id() -> str:
    made = _seconds(utcnow()).to_bytes(ANONYMOUS_TIME_BYTES, "big")
    body = secrets.token_bytes(ANONYMOUS_RANDOM_BYTES) + made
    proof = _mac(b"anonymous-session:", body)[:ANONYMOUS_PROOF_BYTES]
    return base64.urlsafe_b64encode(body + proof).decode().rstrip("=")


def _is_anonymous_id(session_id: str) -> bool:
    """An id the portal made, within a parent session's lifetime, for a session without a row (the
    random id of a row fails the HMAC)."""
    try:
        raw = base64.urlsafe_b64decode(session_id + "=")
    except (binascii.Error, ValueError):
        return False
    body, proof = raw[:-ANONYMOUS_PROOF_BYTES], raw[-ANONYMOUS_PROOF_BYTES:]
    if len(body) != ANONYMOUS_RANDOM_BYTES + ANONYMOUS_TIME_BYTES:
        return False
    if not hmac.compare_digest(proof, _mac(b"anonymous-session:", body)[:ANONYMOUS_PROOF_BYTES]):
        return False
    age = _seconds(utcnow()) - int.from_bytes(body[ANONYMOUS_RANDOM_BYTES:], "big")
    return 0 <= age < lifetimes(None)[1].total_seconds()


def _csrf_secret(anonymous_id: str) -> str:
    return _mac(b"anonymous-csrf:", anonymous_id.encode()).hex()


class ServerSession(CallbackDict, SessionMixin):
    def __init__(
        self,
        initial: dict | None = None,
        session_id: str | None = None,
        row=None,
        anonymous_id: str | None = None,
    ) -> None:
        def changed(_self) -> None:
            self.modified = True

        super().__init__(initial, changed)
        self.session_id = session_id
        self.row = row  # (created_at, last_seen_at) of the stored row, if any
        self.anonymous_id = anonymous_id
        self.modified = False
        self.renew = False

    def __setitem__(self, key, value) -> None:
        if key == CSRF_KEY and self.session_id is None and self.anonymous_id is None:
            # A new visitor's first form: the secret comes from an anonymous id, so that it needs no row.
            self.anonymous_id = _new_anonymous_id()
            value = _csrf_secret(self.anonymous_id)
        super().__setitem__(key, value)

    @property
    def anonymous_only(self) -> bool:
        """Nothing to keep but the CSRF secret that the anonymous id yields anyway."""
        return (
            self.session_id is None
            and self.anonymous_id is not None
            and not self.renew
            and dict(self) == {CSRF_KEY: _csrf_secret(self.anonymous_id)}
        )

    def regenerate(self) -> None:
        """A new id at the next save; the old row is deleted (login, logout: no session fixation)."""
        self.renew = True
        self.modified = True


def lifetimes(account_key: str | None) -> tuple[timedelta, timedelta]:
    """(idle, absolute) for a session of this account (or of nobody yet)."""
    kind = "STAFF" if (account_key or "").startswith("staff:") else "PARENT"
    config = current_app.config
    return config[f"{kind}_SESSION_IDLE"], config[f"{kind}_SESSION_MAX"]


def _expiry(account_key: str | None, created_at: datetime, last_seen_at: datetime) -> datetime:
    idle, absolute = lifetimes(account_key)
    return min(created_at + absolute, last_seen_at + idle)


class DatabaseSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSession:
        session_id = request.cookies.get(self.get_cookie_name(app), "")
        if len(session_id) != ID_LENGTH:
            return ServerSession()
        if _is_anonymous_id(session_id):
            return ServerSession({CSRF_KEY: _csrf_secret(session_id)}, anonymous_id=session_id)
        with db.engine.connect() as connection:
            row = connection.execute(
                sa.select(WebSession.data, WebSession.created_at, WebSession.last_seen_at).where(
                    WebSession.id_hash == _digest(session_id), WebSession.expires_at > utcnow()
                )
            ).first()
        if row is None:
            return ServerSession()
        return ServerSession(json.loads(row.data), session_id, (row.created_at, row.last_seen_at))

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        name, domain, path = self.get_cookie_name(app), self.get_cookie_domain(app), self.get_cookie_path(app)
        now = utcnow()
        stale = session.row is not None and now - session.row[1] >= TOUCH_EVERY
        if not (session.modified or stale):
            return
        if session.anonymous_only:
            # A new visitor's CSRF secret: the cookie is all it takes.
            self._set_cookie(app, response, session.anonymous_id)
            return
        with _transaction(durable=session.renew or not session) as connection:
            if session.session_id and (session.renew or not session):
                connection.execute(
                    sa.delete(WebSession).where(WebSession.id_hash == _digest(session.session_id))
                )
                session.session_id, session.row = None, None
            if not session:
                response.delete_cookie(name, domain=domain, path=path)
                return
            account = session.get("_user_id")
            data = json.dumps(dict(session))
            if session.session_id is None:
                session.session_id = secrets.token_urlsafe(32)
                connection.execute(
                    sa.insert(WebSession).values(
                        id_hash=_digest(session.session_id),
                        account=account,
                        data=data,
                        created_at=now,
                        last_seen_at=now,
                        expires_at=_expiry(account, now, now),
                    )
                )
                # Now and then, whoever starts a session clears out the ended ones: no janitor to run, and
                # no extra statement for most new sessions (ended rows are never read: see open_session).
                if secrets.randbelow(CLEAR_ENDED_ONE_IN) == 0:
                    connection.execute(sa.delete(WebSession).where(WebSession.expires_at <= now))
            else:
                connection.execute(
                    sa.update(WebSession)
                    .where(WebSession.id_hash == _digest(session.session_id))
                    .values(
                        account=account,
                        data=data,
                        last_seen_at=now,
                        expires_at=_expiry(account, session.row[0], now),
                    )
                )
        self._set_cookie(app, response, session.session_id)

    def _set_cookie(self, app: Flask, response: Response, session_id: str) -> None:
        response.set_cookie(
            self.get_cookie_name(app),
            session_id,
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")


@contextmanager
def _transaction(durable: bool) -> Iterator[sa.Connection]:
    """A transaction of its own for session rows; `durable=False` commits without waiting for the disk."""
    with db.engine.connect() as connection:
        dialect = connection.dialect.name
        restore = None
        if not durable and dialect == "sqlite":
            # Per connection, and outside a transaction: set for this one, then put back as it was.
            restore = connection.exec_driver_sql("PRAGMA synchronous").scalar()
            connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            connection.commit()
        try:
            with connection.begin():
                if not durable and dialect == "postgresql":
                    connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield connection
        finally:
            if restore is not None:
                connection.exec_driver_sql(f"PRAGMA synchronous={int(restore)}")
                connection.commit()


def start_session(account: Account, method: str) -> None:
    """A fresh session for a fresh login: nothing from before survives (no session fixation).
    `method` is how the person proved who they are ("password", "link", "identity")."""
    session.clear()
    session.regenerate()
    login_user(account)
    account.last_login_at = utcnow()
    session[LOGGED_IN_AT] = account.last_login_at.isoformat()
    session[LOGIN_METHOD] = method


def end_session() -> None:
    """Log out: the session's row is deleted, so a copied cookie opens nothing afterwards."""
    logout_user()
    session.clear()
    session.regenerate()


def end_sessions_of(account: Account, keep_current: bool = True) -> None:
    """End the account's sessions, in the caller's transaction: all but this browser's, or all."""
    query = sa.delete(WebSession).where(WebSession.account == account.get_id())
    if keep_current and session.session_id:
        query = query.where(WebSession.id_hash != _digest(session.session_id))
    db.session.execute(query.execution_options(synchronize_session=False))
    if not keep_current and session.get("_user_id") == account.get_id():
        end_session()


def logged_in_by_link_within(grace: timedelta) -> bool:
    """This session logged in from an e-mailed login link no longer than `grace` ago."""
    if session.get(LOGIN_METHOD) != "link" or not session.get(LOGGED_IN_AT):
        return False
    return utcnow() - datetime.fromisoformat(session[LOGGED_IN_AT]) <= grace
