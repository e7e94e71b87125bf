"""Security headers on every response."""

from flask import Flask, Response, abort, current_app, request

from webapp.config import is_production

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Links carry secret tokens in their path: never leak them to another site.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if is_production(current_app.config):
        # Production runs on HTTPS only (doctor checks BASE_URL): browsers never try plain HTTP again.
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    return response


def _refuse_uploads() -> None:
    """No form of the portal takes a file: an upload is a mistake or an attack, never a field's value."""
    if request.files:
        abort(400)


def register(app: Flask) -> None:
    app.before_request(_refuse_uploads)
    app.after_request(_add_headers)
