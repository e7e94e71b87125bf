"""Pooled connections: tested before use only after waiting in the pool, and replaced when found dead."""

import sqlalchemy as sa

import webapp
from webapp.extensions import db


def count_pings(app, monkeypatch, fail_first: bool = False) -> list:
    """Calls of the dialect's ping, through the engine the app uses; the first fails if asked."""
    pings = []
    with app.app_context():
        dialect = db.engine.dialect
        real_ping = dialect.do_ping

        def ping(dbapi_connection) -> bool:
            pings.append(dbapi_connection)
            if fail_first and len(pings) == 1:
                raise dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")
            return real_ping(dbapi_connection)

        monkeypatch.setattr(dialect, "do_ping", ping)
    return pings


def use_a_connection(app):
    """The DB-API connection a query ran on (kept, so that a new one cannot take its id)."""
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1
        return connection.connection.dbapi_connection


def test_a_connection_put_back_just_now_is_used_without_a_test(app, monkeypatch):
    use_a_connection(app)
    pings = count_pings(app, monkeypatch)
    for _ in range(5):  # a request takes a connection two or three times in turn
        use_a_connection(app)
    assert pings == []


def test_a_connection_that_waited_is_tested_first(app, monkeypatch):
    use_a_connection(app)
    pings = count_pings(app, monkeypatch)
    monkeypatch.setattr(webapp, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has waited long enough
    use_a_connection(app)
    assert len(pings) == 1


def test_a_dead_connection_is_replaced_before_the_request_uses_it(app, monkeypatch):
    """The database restarted while the connection waited: the test fails, the pool connects afresh, and
    the request's query runs on the new connection (no error page for it)."""
    first = use_a_connection(app)
    pings = count_pings(app, monkeypatch, fail_first=True)
    monkeypatch.setattr(webapp, "PING_AFTER_IDLE_SECONDS", 0.0)
    second = use_a_connection(app)
    assert pings[0] is first  # the old one was tested and found dead
    assert second is not first  # the query ran on a new connection
