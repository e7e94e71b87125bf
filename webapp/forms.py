"""Validators shared by the features' forms; every message is in the user's language."""

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, Field, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from webapp import isikukood
from webapp.models import EMAIL_LENGTH, NAME_LENGTH

REQUIRED = _l("This field is required.")
TOO_LONG = _l("At most %(max)d characters, please.")

PERSONAL_CODE_MESSAGES = {
    isikukood.Problem.FORMAT: _l("A personal code has only digits."),
    isikukood.Problem.LENGTH: _l("A personal code has exactly 11 digits."),
    isikukood.Problem.BIRTH_DATE: _l(
        "The first seven digits do not make a real date of birth. Please check the code."
    ),
    isikukood.Problem.CHECKSUM: _l(
        "The last digit (check digit) does not match. Please check the code for a typo."
    ),
    isikukood.Problem.FUTURE: _l("This date of birth is in the future. Please check the code."),
    isikukood.Problem.TOO_YOUNG: _l("This child is too young for school. Please check the code."),
    isikukood.Problem.TOO_OLD: _l(
        "This is not the personal code of a school child. Please enter your child's code."
    ),
}


def normalised_text(value):
    """What is compared with the roster is stored as one form: compatibility characters folded (NFKC),
    white space trimmed and single."""
    return " ".join(unicodedata.normalize("NFKC", value).split()) if isinstance(value, str) else value


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def free_text(value):
    """A message or a reason: control characters dropped (PostgreSQL refuses NUL in text), lines kept."""
    return _CONTROL_CHARACTERS.sub("", value).strip() if isinstance(value, str) else value


_NAME = re.compile(r"[^\W\d_]+(?:[ '’.-]+[^\W\d_]+)*\.?")


def valid_email(_form, field: Field) -> None:
    """Syntax only: no DNS look-up, so a slow resolver never slows a parent down."""
    try:
        # Stored in lower case: people type their address differently each time.
        field.data = validate_email(field.data, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError(
            _l("This is not a valid e-mail address. It should look like name@example.ee.")
        ) from None


def email_field(label) -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired(REQUIRED),
            Length(max=EMAIL_LENGTH, message=TOO_LONG),
            valid_email,
        ],
        filters=[normalised_text],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


def valid_child_code(_form, field: Field) -> None:
    try:
        field.data = isikukood.check_child(field.data)
    except isikukood.InvalidPersonalCode as error:
        raise ValidationError(PERSONAL_CODE_MESSAGES[error.problem]) from None


def valid_personal_code(_form, field: Field) -> None:
    """Anyone's code, an adult's included."""
    try:
        field.data = isikukood.check(field.data)
    except isikukood.InvalidPersonalCode as error:
        raise ValidationError(PERSONAL_CODE_MESSAGES[error.problem]) from None


def name_field(label, autocomplete: str, description: str = "") -> StringField:
    return StringField(
        label,
        description=description,
        validators=[DataRequired(REQUIRED), Length(max=NAME_LENGTH, message=TOO_LONG), valid_name],
        filters=[normalised_text],
        render_kw={"autocomplete": autocomplete},
    )


def valid_name(_form, field: Field) -> None:
    if field.data and not _NAME.fullmatch(field.data):
        raise ValidationError(_l("Use letters only; spaces, hyphens and apostrophes are allowed."))


def phone_field(label) -> StringField:
    return StringField(
        label,
        validators=[
            Optional(),
            Length(max=30, message=TOO_LONG),
            Regexp(r"^\+?[0-9 ()-]{5,30}$", message=_l("Use digits only, with an optional + at the start.")),
        ],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
