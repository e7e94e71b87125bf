"""Rendering pages and htmx fragments, and what every template can use."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, render_template, request
from flask_babel import format_time, format_timedelta, get_locale
from jinja2_fragments.flask import render_block

from webapp.i18n import LANGUAGE_NAMES


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


def time_of_day(moment: datetime) -> str:
    """ "14:05" in the school's time zone (naive datetimes are UTC, as the clock gives them)."""
    return format_time(moment, "HH:mm")


def duration(span: timedelta) -> str:
    """How long a link lives, in the reader's language: "1 hour", "1 nädal", "1 день"."""
    return format_timedelta(span)


def register(app: Flask) -> None:
    app.context_processor(_template_globals)
    app.after_request(_vary_on_htmx)
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
