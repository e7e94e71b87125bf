"""The public pages: the login page, the way to a new account, help, and the language switch."""

from flask import Blueprint

bp = Blueprint("home", __name__)

from webapp.home import views  # noqa: E402,F401 - registers the routes on bp
