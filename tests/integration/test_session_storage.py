"""Where sessions live: a visitor with nothing to keep but a CSRF secret costs no row and no query; the
first thing worth keeping moves the session into a row under a new id; only the portal can make an
anonymous id; session writes that do not start or end a login skip the wait for the disk."""

import base64
import hashlib
import hmac
import re
import secrets
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from tests.conftest import STAFF_PASSWORD, School, populate_school
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import WebSession
from webapp.sessions import _transaction

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def statements(app):
    """Every SQL statement the app sends, as it sends it."""
    sent: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
    yield sent
    with app.app_context():
        sa.event.remove(db.engine, "before_cursor_execute", record)


def session_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(WebSession))


def cookie(app, client) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def test_a_first_visit_costs_no_query_and_no_row(app, client, statements):
    for path in ("/", "/taotlus/", "/abi"):
        response = client.get(path)
        assert response.status_code == 200 and CSRF_FIELD.search(response.text)
    assert statements == []
    assert session_rows(app) == 0
    anonymous = cookie(app, client)
    assert len(anonymous) == 43 and "." not in anonymous  # an id, and nothing else


def test_the_next_pages_keep_the_cookie_and_the_token(app, client, statements):
    first = CSRF_FIELD.search(client.get("/taotlus/").text).group(1)
    response = client.get("/")
    assert "Set-Cookie" not in response.headers  # nothing new to say
    second = CSRF_FIELD.search(response.text).group(1)
    # The signed tokens differ by their timestamp at most; the secret under them is the same.
    assert first.split(".")[0] == second.split(".")[0]
    assert statements == []


def test_a_post_from_an_anonymous_session_works_and_moves_it_into_a_row(app, client, child_code):
    token = CSRF_FIELD.search(client.get("/taotlus/").text).group(1)
    anonymous = cookie(app, client)
    response = client.post(
        "/taotlus/", data={"csrf_token": token, "email": "mari@example.ee", "child_personal_code": child_code}
    )
    assert response.status_code == 303
    stored = cookie(app, client)
    assert stored != anonymous and len(stored) == 43
    with app.app_context():
        row = db.session.get(WebSession, hashlib.sha256(stored.encode()).hexdigest())
        assert "mari@example.ee" in row.data
    # The same browser's forms go on working: the CSRF secret moved into the row with it.
    again = client.post(
        "/taotlus/", data={"csrf_token": token, "email": "jaan@example.ee", "child_personal_code": child_code}
    )
    assert again.status_code == 303


@pytest.mark.parametrize(("one_in", "ended_left"), [(1, 0), (2**62, 1)])
def test_now_and_then_a_new_session_clears_out_the_ended_ones(
    app, client, child_code, monkeypatch, one_in, ended_left
):
    """Ended rows are never read; one new session in CLEAR_ENDED_ONE_IN deletes them (here: every one,
    or, in effect, none)."""
    monkeypatch.setattr("webapp.sessions.CLEAR_ENDED_ONE_IN", one_in)
    long_ago = utcnow() - timedelta(days=30)
    with app.app_context():
        db.session.add(
            WebSession(
                id_hash="0" * 64, data="{}", created_at=long_ago, last_seen_at=long_ago, expires_at=long_ago
            )
        )
        db.session.commit()
    token = CSRF_FIELD.search(client.get("/taotlus/").text).group(1)
    client.post(
        "/taotlus/", data={"csrf_token": token, "email": "mari@example.ee", "child_personal_code": child_code}
    )
    with app.app_context():
        ended = db.session.scalar(sa.select(sa.func.count()).where(WebSession.expires_at <= utcnow()))
    assert (ended, session_rows(app)) == (ended_left, 1 + ended_left)


def _anonymous_id_under(key: str) -> str:
    """An id in the portal's own form (12 random bytes, the time, an HMAC), signed with `key`."""
    body = secrets.token_bytes(12) + int(time.time()).to_bytes(4, "big")
    proof = hmac.new(key.encode(), b"anonymous-session:" + body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + proof).decode().rstrip("=")


def _csrf_secret_under(key: str, anonymous_id: str) -> str:
    return hmac.new(key.encode(), b"anonymous-csrf:" + anonymous_id.encode(), hashlib.sha256).hexdigest()


def _signed(app, secret: str) -> str:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(secret)


def test_only_the_portal_can_make_an_anonymous_id(app, client, child_code):
    """An id made with another key is only an unknown id: the CSRF secret a forger would work out from
    it opens nothing, and the visitor gets a fresh id of the portal's."""
    forged = _anonymous_id_under("published-key")
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
    # The forger even knows the portal's key for the signature, but not which secret the session holds.
    token = _signed(app, _csrf_secret_under("published-key", forged))
    response = client.post(
        "/taotlus/", data={"csrf_token": token, "email": "mari@example.ee", "child_personal_code": child_code}
    )
    assert response.status_code == 400
    assert session_rows(app) == 0
    client.get("/taotlus/")
    assert cookie(app, client) != forged


def test_the_anonymous_secret_is_the_portals_alone(app, client, child_code):
    """The same check the other way: the secret of a real anonymous id, worked out with a wrong key,
    is refused too."""
    client.get("/taotlus/")
    anonymous = cookie(app, client)
    token = _signed(app, _csrf_secret_under("published-key", anonymous))
    response = client.post(
        "/taotlus/", data={"csrf_token": token, "email": "mari@example.ee", "child_personal_code": child_code}
    )
    assert response.status_code == 400


def test_an_anonymous_id_lasts_no_longer_than_a_parents_session(app, client, child_code):
    with time_machine.travel(utcnow(), tick=False) as clock:
        token = CSRF_FIELD.search(client.get("/taotlus/").text).group(1)
        anonymous = cookie(app, client)
        clock.shift(app.config["PARENT_SESSION_MAX"] - timedelta(minutes=1))
        form = {"csrf_token": token, "email": "mari@example.ee", "child_personal_code": child_code}
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], anonymous)
        assert client.post("/taotlus/", data=form).status_code == 303
        clock.shift(timedelta(minutes=2))
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], anonymous)
        assert client.post("/taotlus/", data=form).status_code == 400  # the form is too old now


def test_a_login_from_an_anonymous_session_gets_a_stored_session_of_its_own(app, client):
    populate_school(app)
    token = CSRF_FIELD.search(client.get("/kool/sisene").text).group(1)
    anonymous = cookie(app, client)
    form = {"csrf_token": token, "email": School.admin, "password": STAFF_PASSWORD}
    assert client.post("/kool/sisene", data=form).status_code == 303
    stored = cookie(app, client)
    assert stored != anonymous
    with app.app_context():
        row = db.session.get(WebSession, hashlib.sha256(stored.encode()).hexdigest())
        assert row.account.startswith("staff:")
    assert client.get("/kool/").status_code == 200


def test_a_quick_session_write_leaves_the_connection_as_durable_as_before(app):
    """SQLite's synchronous setting belongs to the connection: a session write that skips the disk's
    wait puts it back, so the view's next transaction on that connection waits as before."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            with db.engine.connect() as connection:
                before = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
            with _transaction(durable=False) as connection:
                assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == before
            return
        with db.engine.connect() as connection:
            before = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        with _transaction(durable=False) as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == before
        with _transaction(durable=True) as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == before
