from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import demo, demo_mailbox
from webapp.access import trainer_required
from webapp.demo_address import qr_svg_data_uri
from webapp.demo_mailbox import MailboxUnavailable, Preset
from webapp.extensions import db
from webapp.models import Application
from webapp.rendering import local_path, render_page
from webapp.staff import decisions
from webapp.training import bp, progress
from webapp.training.forms import CLEAR, ActionForm, PresetForm

PRESENTATION_COOKIE = "presentation"
ONE_DAY = 24 * 3600


@bp.app_context_processor
def _presentation() -> dict:
    """Every page of the portal in the larger "presentation" size, for the projector (demo mode)."""
    return {"presentation": request.cookies.get(PRESENTATION_COOKIE) == "1"}


def _preset_labels() -> dict[str, str]:
    return {
        Preset.SPAM: _("Next e-mail to spam"),
        Preset.LOST: _("Next e-mail lost"),
        Preset.REFUSED: _("Address refused (550)"),
        Preset.LATE: _("Delivered late"),
    }


@bp.get("/")
@trainer_required
def index():
    participants = progress.participants()
    try:
        rules = demo_mailbox.rules()
        mailbox_answers = True
    except MailboxUnavailable:
        rules, mailbox_answers = [], False
    for participant in participants:
        participant.scenario = demo_mailbox.scenario_of(rules, participant.email)
    join_url = current_app.config["BASE_URL"] + "/"
    return render_page(
        "training/index.html",
        block="participants",
        participants=participants,
        mailbox_answers=mailbox_answers,
        personal_view_url=demo_mailbox.personal_view_url,
        preset_labels=_preset_labels(),
        join_url=join_url,
        join_qr=qr_svg_data_uri(join_url),
        children=demo.demo_children(),
        form=ActionForm(),
    )


def _checked(form) -> None:
    if not form.validate_on_submit():
        abort(400)


def _back():
    return redirect(url_for("training.index"), 303)


@bp.post("/taotlus/<int:application_id>/kinnita")
@trainer_required
def approve(application_id: int):
    """The trainer plays the school: the same approval as staff's (account, login link e-mailed)."""
    _checked(ActionForm())
    application = db.session.get(Application, application_id)
    if application is None or not progress.is_participant(application.email):
        abort(404)
    try:
        decisions.approve(application, current_user)
    except decisions.DecisionRefused as refusal:
        db.session.rollback()
        flash(str(refusal))
    else:
        db.session.commit()
        flash(_("Approved: the login link is on its way to %(email)s.", email=application.email))
    return _back()


@bp.post("/stsenaarium")
@trainer_required
def preset():
    form = PresetForm()
    _checked(form)
    email = form.email.data.strip().lower()
    if not progress.is_participant(email):
        abort(404)
    try:
        if form.preset.data == CLEAR:
            demo_mailbox.clear_preset(email)
            flash(_("E-mail to %(email)s is delivered as usual again.", email=email))
        else:
            demo_mailbox.set_preset(email, Preset(form.preset.data))
            flash(_("%(scenario)s: %(email)s.", scenario=_preset_labels()[form.preset.data], email=email))
    except MailboxUnavailable:
        flash(_("The dev mailbox does not answer: nothing was changed."))
    return _back()


@bp.post("/stsenaariumid/tuhjenda")
@trainer_required
def clear_scenarios():
    _checked(ActionForm())
    try:
        demo_mailbox.clear_scenarios()
    except MailboxUnavailable:
        flash(_("The dev mailbox does not answer: nothing was changed."))
    else:
        flash(_("All scenarios cleared: every e-mail is delivered."))
    return _back()


@bp.post("/algusesse")
@trainer_required
def reset():
    """Everything the participants did is gone: in the portal, then in the dev mailbox."""
    _checked(ActionForm())
    demo.reset()
    db.session.commit()
    try:
        demo_mailbox.clear_everything()
    except MailboxUnavailable:
        flash(
            _(
                "The portal was reset, but the dev mailbox does not answer: its e-mail and scenarios"
                " are still there. Press the button again once it is running."
            )
        )
    else:
        flash(_("The demo was reset: no participants, no e-mail, the demo school as at the start."))
    return _back()


@bp.post("/esitlus")
@trainer_required
def presentation():
    """Switch the presentation size on or off (a cookie: it is this browser's, for the projector)."""
    _checked(ActionForm())
    response = redirect(local_path(request.form.get("next") or url_for("training.index")), 303)
    if request.cookies.get(PRESENTATION_COOKIE) == "1":
        response.delete_cookie(PRESENTATION_COOKIE)
    else:
        response.set_cookie(PRESENTATION_COOKIE, "1", max_age=ONE_DAY, httponly=True, samesite="Lax")
    return response
