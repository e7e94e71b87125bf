"""Rendering pages and htmx fragments, and what every template can use."""

import functools
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from babel import dates
from flask import Flask, Response, current_app, g, render_template, request, session
from flask_babel import get_locale, get_timezone, to_user_timezone
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_block

from webapp.config import is_demo
from webapp.i18n import LANGUAGE_NAMES, formatting_locale

# Where each answer's own CSRF token goes in a kept page (same_for_every_new_visitor).
_TOKEN_MARK = f"csrf-token-{secrets.token_hex(16)}"


def is_htmx_fragment_request() -> bool:
    """An htmx request that wants a fragment; boosted and history-restore requests want the page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(template: str, block: str | None = None, **context) -> str:
    """The whole page, or only `block` of it when htmx asks for a fragment."""
    if block and is_htmx_fragment_request():
        return render_block(template, block, **context)
    return render_template(template, **context)


def same_for_every_new_visitor(view: Callable) -> Callable:
    """For a page whose content depends on nothing but its language (the login page, step 1, the help
    pages): a visitor who has no session yet (nobody logged in, no message from a page before, no query
    string) gets it rendered once per language and kept, with a CSRF token of their own put in. The
    first evening of September is a crowd of such visitors. Anyone else gets the view as usual."""

    @functools.wraps(view)
    def page(*args, **kwargs):
        if not _new_visitor():
            return view(*args, **kwargs)
        # Kept by the app, in each process: a changed template or setting needs a restart, as new code does.
        pages = current_app.extensions.setdefault("new_visitor_pages", {})
        key = (
            request.endpoint,
            request.path,
            str(get_locale()),
            current_app.config.get("WTF_CSRF_ENABLED", True),
        )
        kept = pages.get(key)
        if kept is not None:
            return kept.replace(_TOKEN_MARK, generate_csrf())
        response = current_app.make_response(view(*args, **kwargs))
        token = g.get("csrf_token")
        if response.status_code == 200 and response.mimetype == "text/html" and token:
            pages[key] = response.get_data(as_text=True).replace(token, _TOKEN_MARK)
        return response

    return page


def _new_visitor() -> bool:
    return (
        request.method == "GET"
        and not request.query_string
        and "HX-Request" not in request.headers
        and not current_app.debug
        and not is_demo(current_app.config)
        and set(session) <= {"csrf_token"}
    )


def _template_globals() -> dict:
    return {
        "school_name": current_app.config["SCHOOL_NAME"],
        "school_it_email": current_app.config["SCHOOL_IT_EMAIL"],
        "language_names": LANGUAGE_NAMES,
        "current_locale": str(get_locale()),
    }


def _vary_on_htmx(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response


def date_format(day: date | datetime, format: str = "medium") -> str:
    """A date in the reader's language: "reede, 4. detsember 2026", "Friday, 4 December 2026" with "full".
    A datetime is the date in the school's time zone (naive datetimes are UTC, as the clock gives them)."""
    if isinstance(day, datetime):
        day = to_user_timezone(day)
    return dates.format_date(day, format, locale=formatting_locale())


def datetime_format(moment: datetime, format: str = "medium") -> str:
    """A date and time in the school's time zone: "04.12.26 15:14", "04/12/2026, 15:14" with "short"."""
    return dates.format_datetime(moment, format, tzinfo=get_timezone(), locale=formatting_locale())


def time_format(moment: datetime, format: str = "medium") -> str:
    """A time of day in the school's time zone, on the 24-hour clock in every language."""
    return dates.format_time(moment, format, tzinfo=get_timezone(), locale=formatting_locale())


def time_of_day(moment: datetime) -> str:
    """ "14:05" in the school's time zone (naive datetimes are UTC, as the clock gives them)."""
    return time_format(moment, "HH:mm")


def duration(span: timedelta) -> str:
    """How long a link lives, in the reader's language: "1 hour", "1 nädal", "1 день"."""
    return dates.format_timedelta(span, locale=formatting_locale())


def register(app: Flask) -> None:
    app.context_processor(_template_globals)
    app.after_request(_vary_on_htmx)
    # The same names as Flask-Babel's filters, which they replace: those would write English the
    # American way ("December 4", "3:14 AM").
    app.add_template_filter(date_format, "dateformat")
    app.add_template_filter(datetime_format, "datetimeformat")
    app.add_template_filter(time_format, "timeformat")
    app.add_template_filter(time_of_day)
    app.add_template_filter(duration)


def form_error_status(form) -> int:
    """200 for a form shown or re-shown to htmx (htmx 2 swaps no 4xx), 422 for a page with errors."""
    if not form.errors or is_htmx_fragment_request():
        return 200
    return 422


def external_url(endpoint: str, **values) -> str:
    """A link for an e-mail: built from BASE_URL, never from the request's Host header, and the same
    in a request and in the sender (which has none)."""
    path = current_app.url_map.bind("base-url.invalid").build(endpoint, values)
    return current_app.config["BASE_URL"] + path


def local_path(target: str | None) -> str:
    """Only a path on this site (a referrer may name this host): an open redirect would let phishing
    mail borrow our name."""
    parts = urlsplit(target or "/")
    path = parts.path
    if (
        parts.netloc not in ("", request.host)
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
    ):
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")
