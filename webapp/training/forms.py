from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

from webapp.demo_mailbox import Preset

CLEAR = "clear"


class ActionForm(FlaskForm):
    """A button that changes something: the CSRF token and nothing else."""


class PresetForm(FlaskForm):
    """One participant's preset: the address, and which button was pressed (or "clear")."""

    email = HiddenField(validators=[DataRequired()])
    preset = HiddenField(validators=[AnyOf([*Preset, CLEAR])])
