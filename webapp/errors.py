"""Error pages in the reader's language, never a bare 500."""

from datetime import UTC, datetime

from flask import Flask, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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


def _page(status: int, title: str, explanation: str):
    return render_template("errors/error.html", title=title, explanation=explanation), status


def _too_many_attempts():
    """When the person may try again (the limit's reset, as in Retry-After), and the way back."""
    current = limiter.current_limit
    retry_at = datetime.fromtimestamp(current.reset_at, UTC) if current else None
    back = local_path(request.referrer) if request.referrer else url_for("home.index")
    return render_template("errors/too_many.html", retry_at=retry_at, back=back), 429


def _forbidden():
    """Who is logged in, and the way to switch: a staff member who opened a parent's link in the same
    browser (or the other way round) must not be left at a bare "access denied"."""
    if not current_user.is_authenticated:
        return _page(403, *MESSAGES[403])
    wanted = "staff" if request.path.startswith(url_for("staff.queue")) else "parent"
    login_page = url_for("staff.login") if wanted == "staff" else url_for("home.index")
    page = render_template(
        "errors/forbidden.html",
        wanted=wanted if wanted != current_user.kind else None,
        login_page=login_page,
        home=url_for(current_user.home_endpoint),
    )
    return page, 403


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

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error", exc_info=error)
        return _page(500, *MESSAGES[500])
