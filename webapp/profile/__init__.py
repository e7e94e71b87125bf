"""Sinu profiil: the parent's data and children, and Muuda profiili: a new password."""

from flask import Blueprint

bp = Blueprint("profile", __name__, url_prefix="/profiil")

from webapp.profile import views  # noqa: E402,F401 - registers the routes on bp
