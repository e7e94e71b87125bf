"""The Flask app behind the web inbox and the JSON API."""

from datetime import UTC, datetime

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import Babel, format_datetime, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from dev_mailbox.api import api
from dev_mailbox.i18n import (
    DEFAULT_LOCALE,
    LOCALE_COOKIE,
    LOCALES,
    compile_catalogues,
    select_locale,
)
from dev_mailbox.inbox import inbox
from dev_mailbox.store import Store

MAX_REQUEST_BYTES = 1024 * 1024
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'none'"
)


def create_app(store: Store) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=store.secret_key(),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        BABEL_DEFAULT_LOCALE=DEFAULT_LOCALE,
        BABEL_TRANSLATION_DIRECTORIES=str(compile_catalogues()),
        # The inbox runs for days in a trainer's browser tab: tokens live as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_NAME="dev_mailbox_session",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.extensions["dev_mailbox.store"] = store
    Babel(app, locale_selector=select_locale)
    csrf = CSRFProtect(app)
    csrf.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(inbox)
    app.jinja_env.globals["get_locale"] = get_locale

    @app.template_filter("when")
    def when(seconds: float) -> str:
        return format_datetime(datetime.fromtimestamp(seconds, UTC), "short")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        """JSON under /api/, a page in the reader's language elsewhere; never a bare 500."""
        if request.path.startswith("/api/"):
            return jsonify({"Error": error.description or error.name}), error.code or 500
        explanation = {
            404: _("There is no such page or message. It may have been deleted."),
            405: _("This address does not accept that kind of request."),
            413: _("The request is too large."),
        }.get(error.code, _("The request could not be handled. Go back and try again."))
        if isinstance(error, CSRFError):
            explanation = _("The form had expired. Go back, reload the page and try again.")
        return render_template("error.html", explanation=explanation), error.code or 500

    @app.after_request
    def harden(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.args.get("lang") in LOCALES:
            response.set_cookie(LOCALE_COOKIE, request.args["lang"], max_age=365 * 86400, samesite="Lax")
        return response

    return app
