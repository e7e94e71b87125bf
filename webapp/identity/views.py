import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, session, url_for
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.identity import bp
from webapp.identity.forms import ConfirmForm, IdCardForm, PersonalCodeForm
from webapp.identity.providers import PROVIDERS, Challenge, IdentityFailed
from webapp.limits import client, limit, typed
from webapp.models import Parent
from webapp.rendering import form_error_status, render_page
from webapp.sessions import start_session

CHALLENGE_KEY = "identity_challenge"
FORMS = {"smart_id": PersonalCodeForm, "id_card": IdCardForm}
SLUGS = {"smart-id": "smart_id", "id-kaart": "id_card"}


def _provider(slug: str):
    if not current_app.config["IDENTITY_DEMO"] or slug not in SLUGS:
        abort(404)
    return PROVIDERS[SLUGS[slug]]


def _log_in(personal_code: str):
    """The school knows this parent (roster or account): logged in. Otherwise, say so and show the way."""
    session.pop(CHALLENGE_KEY, None)
    parent = db.session.scalar(sa.select(Parent).where(Parent.personal_code == personal_code))
    if parent is None:
        return render_page("identity/unknown.html"), 404
    start_session(parent, "identity")
    db.session.commit()
    flash(_("You are logged in. Check your e-mail address in your profile."))
    return redirect(url_for("profile.show"), 303)


@bp.route("/<slug>", methods=["GET", "POST"])
@limit("LOGIN_PER_CLIENT_LIMIT", client, methods=["POST"])
@limit("LOGIN_PER_ACCOUNT_LIMIT", typed("personal_code"), methods=["POST"])
def start(slug: str):
    provider = _provider(slug)
    form = FORMS[provider.name]()
    if form.validate_on_submit():
        challenge = provider.start(form.personal_code.data)
        if provider.name == "id_card":
            try:
                return _log_in(provider.finish(challenge, pin=form.pin.data))
            except IdentityFailed:
                form.pin.errors.append(_("The PIN is not right. PIN1 has 4 to 12 digits."))
        else:
            session[CHALLENGE_KEY] = challenge.as_session()
            return render_page(
                "identity/smart_id_code.html", challenge=challenge, form=ConfirmForm(), slug=slug
            )
    return render_page("identity/start.html", form=form, provider=provider, slug=slug), form_error_status(
        form
    )


@bp.post("/<slug>/kinnita")
@limit("LOGIN_PER_CLIENT_LIMIT", client)
def confirm(slug: str):
    """Smart-ID: the parent confirmed on the phone (in the demo: pressed the button)."""
    provider = _provider(slug)
    stored = session.get(CHALLENGE_KEY)
    if not ConfirmForm().validate_on_submit() or not stored or stored.get("provider") != provider.name:
        return redirect(url_for("identity.start", slug=slug), 303)
    return _log_in(provider.finish(Challenge(**stored)))
