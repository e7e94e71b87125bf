import os
import re
import smtplib
from datetime import date

import pytest
import sqlalchemy as sa

from webapp import create_app, isikukood
from webapp.extensions import db
from webapp.live import launch_chromium
from webapp.models import OutboxMessage

# Tests run the app as a test setting; a test of production sets APP_ENV itself.
os.environ.setdefault("APP_ENV", "test")

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


@pytest.fixture(scope="session")
def browser():
    """The session's one Debian Chromium (Playwright's sync API allows one instance per process).
    No skip: a machine without Chromium fails here, loudly."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


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


def link_path(text: str) -> str:
    """The path of the first link in an e-mail's text."""
    match = re.search(r"https?://[^/\s]+(/\S+)", text)
    assert match, f"no portal link in: {text!r}"
    return match.group(1)


def page_text(response) -> str:
    """The visible text of a page's <main>, white space folded."""
    html = response.get_data(as_text=True)
    found = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1) if found else html).split())


STAFF_PASSWORD = "Kevadine-Kask-2026"
APPLICATION_FORM = {
    "parent_first_name": "Mari-Liis",
    "parent_last_name": "Mägi",
    "phone": "+372 5555 1234",
    "relation": "ema",
    "child_first_name": "Jüri",
    "child_last_name": "Mägi",
    "consent": "y",
}


class School:
    """A roster of two classes: 5A (teacher Tiina) and 6B (teacher Peeter), and an administrator."""

    admin = "admin@testkool.example"
    teacher_5a = "tiina@testkool.example"
    teacher_6b = "peeter@testkool.example"

    def __init__(self) -> None:
        today = date.today()
        self.child_5a = isikukood.make(date(today.year - 11, 5, 1), female=False, serial=11)
        self.child_6b = isikukood.make(date(today.year - 12, 6, 2), female=True, serial=12)
        self.child_outside = isikukood.make(date(today.year - 10, 7, 3), female=True, serial=13)


@pytest.fixture
def school(app) -> School:
    return populate_school(app)


def populate_school(app) -> School:
    from webapp.roster import import_rows
    from webapp.staff.accounts import create_staff

    school = School()
    with app.app_context():
        for email, role, first in [
            (School.admin, "admin", "Anne"),
            (School.teacher_5a, "teacher", "Tiina"),
            (School.teacher_6b, "teacher", "Peeter"),
        ]:
            create_staff(email, first, "Õpetaja", role, STAFF_PASSWORD)
        db.session.flush()
        result = import_rows(
            [
                {
                    "class": "5A",
                    "teacher_email": School.teacher_5a,
                    "student_personal_code": school.child_5a,
                    "student_first_name": "Juri",
                    "student_last_name": "Magi",
                },
                {
                    "class": "6B",
                    "teacher_email": School.teacher_6b,
                    "student_personal_code": school.child_6b,
                    "student_first_name": "Sofia",
                    "student_last_name": "Smirnova",
                },
            ]
        )
        assert result.errors == []
        db.session.commit()
    return school


def submit_application(app, client, child_code: str, email: str = "mari@example.ee", **fields) -> int:
    """Apply through the real pages (step 1, the e-mailed link, the form); returns the application id."""
    from webapp.models import Application

    # keep_email: the parent keeps the address even where the typo guard would suggest another.
    step_one = {"email": email, "child_personal_code": child_code, "keep_email": email}
    response = client.post("/taotlus/", data=step_one)
    assert response.status_code == 303
    path = link_path(outbox_messages(app)[-1].text_body)
    assert client.post(path, data={**APPLICATION_FORM, **fields}).status_code == 303
    with app.app_context():
        return db.session.scalar(sa.select(Application.id).order_by(Application.id.desc()))


def log_in_staff(client, email: str) -> None:
    """Through the real staff login form."""
    response = client.post("/kool/sisene", data={"email": email, "password": STAFF_PASSWORD})
    assert response.status_code == 303, page_text(response)


def last_link(app, fragment: str) -> str:
    """The path of the newest e-mailed link containing `fragment`."""
    for message in reversed(outbox_messages(app)):
        if fragment in message.text_body:
            return link_path(message.text_body)
    raise AssertionError(f"no e-mail with a {fragment} link")


def answer_link_requests(app) -> int:
    """What the sender does first in each round: answer the links parents asked for by address."""
    from webapp import link_requests

    with app.app_context():
        return link_requests.process_due()
