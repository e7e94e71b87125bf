"""Logs: one line per request, with a request id, and no secret in it.

An e-mailed link carries its secret in the path (`/sisene/<token>`), so a request to such a route is
logged by its rule, "/sisene/<token>", never by the path it came with; any other path is logged with
anything shaped like a token masked, and the query string is left out. The same mask covers every
line the portal logs, tracebacks included (Flask names the path of a request that failed).
"""

import logging
import re
import secrets
import time
from urllib.parse import quote

from flask import Flask, request
from flask.logging import default_handler
from werkzeug.wsgi import ClosingIterator

from webapp.errors import DATABASE_UNAVAILABLE

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's request id is taken only when it is a short plain token: anything else could forge log lines.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The route arguments that hold a secret.
SECRET_ARGUMENTS = frozenset({"token"})
# Shaped like a token (ours are 43 random URL-safe characters): 32 or more, capitals and small letters
# mixed. Names in code and hex digests (a token's SHA-256 is no secret) are left alone.
TOKEN_LIKE = re.compile(r"(?<![\w-])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])[\w-]{32,}", re.ASCII)
LONGEST_PATH = 200
ROUTE_KEY = "webapp.secret_route"
LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"

log = logging.getLogger("webapp.request")


class RequestLog:
    """WSGI middleware: gives each request an id (the proxy's, if sane), returns it in X-Request-ID,
    and logs the request once its response has been sent."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if SANE_REQUEST_ID.fullmatch(offered) else secrets.token_hex(8)
        status = "-"

        def start_with_id(status_line: str, headers: list, exc_info=None):
            nonlocal status
            status = status_line.split(" ", 1)[0]
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        def log_request() -> None:
            log.info(
                "request_id=%s method=%s path=%s status=%s duration_ms=%.1f",
                request_id,
                quote(environ.get("REQUEST_METHOD", "-"), safe=""),
                environ.get(ROUTE_KEY) or _loggable_path(environ),
                status,
                (time.perf_counter() - started) * 1000,
            )

        try:
            body = self.wsgi_app(environ, start_with_id)
        except BaseException:
            status = "500"  # the server answers with a bare 500; the line still records the request
            log_request()
            raise
        return ClosingIterator(body, [log_request])


def _loggable_path(environ) -> str:
    # WSGI hands the path over decoded (as latin-1): quoted again, no %0A can start a forged line.
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    quoted = quote(path.encode("latin-1", errors="replace"), safe="/-._~@:+,;=")
    return mask_tokens(quoted)[:LONGEST_PATH]


def mask_tokens(text: str) -> str:
    return TOKEN_LIKE.sub("<redacted>", text)


class _MaskTokens(logging.Filter):
    """The last guard: whatever reached a log line by another way, a token in it is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_tokens(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_tokens(logging.Formatter().formatException(record.exc_info))
        return True


def _note_secret_route(_endpoint: str | None, _values: dict | None) -> None:
    rule = request.url_rule
    if rule is not None and rule.arguments & SECRET_ARGUMENTS:
        request.environ[ROUTE_KEY] = rule.rule


class _OneLineForAnOutage(logging.Filter):
    """Flask logs a failure outside the view (opening the session, which lives in the database) with
    its whole traceback, just before the 503 handler says the same in one line: while the database is
    down, one line a request is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (str(record.msg).startswith("Exception on ") and isinstance(error, DATABASE_UNAVAILABLE))


_MASK_TOKENS = _MaskTokens()
_ONE_LINE_FOR_AN_OUTAGE = _OneLineForAnOutage()


def register(app: Flask) -> None:
    """Log through Flask's handler (stderr, gunicorn's error log) at LOG_LEVEL, the rate limiter's
    lines too (it says when it falls back from Redis to memory, and when Redis is back), and one line
    per request."""
    app.logger.setLevel(app.config["LOG_LEVEL"])  # the first use adds Flask's handler
    default_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    default_handler.addFilter(_ONE_LINE_FOR_AN_OUTAGE)
    default_handler.addFilter(_MASK_TOKENS)
    if default_handler in app.logger.handlers:
        limiter_log = logging.getLogger("flask-limiter")
        limiter_log.setLevel(logging.INFO)
        limiter_log.addHandler(default_handler)
    # Runs first for every matched request, before any before_request (the rate limiter's included).
    app.url_value_preprocessor(_note_secret_route)
    app.wsgi_app = RequestLog(app.wsgi_app)
