"""Sessions kept on the server, in the database: the cookie carries a random id and nothing else.

Any host serves any session, logging out ends it everywhere, and each session has an idle and an
absolute lifetime (staff's shorter than parents'). Rows are read and written on a connection of their
own, never in the view's transaction, so that saving a session cannot commit a view's half-done work.
"""

import hashlib
import json
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, Request, Response, current_app, session
from flask.sessions import SessionInterface, SessionMixin
from flask_login import login_user, logout_user
from werkzeug.datastructures import CallbackDict

from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import Account, WebSession

ID_LENGTH = 43  # secrets.token_urlsafe(32)
# A session's last-seen time is written at most this often: reading a page is not a write.
TOUCH_EVERY = timedelta(minutes=1)
LOGGED_IN_AT = "logged_in_at"
LOGIN_METHOD = "login_method"


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial: dict | None = None, session_id: str | None = None, row=None) -> None:
        def changed(_self) -> None:
            self.modified = True

        super().__init__(initial, changed)
        self.session_id = session_id
        self.row = row  # (created_at, last_seen_at) of the stored row, if any
        self.modified = False
        self.renew = False

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
        with db.engine.begin() as connection:
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
                # Whoever starts a session clears out the ended ones: no separate janitor to run.
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
        response.set_cookie(
            name,
            session.session_id,
            domain=domain,
            path=path,
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")


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
