"""The Flask app behind the web inbox and the JSON API."""

import logging
import os
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask import Flask, Response, current_app, jsonify, redirect, render_template, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from dev_mailbox.access import TOKEN_COOKIE, AccessPolicy
from dev_mailbox.api import api
from dev_mailbox.checks import checks
from dev_mailbox.i18n import (
    DEFAULT_LOCALE,
    LOCALE_COOKIE,
    LOCALES,
    compile_catalogues,
    select_locale,
)
from dev_mailbox.inbox import inbox
from dev_mailbox.recipient_view import recipient
from dev_mailbox.spam import Spamd, find_spamd
from dev_mailbox.store import Store

MAX_REQUEST_BYTES = 1024 * 1024
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'none'"
)
# Times as the portal shows them (Tallinn time), unless this variable names another zone.
TIME_ZONE_VARIABLE = "DEV_MAILBOX_TIME_ZONE"
DEFAULT_TIME_ZONE = "Europe/Tallinn"
# English dates the British way, as the portal writes them: "04/12/2026, 03:16", not "12/4/26, 3:16 AM".
FORMAT_LOCALES = {"en": "en_GB"}


def display_time_zone() -> ZoneInfo:
    """The zone the inbox shows times in; a name that is no zone is reported and Tallinn time used."""
    name = os.environ.get(TIME_ZONE_VARIABLE) or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logging.getLogger(__name__).warning(
            "%s=%r is not a time zone: showing %s", TIME_ZONE_VARIABLE, name, DEFAULT_TIME_ZONE
        )
        return ZoneInfo(DEFAULT_TIME_ZONE)


def create_app(store: Store, access: AccessPolicy | None = None, spamd: Spamd | None = None) -> Flask:
    """The inbox and API over `store`; by default served to loopback host names only. Spam scores
    come from `spamd` (its owner stops it; by default one of the app's own, started when first asked)."""
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
    app.extensions["dev_mailbox.access"] = access or AccessPolicy()
    app.extensions["dev_mailbox.spamd"] = spamd or Spamd(find_spamd())
    app.before_request(check_access)
    Babel(app, locale_selector=select_locale)
    csrf = CSRFProtect(app)
    csrf.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(inbox)
    app.register_blueprint(checks)
    app.register_blueprint(recipient)
    app.jinja_env.globals["get_locale"] = get_locale

    time_zone = display_time_zone()
    # Search dates (before:, after:) are days in this zone too.
    app.extensions["dev_mailbox.time_zone"] = time_zone
    app.jinja_env.globals["time_zone_name"] = time_zone.key

    @app.template_filter("when")
    def when(seconds: float) -> str:
        """ "04.12.26 03:16 (EET)": the zone is named, as QA compare it with the portal's and the logs'."""
        moment = datetime.fromtimestamp(seconds, time_zone)
        language = str(get_locale())
        shown = format_datetime(moment, "short", locale=FORMAT_LOCALES.get(language, language))
        return f"{shown} ({moment.tzname()})"

    @app.template_filter("machine_time")
    def machine_time(seconds: float) -> str:
        """The same moment for <time datetime>: ISO 8601 with its offset."""
        return datetime.fromtimestamp(seconds, time_zone).isoformat(timespec="seconds")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if request.path.startswith("/api/"):
            explanation = error.description or error.name
        else:
            explanation = {
                404: _("There is no such page or message. It may have been deleted."),
                405: _("This address does not accept that kind of request."),
                413: _("The request is too large."),
            }.get(error.code, _("The request could not be handled. Go back and try again."))
            if isinstance(error, CSRFError):
                explanation = _("The form had expired. Go back, reload the page and try again.")
        # The exception's own headers (Allow, WWW-Authenticate), not its plain-text body's type.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return error_response(error.code or 500, explanation, headers)

    @app.after_request
    def harden(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.args.get("lang") in LOCALES:
            response.set_cookie(LOCALE_COOKIE, request.args["lang"], max_age=365 * 86400, samesite="Lax")
        return response

    return app


def error_response(status: int, explanation: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """JSON under /api/, a page in the reader's language elsewhere; never a bare 500."""
    if request.path.startswith("/api/"):
        response = jsonify({"Error": explanation})
    else:
        response = Response(render_template("error.html", explanation=explanation), mimetype="text/html")
    response.status_code = status
    response.headers.extend(headers or [])
    return response


def check_access() -> Response | None:
    """Every request passes here first: None lets it through, a response refuses it.

    The one place that decides who sees what (see access.py). One recipient's view is opened by
    its signed link alone (recipient_view.py checks it; without an access token it does not exist).
    """
    access: AccessPolicy = current_app.extensions["dev_mailbox.access"]
    if request.endpoint == "static":  # the inbox's own CSS and script: nothing from the mailbox
        return None
    if request.blueprint == "recipient" and access.token is not None:
        return None
    if not access.serves_host(request.host):
        return error_response(
            421,
            _(
                "This mailbox answers only at its own address on this computer: %(address)s."
                " Open it there. To reach it from other computers, start it with"
                " --http-host 0.0.0.0 and open the link with the access token that it prints.",
                address=_own_address(),
            ),
        )
    if access.token is None:
        return None
    if request.method in ("GET", "HEAD") and access.token_matches(request.args.get("token")):
        return _remember_token(access.token)
    scheme, _space, credentials = request.headers.get("Authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else None
    if access.token_matches(request.cookies.get(TOKEN_COOKIE)) or access.token_matches(bearer):
        return None
    return error_response(
        401,
        _(
            "This mailbox opens only with its access link: the address with ?token= that it"
            " printed when it started. Programs send the header Authorization: Bearer followed"
            " by the access token."
        ),
        [("WWW-Authenticate", 'Bearer realm="dev_mailbox"')],
    )


def _remember_token(token: str) -> Response:
    """The token from the link goes into a cookie, and out of the address bar and history."""
    kept = [(name, value) for name, value in request.args.items(multi=True) if name != "token"]
    # "//host/x" as a Location would lead to another site: one leading slash only.
    location = "/" + request.path.lstrip("/") + ("?" + urlencode(kept) if kept else "")
    response = redirect(location, 303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Lax")
    response.headers["Cache-Control"] = "no-store"
    return response


def _own_address() -> str:
    """Where this server listens, as a link: http://127.0.0.1:8025, http://[::1]:8025."""
    host, port = request.environ["SERVER_NAME"], request.environ["SERVER_PORT"]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
