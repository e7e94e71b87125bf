from collections.abc import Callable
from datetime import date

from flask import abort, flash, redirect, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from webapp import changes, credentials
from webapp.access import (
    can_change_parent_email,
    can_see_application,
    can_see_class,
    staff_required,
    visible_applications,
    visible_classes,
)
from webapp.accounts import password_login
from webapp.apply.forms import RELATION_LABELS
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.limits import client, limit, typed
from webapp.mailed_links import send_after_correction
from webapp.models import Application, ApplicationStatus, Parent, SchoolClass, Staff, Student
from webapp.rendering import form_error_status, is_htmx_fragment_request, render_page
from webapp.sessions import start_session
from webapp.staff import bounces, bp, decisions
from webapp.staff.forms import (
    CorrectEmailForm,
    DecisionForm,
    ParentForm,
    RejectForm,
    StaffLoginForm,
    StudentForm,
)
from webapp.working_days import ANSWER_WITHIN, school_date, working_days_between


@bp.route("/sisene", methods=["GET", "POST"])
@limit("LOGIN_PER_CLIENT_LIMIT", client, methods=["POST"])
@limit("LOGIN_PER_ACCOUNT_LIMIT", typed("email"), methods=["POST"])
def login():
    form = StaffLoginForm()
    if form.validate_on_submit() and (staff := password_login(Staff, form)):
        staff.locale = str(get_locale())  # the language of the login page stays after login
        start_session(staff, "password")
        db.session.commit()
        return redirect(url_for(staff.home_endpoint), 303)
    return render_page("staff/login.html", form=form), form_error_status(form)


def _age(application: Application, today: date) -> int:
    """Working days since the application came in (Estonian public holidays do not count)."""
    return working_days_between(school_date(application.submitted_at), today)


@bp.get("/")
@staff_required
def queue():
    """Pending applications, oldest first, each with its age in working days."""
    return _queue_page()


def _queue_page(failed_correction: tuple[int, CorrectEmailForm] | None = None):
    pending = db.session.scalars(
        visible_applications(current_user)
        .where(Application.status == ApplicationStatus.PENDING)
        .order_by(Application.submitted_at, Application.id)
    ).all()
    today = school_date(utcnow())
    bounced = bounces.bounced_addresses()
    rows = [
        (application, _age(application, today), bounced.get(application.email)) for application in pending
    ]
    bounced_mail = bounces.open_bounces(current_user)
    forms = {bounce.message.id: CorrectEmailForm(formdata=None) for bounce in bounced_mail}
    if failed_correction:
        forms[failed_correction[0]] = failed_correction[1]
    return render_page(
        "staff/queue.html",
        rows=rows,
        bounces=bounced_mail,
        correction_forms=forms,
        classes=db.session.scalars(visible_classes(current_user)).all(),
        overdue_after=ANSWER_WITHIN,
    ), 422 if failed_correction else 200


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
        "bounce_reply": bounces.bounced_addresses().get(application.email),
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


def _decide(application: Application, decide: Callable[[], object]):
    """Run a decision; answer with the decision fragment (htmx) or back to the page (no script)."""
    try:
        decide()
    except decisions.DecisionRefused as refusal:
        db.session.rollback()
        return _detail(application, error=str(refusal)), 200 if is_htmx_fragment_request() else 409
    db.session.commit()
    if is_htmx_fragment_request():
        return _detail(application)
    return redirect(url_for("staff.application", application_id=application.id), 303)


@bp.post("/taotlus/<int:application_id>/kinnita")
@staff_required
def approve(application_id: int):
    application = _application(application_id)
    if not DecisionForm().validate_on_submit():
        abort(400)
    return _decide(application, lambda: decisions.approve(application, current_user))


