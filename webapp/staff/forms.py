from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from webapp.auth.forms import LoginForm
from webapp.forms import REQUIRED, TOO_LONG


class StaffLoginForm(LoginForm):
    """Staff log in with e-mail and password, on their own page."""


class DecisionForm(FlaskForm):
    """Approve: nothing to fill in; the CSRF token is the form."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the parent will read it)"),
        validators=[DataRequired(REQUIRED), Length(max=1000, message=TOO_LONG)],
    )
