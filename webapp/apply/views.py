import sqlalchemy as sa
from flask import abort, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from webapp import email_typos, tokens
from webapp.apply import bp
from webapp.apply.forms import ApplicationForm, ResendForm, StartForm
from webapp.apply.links import resend as send_again
from webapp.apply.links import send_application_link
from webapp.clock import utcnow
from webapp.extensions import configured_limit, db, limiter
from webapp.models import Application, LinkToken
from webapp.rendering import form_error_status, render_page
from webapp.working_days import answer_due

SUBMITTED_KEY = "submitted_application"
LAST_REQUEST_KEY = "last_link_request"  # the address of step 1, for "send it again"


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(configured_limit("APPLY_RATE_LIMIT"), methods=["POST"])
def start():
    """Esita taotlus sisse logimata: e-mail and child's code → Edasi."""
    form = StartForm()
    suggestion = None
    if form.validate_on_submit():
        email = form.email.data
        suggestion = email_typos.suggest(email)
        if suggestion and request.form.get("use_suggestion") == suggestion:
            email, suggestion = suggestion, None
        elif request.form.get("keep_email") == email:
            suggestion = None
        if suggestion is None:
            send_application_link(email, form.child_personal_code.data, str(get_locale()))
            session[LAST_REQUEST_KEY] = email
            return redirect(url_for("apply.check_email"), 303)
    status = form_error_status(form)
    return render_page("apply/start.html", block="form", form=form, suggestion=suggestion), status


@bp.post("/kontrolli/<form_name>/<field_name>")
def validate_field(form_name: str, field_name: str):
    """htmx: check one field as it loses focus and answer with that field alone."""
    form_class = {"start": StartForm, "application": ApplicationForm}.get(form_name)
    if form_class is None or field_name not in form_class.__dict__:
        abort(404)
    form = form_class()
    form.validate()
    field = form[field_name]
    suggestion = email_typos.suggest(field.data) if field_name == "email" and not field.errors else None
    return render_page("_field.html", field=field, validate_url=request.path, suggestion=suggestion)


@bp.get("/saadetud")
def check_email():
    return render_page("apply/check_email.html", resend_form=ResendForm(email=session.get(LAST_REQUEST_KEY)))


@bp.post("/saada-uuesti")
@limiter.limit(configured_limit("RESEND_RATE_LIMIT"))
def resend():
    """I didn't get the e-mail: from the check-your-mail page and the help page."""
    form = ResendForm()
    if not form.validate_on_submit():
        return render_page("apply/check_email.html", resend_form=form), form_error_status(form)
    send_again(form.email.data)
    session[LAST_REQUEST_KEY] = form.email.data
    flash(_("If we have something for %(email)s, a new e-mail is on its way.", email=form.email.data))
    return redirect(url_for("apply.check_email"), 303)


def _link_problem(state: tokens.TokenState):
    status = 404 if state is tokens.TokenState.UNKNOWN else 410
    return render_page("apply/link_problem.html", state=state.value), status


@bp.route("/vorm/<token>", methods=["GET", "POST"])
def application_form(token: str):
    """The link from the e-mail. GET only shows the form: mail scanners fetch links too."""
    state, link = tokens.find(tokens.Purpose.APPLY, token)
    if state is tokens.TokenState.USED:
        return _already_submitted(link)
    if state is not tokens.TokenState.VALID:
        return _link_problem(state)

    form = ApplicationForm()
    if form.validate_on_submit():
        if not tokens.consume(link):
            # A double click: the other request has committed by now (the update waited for it).
            db.session.rollback()
            return _already_submitted(link)
        application = Application(
            link_token_id=link.id,
            email=link.email,
            child_personal_code=link.child_personal_code,
            locale=str(get_locale()),
            parent_first_name=form.parent_first_name.data,
            parent_last_name=form.parent_last_name.data,
            phone=form.phone.data or None,
            relation=form.relation.data,
            child_first_name=form.child_first_name.data,
            child_last_name=form.child_last_name.data,
            message=form.message.data or None,
            consent_given_at=utcnow(),
        )
        db.session.add(application)
        db.session.commit()
        session[SUBMITTED_KEY] = application.id
        return redirect(url_for("apply.done"), 303)
    return render_page("apply/form.html", block="form", form=form, link=link), form_error_status(form)


def _already_submitted(link: LinkToken):
    """The same link sent twice: show the first submission's VALMIS page, never a second application."""
    submitted = db.session.scalar(sa.select(Application).filter_by(link_token_id=link.id))
    if submitted is None:
        return _link_problem(tokens.TokenState.USED)
    session[SUBMITTED_KEY] = submitted.id
    return redirect(url_for("apply.done"), 303)


@bp.get("/valmis")
def done():
    """VALMIS! What happens next, and by when the school should answer."""
    application = db.session.get(Application, session.get(SUBMITTED_KEY) or 0)
    if application is None:
        return redirect(url_for("apply.start"), 303)
    return render_page("apply/done.html", answer_by=answer_due(application.submitted_at))
