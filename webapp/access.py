"""Who may open what: parents their own profile, staff the school's side, teachers only their classes."""

from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.models import Application, Parent, SchoolClass, Staff, Student


def _only(kind: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if current_user.kind != kind:
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorator


parent_required = _only("parent")
staff_required = _only("staff")


def trainer_required(view: Callable) -> Callable:
    """The trainer's page (demo mode): a staff account with the trainer role."""

    @wraps(view)
    @staff_required
    def guarded(*args, **kwargs):
        if not current_user.is_trainer:
            abort(403)
        return view(*args, **kwargs)

    return guarded


def visible_classes(staff: Staff) -> sa.Select:
    """The classes a staff member may see: all for an admin, their own for a class teacher."""
    query = sa.select(SchoolClass).order_by(SchoolClass.name)
    return query if staff.is_admin else query.where(SchoolClass.teacher_id == staff.id)


def can_see_class(staff: Staff, school_class: SchoolClass) -> bool:
    return staff.is_admin or school_class.teacher_id == staff.id


def can_see_application(staff: Staff, application: Application) -> bool:
    """A teacher sees the applications for children of their classes; a child not in the roster is
    the administrator's to look into."""
    if staff.is_admin:
        return True
    teacher_id = db.session.scalar(
        sa.select(SchoolClass.teacher_id)
        .join(Student, Student.class_id == SchoolClass.id)
        .where(Student.personal_code == application.child_personal_code)
    )
    return teacher_id == staff.id


def visible_applications(staff: Staff) -> sa.Select:
    query = sa.select(Application)
    if staff.is_admin:
        return query
    own_children = (
        sa.select(Student.personal_code)
        .join(SchoolClass, Student.class_id == SchoolClass.id)
        .where(SchoolClass.teacher_id == staff.id)
    )
    return query.where(Application.child_personal_code.in_(own_children))


def can_change_parent_email(staff: Staff, parent: Parent) -> bool:
    """A class teacher may correct the address of a parent who has never logged in and whose children
    are all in the teacher's classes; anything else is the administrator's: an address is the key to
    an account, and to every child on it."""
    if staff.is_admin:
        return True
    if parent.last_login_at is not None:
        return False
    return all(can_see_class(staff, child.school_class) for child in parent.children)
