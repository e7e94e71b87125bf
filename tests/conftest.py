import os
import re
import smtplib
from datetime import date

import pytest
import sqlalchemy as sa

from webapp import create_app, isikukood
from webapp.extensions import db
from webapp.models import OutboxMessage

# Ports nobody listens on: a test that did not ask for a mail server cannot reach one.
CLOSED_PORT = 9


@pytest.fixture(autouse=True)
def _no_unexpected_smtp(request, monkeypatch):
    """Unit tests fail on any SMTP connect; tests marked `smtp` talk to a real server."""
    if request.node.get_closest_marker("smtp") or request.node.get_closest_marker("browser"):
        return

    def refuse(*_args, **_kwargs):
        raise AssertionError("unexpected SMTP connection in a test not marked smtp")

    monkeypatch.setattr(smtplib.SMTP, "connect", refuse)


def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'portal.sqlite3'}"


def _new_app(tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": CLOSED_PORT,
        "MAIL_TIMEOUT": 5.0,
        "BASE_URL": "http://portal.test",
        "SCHOOL_NAME": "Testkool",
        "SCHOOL_IT_EMAIL": "it@testkool.example",
        "OUTBOX_RETRY_BASE_SECONDS": 0.0,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


@pytest.fixture
def app_config():
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def make_app(tmp_path):
    """Build an app with its own configuration; every app made is cleaned up after the test."""
    made = []

    def make(**overrides):
        made.append(_new_app(tmp_path, **overrides))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(make_app, app_config):
    return make_app(**app_config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def child_code():
    """A valid isikukood of a nine-year-old."""
    today = date.today()
    return isikukood.make(date(today.year - 9, 3, 4), female=True, serial=21)


def outbox_messages(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def link_path(text: str, base_url: str = "http://portal.test") -> str:
    """The path of the first link to the portal in an e-mail's text."""
    match = re.search(re.escape(base_url) + r"(/\S+)", text)
    assert match, f"no portal link in: {text!r}"
    return match.group(1)


def page_text(response) -> str:
    """The visible text of a page's <main>, white space folded."""
    html = response.get_data(as_text=True)
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())
