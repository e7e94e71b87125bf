from datetime import date

import sqlalchemy as sa
from flask import abort, current_app, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import passwords
from webapp.access import (
    can_see_application,
    can_see_class,
    staff_required,
    visible_applications,
    visible_classes,
)
from webapp.apply.forms import RELATION_LABELS
from webapp.auth.views import start_session
from webapp.clock import utcnow
from webapp.extensions import db, limiter
from webapp.models import Application, SchoolClass, Staff
from webapp.rendering import form_error_status, is_htmx_fragment_request, render_page
from webapp.staff import bp, decisions
from webapp.staff.forms import DecisionForm, RejectForm, StaffLoginForm
from webapp.working_days import ANSWER_WITHIN, school_date, working_days_between


def _login_rate_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute;100 per day")


@bp.route("/sisene", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    form = StaffLoginForm()
    if form.validate_on_submit():
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == form.email.data))
        if passwords.verify(staff.password_hash if staff else None, form.password.data):
            start_session(staff)
            return redirect(url_for("staff.queue"), 303)
        form.password.errors.append(_("The e-mail address or the password is wrong."))
    return render_page("staff/login.html", form=form), form_error_status(form)


def _age(application: Application, today: date) -> int:
    """Working days since the application came in (Estonian public holidays do not count)."""
    return working_days_between(school_date(application.submitted_at), today)


@bp.get("/")
@staff_required
def queue():
    """Pending applications, oldest first, each with its age in working days."""
    pending = db.session.scalars(
        visible_applications(current_user)
        .where(Application.status == "pending")
        .order_by(Application.submitted_at, Application.id)
    ).all()
    today = school_date(utcnow())
    rows = [(application, _age(application, today)) for application in pending]
    classes = db.session.scalars(visible_classes(current_user)).all()
    return render_page("staff/queue.html", rows=rows, classes=classes, overdue_after=ANSWER_WITHIN)


def _application(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        abort(404)
    if not can_see_application(current_user, application):
        abort(403)
    return application


def _detail(application: Application, error: str | None = None, reject_form: RejectForm | None = None):
    student = decisions.roster_student(application)
    context = {
        "application": application,
        "relation": RELATION_LABELS.get(application.relation, application.relation),
        "student": student,
        "names_match": student is not None and decisions.names_match(application, student),
        "known_parent": decisions.find_parent(application.email),
        "age": _age(application, school_date(utcnow())),
        "overdue_after": ANSWER_WITHIN,
        "approve_form": DecisionForm(),
        "reject_form": reject_form or RejectForm(),
        "error": error,
    }
    return render_page("staff/application.html", block="decision", **context)


@bp.get("/taotlus/<int:application_id>")
@staff_required
def application(application_id: int):
    return _detail(_application(application_id))


def _after_decision(application: Application):
    if is_htmx_fragment_request():
        return _detail(application)
    return redirect(url_for("staff.application", application_id=application.id), 303)


@bp.post("/taotlus/<int:application_id>/kinnita")
@staff_required
def approve(application_id: int):
    application = _application(application_id)
    if not DecisionForm().validate_on_submit():
        abort(400)
    try:
        decisions.approve(application, current_user)
    except decisions.DecisionRefused as refusal:
        return _detail(application, error=str(refusal)), 200 if is_htmx_fragment_request() else 409
    return _after_decision(application)


@bp.post("/taotlus/<int:application_id>/keeldu")
@staff_required
def reject(application_id: int):
    application = _application(application_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _detail(application, reject_form=form), form_error_status(form)
    try:
        decisions.reject(application, current_user, form.reason.data)
    except decisions.DecisionRefused as refusal:
        return _detail(application, error=str(refusal)), 200 if is_htmx_fragment_request() else 409
    return _after_decision(application)


@bp.get("/klass/<int:class_id>")
@staff_required
def school_class(class_id: int):
    """A class: its children and their parents (a class teacher sees only their own classes)."""
    found = db.session.get(SchoolClass, class_id)
    if found is None:
        abort(404)
    if not can_see_class(current_user, found):
        abort(403)
    return render_page("staff/class.html", school_class=found)
