"""The trainer's page (demo mode only): the guide's steps, each participant's progress, approving
their applications, the dev mailbox's presets per participant, and resetting the demo in one step."""

from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/koolitus")

from webapp.training import views  # noqa: E402,F401 - registers the routes on bp
