import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp import demo_mailbox, email_typos, link_requests, tokens
from webapp.apply import bp
from webapp.apply.forms import ApplicationForm, ResendForm, StartForm
from webapp.clock import utcnow
from webapp.config import is_demo
from webapp.extensions import db
from webapp.limits import client, limit, typed
from webapp.mailed_links import send_application_link
from webapp.models import Application, LinkRequestKind
from webapp.outbox import send_email
from webapp.rendering import form_error_status, render_page, same_for_every_new_visitor
from webapp.working_days import answer_due

SUBMITTED_KEY = "submitted_application"
FORMS = {"start": StartForm, "application": ApplicationForm}


@bp.route("/", methods=["GET", "POST"])
@limit("APPLY_PER_CLIENT_LIMIT", client, methods=["POST"])
@same_for_every_new_visitor
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
            locale = str(get_locale())
            if link_requests.record(LinkRequestKind.APPLY, email, locale, processed=True):
                send_application_link(email, form.child_personal_code.data, locale)
            db.session.commit()
            link_requests.remember(email)
            return redirect(url_for("apply.check_email"), 303)
    demo_address = None
    if is_demo(current_app.config):
        # A room of parents uses invented addresses: one is offered, nothing leaves the machine.
        demo_address = demo_mailbox.invented_address()
        if request.method == "GET" and not form.email.data:
            form.email.data = demo_address
    status = form_error_status(form)
    page = render_page(
        "apply/start.html", block="form", form=form, suggestion=suggestion, demo_address=demo_address
    )
    return page, status


@bp.post("/kontrolli/<form_name>/<field_name>")
def validate_field(form_name: str, field_name: str):
    """htmx: check one field as it loses focus and answer with that field alone."""
    form_class = FORMS.get(form_name)
    if form_class is None:
        abort(404)
    form = form_class()
    if field_name not in form._fields or field_name == "csrf_token":
        abort(404)
    form.validate()
    field = form[field_name]
    typo_guarded = field_name == "email"  # step 1's address: a suggestion may stand under it
    suggestion = email_typos.suggest(field.data) if typo_guarded and not field.errors else None
    return render_page(
        "_field.html",
        field=field,
        validate_url=request.path,
        typo_guarded=typo_guarded,
        suggestion=suggestion,
        form=form,
        # The error summary after a submit holds this hidden input: then the answer updates the summary too.
        summary_shown=request.form.get("error_summary") == "shown",
    )


@bp.get("/saadetud")
def check_email():
    return _check_email_page(ResendForm(email=link_requests.last_requested()))


def _check_email_page(resend_form: ResendForm):
    email = link_requests.last_requested()
    # Demo mode: the participant's own view of the dev mailbox, for the address they typed.
    demo_view = demo_mailbox.personal_view_url(email) if email and is_demo(current_app.config) else None
    page = render_page(
        "apply/check_email.html",
        resend_form=resend_form,
        demo_mailbox_url=demo_view,
        **link_requests.cap_notice(),
    )
    return page, form_error_status(resend_form)


@bp.post("/saada-uuesti")
@limit("LINK_REQUEST_PER_CLIENT_LIMIT", client)
@limit("LINK_REQUEST_PER_ADDRESS_LIMIT", typed("email"))
def resend():
    """I didn't get the e-mail: from the check-your-mail page and the help page. Recorded the same
    way for any address; the sender decides what, if anything, to send."""
    form = ResendForm()
    if not form.validate_on_submit():
        return _check_email_page(form)
    link_requests.record(LinkRequestKind.SEND_AGAIN, form.email.data, str(get_locale()))
    db.session.commit()
    link_requests.remember(form.email.data)
    flash(_("If we have something for %(email)s, a new e-mail is on its way.", email=form.email.data))
    return redirect(url_for("apply.check_email"), 303)


@bp.route("/vorm/<token>", methods=["GET", "POST"])
def application_form(token: str):
    """The link from the e-mail. GET only shows the form: mail scanners fetch links too."""
    try:
        link = tokens.check(tokens.Purpose.APPLY, token)
        form = ApplicationForm()
        if not form.validate_on_submit():
            return render_page("apply/form.html", block="form", form=form, link=link), form_error_status(form)
        link = tokens.redeem(tokens.Purpose.APPLY, token)
    except tokens.LinkUnusable as unusable:
        submitted = _submitted_with(unusable)
        if submitted is None:
            raise
        # The same link sent twice (a double click): the first submission's VALMIS, never a second one.
        session[SUBMITTED_KEY] = submitted.id
        return redirect(url_for("apply.done"), 303)
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
    send_email(
        application.email,
        "application_received",
        _l("We received your application"),
        application.locale,
        application=application,
        answer_by=answer_due(application.consent_given_at),
    )
    db.session.commit()  # the application and its receipt, together
    session[SUBMITTED_KEY] = application.id
    return redirect(url_for("apply.done"), 303)


def _submitted_with(unusable: tokens.LinkUnusable) -> Application | None:
    if unusable.state is not tokens.TokenState.USED:
        return None
    return db.session.scalar(sa.select(Application).filter_by(link_token_id=unusable.link.id))


@bp.get("/valmis")
def done():
    """VALMIS! What happens next, and by when the school should answer."""
    application = db.session.get(Application, session.get(SUBMITTED_KEY) or 0)
    if application is None:
        return redirect(url_for("apply.start"), 303)
    return render_page("apply/done.html", answer_by=answer_due(application.submitted_at))
