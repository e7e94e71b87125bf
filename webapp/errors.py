"""Error pages in the reader's language, never a bare 500."""

import math
import time
from contextlib import suppress
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app, render_template, request, url_for
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp import tokens
from webapp.extensions import db, limiter
from webapp.rendering import local_path

MESSAGES = {
    400: (_l("The request could not be understood"), _l("Please go back and try again.")),
    403: (_l("Access denied"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("Check the address, or start again from the home page.")),
    405: (
        _l("Not allowed"),
        _l("This page cannot be used like that. Start again from the home page."),
    ),
    413: (_l("Too much data"), _l("What you sent is too large. Please shorten it and try again.")),
    500: (_l("Something went wrong"), _l("Nothing you saved was lost. Please try again shortly.")),
}
CSRF_MESSAGE = (
    _l("The form has expired"),
    _l("For your security the form must be sent from this site. Reload the page and try again."),
)
# The database is down, restarting or overloaded: what a request failed on is not saved, and the
# portal reconnects by itself when the database is back (webapp.PING_AFTER_IDLE_SECONDS).
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
UNAVAILABLE_MESSAGE = (
    _l("The portal is unavailable for a moment"),
    _l("Please try again in a few minutes. Everything you had already sent is safe."),
)
UNAVAILABLE_RETRY_AFTER_SECONDS = 30


def _page(status: int, title: str, explanation: str):
    return render_template("errors/error.html", title=title, explanation=explanation), status


def _too_many_attempts():
    """When the person may try again (the limit's reset, as in Retry-After), and the way back."""
    current = limiter.current_limit
    retry_at = datetime.fromtimestamp(current.reset_at, UTC) if current else None
    back = local_path(request.referrer) if request.referrer else url_for("home.index")
    page = render_template("errors/too_many.html", retry_at=retry_at, back=back)
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    return page, 429, {"Retry-After": str(wait)}


def _forbidden():
    """Who is logged in, and the way to switch: a staff member who opened a parent's link in the same
    browser (or the other way round) must not be left at a bare "access denied"."""
    if not current_user.is_authenticated:
        return _page(403, *MESSAGES[403])
    wanted = "staff" if request.blueprint in ("staff", "training") else "parent"
    login_page = url_for("staff.login") if wanted == "staff" else url_for("home.index")
    page = render_template(
        "errors/forbidden.html",
        wanted=wanted if wanted != current_user.kind else None,
        login_page=login_page,
        home=url_for(current_user.home_endpoint),
    )
    return page, 403


def database_error_reason(error: sa.exc.SQLAlchemyError) -> str:
    """The driver's first line ("connection refused", "the database system is shutting down"),
    without the SQL statement and its parameters, which SQLAlchemy's message repeats."""
    return (str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0]


def _database_unavailable(error: sa.exc.SQLAlchemyError):
    """503 in the reader's language, on a page that needs neither the database nor the session kept
    there: the session is set aside (it may not even have opened), so nothing tries to read or save it."""
    with suppress(sa.exc.SQLAlchemyError):  # the connection may be gone; the pool replaces it later
        db.session.rollback()
    request_ctx._session = current_app.session_interface.make_null_session(current_app)
    current_app.logger.warning("Database unavailable: %s", database_error_reason(error))
    page = render_template(
        "errors/unavailable.html", title=UNAVAILABLE_MESSAGE[0], explanation=UNAVAILABLE_MESSAGE[1]
    )
    return page, 503, {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)}


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError):
        return _page(400, *CSRF_MESSAGE)

    @app.errorhandler(tokens.LinkUnusable)
    def link_unusable(unusable: tokens.LinkUnusable):
        """The one page for an e-mailed link that no longer works, saying why and what to do."""
        db.session.rollback()
        page = render_template(
            "links/problem.html",
            purpose=unusable.purpose.value,
            state=unusable.state.value,
            secret=unusable.secret,
        )
        return page, unusable.status_code

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 429:
            return _too_many_attempts()
        if error.code == 403:
            return _forbidden()
        code = error.code if error.code in MESSAGES else 400
        return _page(code, *MESSAGES[code])

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        """Also where a failure outside the view lands: opening or saving the session, which live in
        the database."""
        if isinstance(error.original_exception, DATABASE_UNAVAILABLE):
            return _database_unavailable(error.original_exception)
        return http_error(error)

    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, _database_unavailable)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error", exc_info=error)
        return _page(500, *MESSAGES[500])
