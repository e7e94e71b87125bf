"""The parent-access portal: application factory."""

import time
from pathlib import Path

import sqlalchemy as sa
from dotenv import find_dotenv, load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from webapp import config as app_config
from webapp import doctor, request_log
from webapp.extensions import babel, csrf, db, limiter, login, migrate
from webapp.sessions import DatabaseSessionInterface


def _shared_folder(name: str) -> str:
    """templates/, static/ and translations/ sit beside the package in a checkout, inside it in a wheel."""
    package = Path(__file__).resolve().parent
    checkout = package.parent / name
    return str(checkout if checkout.is_dir() else package / f"_{name}")


# A connection that has waited in the pool this long is tested before use: the database may have restarted
# meanwhile, and the pool then replaces it. One put back just now is used as it is (a request takes two
# or three in turn: testing each cost as much as a query). Should the database go away under load, the
# request on a dead connection gets the 503 page, and that error makes the pool replace all of them.
PING_AFTER_IDLE_SECONDS = 1.0


def _mark_returned(_dbapi_connection, record) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(engine: sa.Engine):
    def ping(dbapi_connection, record, _proxy) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise sa.exc.DisconnectionError from error  # the pool connects afresh and tries again

    return ping


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the sender write while pages read; the timeout rides out a concurrent writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class DatabaseId(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, *args, max=2**31 - 1, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    if test_config is None:
        # Every way of starting the portal reads .env (`flask` already has; gunicorn, `make run`):
        # it fills in what the environment leaves unset. A test brings its own configuration.
        load_dotenv(find_dotenv(usecwd=True))
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=_shared_folder("templates"),
        static_folder=_shared_folder("static"),
    )
    app.config.update(app_config.DEFAULTS)
    app.config.update(app_config.from_environment(Path(app.instance_path)))
    if test_config:
        app.config.update(test_config)
    doctor.refuse_unsafe(app.config)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = _shared_folder("translations")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from webapp import accounts, errors, i18n, rendering, security  # noqa: F401 - accounts registers the user loader

    db.init_app(app)
    with app.app_context():
        sa.event.listen(db.engine, "checkin", _mark_returned)
        sa.event.listen(db.engine, "checkout", _ping_if_idle(db.engine))
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
    # Batch mode: SQLite can only change a table by copying it, and Alembic then does that for us.
    migrate.init_app(
        app, db, directory=str(Path(__file__).resolve().parent / "migrations"), render_as_batch=True
    )
    app.session_interface = DatabaseSessionInterface()
    if app.config["TRUSTED_PROXIES"]:
        # Only as many hops as the school configured: anyone can write X-Forwarded-For.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    request_log.register(app)  # outside ProxyFix: a line for every request, with its id
    login.init_app(app)
    login.login_view = "home.index"
    login.blueprint_login_views = {"staff": "staff.login"}
    login.login_message = None  # the login page says it all, in the reader's language
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    errors.register(app)
    security.register(app)
    rendering.register(app)

    from webapp.apply import bp as apply_bp
    from webapp.auth import bp as auth_bp
    from webapp.health import bp as health_bp
    from webapp.home import bp as home_bp
    from webapp.identity import bp as identity_bp
    from webapp.profile import bp as profile_bp
    from webapp.staff import bp as staff_bp

    # Ids in URLs fit the database's integer: a bigger number is a page that does not exist (404).
    app.url_map.converters["int"] = DatabaseId
    for blueprint in (home_bp, apply_bp, auth_bp, identity_bp, profile_bp, staff_bp, health_bp):
        app.register_blueprint(blueprint)
    if app_config.is_demo(app.config):
        # The trainer's page resets the database: it exists in demo mode only.
        from webapp.training import bp as training_bp

        app.register_blueprint(training_bp)

    from webapp import cli

    cli.register(app)

    if app.config["OUTBOX_THREAD"]:
        from webapp.sender import SenderThread

        app.extensions["outbox_sender"] = SenderThread(app)
    return app
