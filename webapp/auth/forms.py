from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired, Length

from webapp.forms import REQUIRED, TOO_LONG, email_field
from webapp.passwords import MAX_LENGTH


class LoginForm(FlaskForm):
    email = email_field(_l("E-mail address"))
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(REQUIRED), Length(max=MAX_LENGTH, message=TOO_LONG)],
        render_kw={"autocomplete": "current-password"},
    )


class LoginLinkForm(FlaskForm):
    """ "Send me a login link": the same answer whether or not the address is known."""

    email = email_field(_l("E-mail address"))
