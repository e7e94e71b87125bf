"""A parent without ID-card applies for an account: e-mail and child's code, the e-mailed link, the form."""

from flask import Blueprint

bp = Blueprint("apply", __name__, url_prefix="/taotlus")

from webapp.apply import views  # noqa: E402,F401 - registers the routes on bp
