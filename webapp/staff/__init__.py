"""The school's side: staff login, the review queue, decisions, class views."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/kool")

from webapp.staff import views  # noqa: E402,F401 - registers the routes on bp
