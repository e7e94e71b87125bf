from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from webapp.forms import REQUIRED, email_field


class PasswordForm(FlaskForm):
    """Muuda profiili: the new password twice. The rules are checked in the view, with the parent's name.
    InputRequired, not DataRequired: spaces are characters of a password, and get their own message."""

    new_password = PasswordField(
        _l("New password"),
        validators=[InputRequired(REQUIRED)],
        description=_l("At least 10 characters. Not a common password, and not your own name."),
        render_kw={"autocomplete": "new-password"},
    )
    repeat_password = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(REQUIRED),
            EqualTo("new_password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class EmailChangeForm(FlaskForm):
    email = email_field(_l("New e-mail address"))


class ConfirmEmailForm(FlaskForm):
    """The button on the page the confirmation link opens (a GET must not change anything)."""
