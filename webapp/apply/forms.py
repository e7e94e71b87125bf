from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from webapp.forms import (
    REQUIRED,
    TOO_LONG,
    email_field,
    free_text,
    name_field,
    phone_field,
    valid_child_code,
)

RELATIONS = [
    SelectChoice("ema", _l("mother")),
    SelectChoice("isa", _l("father")),
    SelectChoice("eestkostja", _l("guardian")),
    SelectChoice("muu", _l("other")),
]
RELATION_LABELS = {choice.value: choice.label for choice in RELATIONS}
# The roster has the names as the Estonian population register writes them, in Latin letters.
AS_ON_THE_ID = _l(
    "As on the child's Estonian ID card or passport, in Latin letters (e.g. Artjom, not Артём)."
)


class StartForm(FlaskForm):
    """Step 1: the parent's e-mail and the child's personal code."""

    email = email_field(_l("Your e-mail address"))
    child_personal_code = StringField(
        _l("Child's personal code (isikukood)"),
        validators=[DataRequired(REQUIRED), Length(max=40, message=TOO_LONG), valid_child_code],
        description=_l("11 digits, for example 51203150123. You find it on the child's ID card or passport."),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )


class ApplicationForm(FlaskForm):
    """Step 2: who the parent is; the e-mail and the child's code come from the link."""

    parent_first_name = name_field(_l("Your first name"), "given-name")
    parent_last_name = name_field(_l("Your last name"), "family-name")
    phone = phone_field(_l("Phone (optional)"))
    relation = RadioField(
        _l("Your relation to the child"),
        choices=RELATIONS,
        validate_choice=False,  # AnyOf below says it in the user's language
        validators=[
            DataRequired(_l("Please choose one.")),
            AnyOf([choice.value for choice in RELATIONS], message=_l("Please choose one.")),
        ],
    )
    child_first_name = name_field(_l("Child's first name"), "off", description=AS_ON_THE_ID)
    child_last_name = name_field(_l("Child's last name"), "off", description=AS_ON_THE_ID)
    message = TextAreaField(
        _l("Message to the school (optional)"),
        validators=[Optional(), Length(max=2000, message=TOO_LONG)],
        filters=[free_text],
    )
    consent = BooleanField(
        _l("I agree that the school processes these data to create my account."),
        validators=[DataRequired(_l("Without your consent the school cannot process the application."))],
    )


class ResendForm(FlaskForm):
    """I didn't get the e-mail: the address to send it to again."""

    email = email_field(_l("Your e-mail address"))
