"""Approve or reject an application: once, atomically, recorded with who and when (the view commits)."""

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.clock import utcnow
from webapp.extensions import db
from webapp.mailed_links import find_parent, send_login_link
from webapp.models import Application, ApplicationStatus, Parent, Staff, Student
from webapp.outbox import send_email
from webapp.passwords import fold


class DecisionRefused(Exception):
    """Why an application cannot be decided now; the message is for the staff member."""


def roster_student(application: Application) -> Student | None:
    return db.session.scalar(
        sa.select(Student).where(Student.personal_code == application.child_personal_code)
    )


def names_match(application: Application, student: Student) -> bool:
    """Case and diacritics ignored: the school's "Juri" is the parent's "Jüri"."""
    return (fold(application.child_first_name), fold(application.child_last_name)) == (
        fold(student.first_name),
        fold(student.last_name),
    )


def _claim(application: Application, staff: Staff, status: ApplicationStatus, **values) -> None:
    """Move a pending application to `status`; of two staff deciding at once, one wins."""
    result = db.session.execute(
        sa.update(Application)
        .where(Application.id == application.id, Application.status == ApplicationStatus.PENDING)
        .values(status=status, decided_at=utcnow(), decided_by_id=staff.id, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DecisionRefused(_l("This application has already been decided."))
    db.session.refresh(application)


def approve(application: Application, staff: Staff) -> Parent:
    """Create the parent's account (or add the child to the account with this e-mail), e-mail a login link."""
    student = roster_student(application)
    if student is None:
        raise DecisionRefused(
            _l("The child is not in the school's roster. Add the child to the roster first, or reject.")
        )
    _claim(application, staff, ApplicationStatus.APPROVED)
    parent = find_parent(application.email)
    if parent is None:
        parent = Parent(
            email=application.email,
            first_name=application.parent_first_name,
            last_name=application.parent_last_name,
            phone=application.phone,
            locale=application.locale,
        )
        db.session.add(parent)
        db.session.flush()
    if student not in parent.children:
        parent.children.append(student)
    application.parent_id = parent.id
    send_login_link(parent, current_app.config["APPROVAL_LINK_TTL"], child=student)
    return parent


def reject(application: Application, staff: Staff, reason: str) -> None:
    _claim(application, staff, ApplicationStatus.REJECTED, reject_reason=reason)
    send_email(
        application.email,
        "rejected",
        _l("Your application was not approved"),
        application.locale,
        application=application,
        reason=reason,
    )
