"""Logging in: password, an e-mailed login link (no password needed), logging out."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import views  # noqa: E402,F401 - registers the routes on bp
