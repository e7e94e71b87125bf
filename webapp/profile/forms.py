from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import PasswordInput

from webapp.forms import REQUIRED, TOO_LONG, email_field
from webapp.passwords import MAX_LENGTH


def current_password_field(field_id: str) -> PasswordField:
    """Asked for before a secret changes, once the account has a password (the view decides)."""
    return PasswordField(
        _l("Your current password"),
        id=field_id,
        validators=[Length(max=MAX_LENGTH, message=TOO_LONG)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):
    """Muuda profiili: the new password twice. The rules, the two being the same included, are checked in
    the view with the parent's name (passwords.check), so that every failing rule is shown at once.
    InputRequired, not DataRequired: spaces are characters of a password, and get their own message.
    After a failed Salvesta the new password stays in both fields (the page is served no-store): only the
    current password is asked for again."""

    current_password = current_password_field("current_password")
    new_password = PasswordField(
        _l("New password"),
        validators=[InputRequired(REQUIRED)],
        description=_l("At least 10 characters. Not a common password, and not your own name."),
        widget=PasswordInput(hide_value=False),
        render_kw={"autocomplete": "new-password"},
    )
    repeat_password = PasswordField(
        _l("New password again"),
        validators=[InputRequired(REQUIRED)],
        widget=PasswordInput(hide_value=False),
        render_kw={"autocomplete": "new-password"},
    )


class EmailChangeForm(FlaskForm):
    email = email_field(_l("New e-mail address"))
    current_password = current_password_field("email-current-password")


class LinkButtonForm(FlaskForm):
    """The button on a page an e-mailed link opens (a GET must not change anything)."""
