from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from webapp.auth.forms import LoginForm
from webapp.forms import REQUIRED, TOO_LONG, email_field, free_text, name_field, phone_field


class StaffLoginForm(LoginForm):
    """Staff log in with e-mail and password, on their own page."""


class DecisionForm(FlaskForm):
    """Approve: nothing to fill in; the CSRF token is the form."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the parent will read it)"),
        validators=[DataRequired(REQUIRED), Length(max=1000, message=TOO_LONG)],
        filters=[free_text],
    )


class CorrectEmailForm(FlaskForm):
    """A bounced e-mail: the right address, and a fresh link goes to it."""

    email = email_field(_l("Correct e-mail address"))


class ParentForm(FlaskForm):
    first_name = name_field(_l("First name"), "off")
    last_name = name_field(_l("Last name"), "off")
    email = email_field(_l("E-mail address"))
    phone = phone_field(_l("Phone (optional)"))


class StudentForm(FlaskForm):
    first_name = name_field(_l("First name"), "off")
    last_name = name_field(_l("Last name"), "off")
