from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from webapp.forms import REQUIRED, TOO_LONG, valid_personal_code


class PersonalCodeForm(FlaskForm):
    personal_code = StringField(
        _l("Your personal code (isikukood)"),
        validators=[DataRequired(REQUIRED), Length(max=40, message=TOO_LONG), valid_personal_code],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class IdCardForm(PersonalCodeForm):
    pin = PasswordField(
        _l("PIN1"),
        validators=[DataRequired(REQUIRED), Length(max=12, message=TOO_LONG)],
        description=_l("Demo: any 4 to 12 digits."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class ConfirmForm(FlaskForm):
    """Smart-ID: "I have confirmed on my phone" (in the demo, this button is the phone)."""