@bp.post("/taotlus/<int:application_id>/keeldu")
@staff_required
def reject(application_id: int):
    application = _application(application_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _detail(application, reject_form=form), form_error_status(form)
    return _decide(application, lambda: decisions.reject(application, current_user, form.reason.data))


@bp.get("/klass/<int:class_id>")
@staff_required
def school_class(class_id: int):
    """A class: its children and their parents (a class teacher sees only their own classes)."""
    found = db.session.get(SchoolClass, class_id)
    if found is None:
        abort(404)
    if not can_see_class(current_user, found):
        abort(403)
    return render_page("staff/class.html", school_class=found, bounced=bounces.bounced_addresses())


@bp.post("/tagasiporge/<int:message_id>")
@staff_required
def correct_bounce(message_id: int):
    """A bounced e-mail: correct the address; a fresh link goes there and the old one dies."""
    bounce = bounces.find(current_user, message_id)
    if bounce is None:
        abort(404)
    form = CorrectEmailForm()
    if form.validate_on_submit():
        try:
            if bounce.parent is not None and not can_change_parent_email(current_user, bounce.parent):
                raise changes.AdminOnly
            bounces.correct_and_resend(bounce, form.email.data, current_user)
        except changes.Refused as refused:
            db.session.rollback()
            form.email.errors.append(str(refused.message))
        else:
            db.session.commit()
            flash(_("A fresh link was sent to %(email)s.", email=form.email.data))
            return redirect(url_for("staff.queue"), 303)
    return _queue_page(failed_correction=(message_id, form))


def _class_member(class_id: int, model, member_id: int):
    """A parent or student of a class the staff member may see; 404 for anything else."""
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None:
        abort(404)
    if not can_see_class(current_user, school_class):
        abort(403)
    member = db.session.get(model, member_id)
    in_class = member is not None and (
        member.class_id == class_id
        if isinstance(member, Student)
        else any(child.class_id == class_id for child in member.children)
    )
    if not in_class:
        abort(404)
    return school_class, member


@bp.route("/klass/<int:class_id>/vanem/<int:parent_id>", methods=["GET", "POST"])
@staff_required
def edit_parent(class_id: int, parent_id: int):
    """The class teacher corrects a parent's data; a new e-mail address gets a fresh login link."""
    school_class, parent = _class_member(class_id, Parent, parent_id)
    form = ParentForm(obj=parent)
    if form.validate_on_submit():
        new_email = form.email.data != parent.email
        try:
            if new_email and not can_change_parent_email(current_user, parent):
                raise changes.AdminOnly
            if new_email:
                credentials.change_email(parent, form.email.data, staff=current_user)
        except changes.Refused as refused:
            db.session.rollback()
            form.email.errors.append(str(refused.message))
        else:
            values = {
                "first_name": form.first_name.data,
                "last_name": form.last_name.data,
                "phone": form.phone.data or None,
            }
            changes.update(parent, values, current_user)
            if new_email:
                send_after_correction(parent)
                flash(_("Saved. A fresh login link was sent to %(email)s.", email=parent.email))
            else:
                flash(_("Saved."))
            db.session.commit()
            return redirect(url_for("staff.school_class", class_id=class_id), 303)
    return _edit_page(form, school_class, parent, changes.history(parent=parent))


@bp.route("/klass/<int:class_id>/opilane/<int:student_id>", methods=["GET", "POST"])
@staff_required
def edit_student(class_id: int, student_id: int):
    school_class, student = _class_member(class_id, Student, student_id)
    form = StudentForm(obj=student)
    if form.validate_on_submit():
        changes.update(
            student, {"first_name": form.first_name.data, "last_name": form.last_name.data}, current_user
        )
        db.session.commit()
        flash(_("Saved."))
        return redirect(url_for("staff.school_class", class_id=class_id), 303)
    return _edit_page(form, school_class, student, changes.history(student=student))


def _edit_page(form, school_class: SchoolClass, member: Parent | Student, history: list):
    page = render_page(
        "staff/edit_member.html",
        form=form,
        school_class=school_class,
        member=member,
        history=history,
        field_labels=changes.FIELD_LABELS,
    )
    return page, form_error_status(form)
