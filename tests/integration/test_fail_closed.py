"""Production refuses an unsafe configuration, and says every unsafe setting at once."""

import hashlib

import pytest
from click.testing import CliRunner
from flask.sessions import SecureCookieSessionInterface

from tests.conftest import School, database_url, log_in_staff
from webapp import create_app
from webapp.config import DEFAULT_SECRET_KEY
from webapp.doctor import UnsafeConfiguration, doctor_command
from webapp.extensions import db

STRONG_SECRET = "k" * 48
SAFE_PRODUCTION = {
    "SECRET_KEY": STRONG_SECRET,
    "BASE_URL": "https://portal.example.ee",
    "IDENTITY_DEMO": "0",
}


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """Set the process environment as a deployment would; nothing from the test settings leaks in."""
    for name in ("APP_ENV", "SECRET_KEY", "IDENTITY_DEMO", "BASE_URL", "MAIL_USERNAME", "MAIL_USE_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url(tmp_path))

    def set_environment(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_environment


@pytest.fixture
def production_app():
    """create_app() as a deployment calls it; each app's connections are closed after the test (an open
    pooled connection collected later fails whichever test is running then)."""
    made = []

    def make():
        made.append(create_app())
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("app_env", [None, "production", "prod", "Production", "staging", ""])
def test_anything_but_an_explicit_local_setting_is_production(environment, monkeypatch, app_env):
    if app_env is not None:
        environment(APP_ENV=app_env)
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app()
    assert "SECRET_KEY is the published development value" in refused.value.format_message()


def test_every_unsafe_setting_is_listed_at_once(environment):
    environment(
        SECRET_KEY="x", IDENTITY_DEMO="1", MAIL_USERNAME="portal", BASE_URL="http://portal.example.ee"
    )
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app()
    problems = refused.value.problems
    assert len(problems) == 4
    message = refused.value.format_message()
    for expected in ("SECRET_KEY is 1 bytes", "IDENTITY_DEMO", "MAIL_USERNAME", "https://"):
        assert expected in message


def test_a_short_secret_is_refused_and_32_bytes_are_enough(environment, production_app):
    environment(**{**SAFE_PRODUCTION, "SECRET_KEY": "s" * 31})
    with pytest.raises(UnsafeConfiguration):
        create_app()
    environment(SECRET_KEY="s" * 32)
    assert production_app().config["SECRET_KEY"] == "s" * 32


def test_production_turns_demo_identity_off_and_cookies_secure(environment, production_app):
    environment(**{name: value for name, value in SAFE_PRODUCTION.items() if name != "IDENTITY_DEMO"})
    app = production_app()
    assert app.config["IDENTITY_DEMO"] is False
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_production_sends_hsts_and_a_host_only_secure_cookie(environment, production_app):
    environment(**SAFE_PRODUCTION)
    app = production_app()
    with app.app_context():
        db.create_all()
    client = app.test_client()
    response = client.get("/", base_url="https://portal.example.ee")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-portal_session=") and "Secure" in cookie and "Domain" not in cookie
    assert "Path=/" in cookie and "HttpOnly" in cookie
    assert client.get("/tuvasta/smart-id", base_url="https://portal.example.ee").status_code == 404


def test_development_sends_no_hsts(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_flask_doctor_lists_the_problems_and_fails(environment):
    environment(IDENTITY_DEMO="1")
    result = CliRunner().invoke(doctor_command)
    assert result.exit_code == 1
    assert "SECRET_KEY" in result.output and "IDENTITY_DEMO" in result.output


def test_flask_doctor_passes_a_safe_production(environment):
    environment(**SAFE_PRODUCTION)
    result = CliRunner().invoke(doctor_command)
    assert result.exit_code == 0 and "no unsafe setting found" in result.output


def test_seed_demo_is_refused_in_production(environment, production_app):
    environment(**SAFE_PRODUCTION)
    result = production_app().test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code != 0 and "not in production" in result.output


def test_a_cookie_forged_with_the_published_key_opens_nothing(app, school):
    """The session lives on the server: a cookie signed with any key is only an unknown id."""
    log_in_staff(app.test_client(), School.admin)
    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert signer is not None
    app.secret_key = DEFAULT_SECRET_KEY
    forged = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"_user_id": "staff:1"})
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
    response = client.get("/kool/")
    assert response.status_code == 302 and "/kool/sisene" in response.headers["Location"]


def test_the_cookie_carries_nothing_but_a_random_id(app, client, child_code):
    client.post("/taotlus/", data={"email": "mari@example.ee", "child_personal_code": child_code})
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert len(cookie) == 43 and "." not in cookie  # no signed payload, just the id
    from webapp.extensions import db
    from webapp.models import WebSession

    with app.app_context():
        row = db.session.get(WebSession, hashlib.sha256(cookie.encode()).hexdigest())
        assert "mari@example.ee" in row.data  # kept on the server side
