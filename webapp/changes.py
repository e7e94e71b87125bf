"""Changes to parents' and students' data: each recorded with who made it and when."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.models import Change, Parent, Staff, Student

# What each recorded field is called on the page.
FIELD_LABELS = {
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "email": _l("E-mail address"),
    "phone": _l("Phone"),
    "application_email": _l("E-mail address in the application"),
}


class Refused(ValueError):
    """A change that cannot be made; `message` says why, to the person who tried."""

    message = _l("This change cannot be made.")


class EmailTaken(Refused):
    """Another parent's account has this address already."""

    message = _l("Another account already uses this e-mail address.")


class AdminOnly(Refused):
    """A class teacher may not make this change: the administrator may."""

    message = _l(
        "Only the administrator can change this address: the parent has already logged in, or has"
        " children in other classes too."
    )


def record(
    field: str,
    old: str | None,
    new: str | None,
    staff: Staff | None = None,
    parent: Parent | None = None,
    student: Student | None = None,
) -> None:
    db.session.add(
        Change(
            field=field,
            old_value=old,
            new_value=new,
            staff=staff,
            parent_id=parent.id if parent else None,
            student_id=student.id if student else None,
        )
    )


def update(subject: Parent | Student, values: dict[str, str | None], staff: Staff | None) -> list[str]:
    """Set the given attributes, recording each one that really changes; returns their names."""
    changed = []
    for name, value in values.items():
        old = getattr(subject, name)
        if old != value:
            kind = {"parent": subject} if isinstance(subject, Parent) else {"student": subject}
            record(name, old, value, staff=staff, **kind)
            setattr(subject, name, value)
            changed.append(name)
    return changed


def ensure_email_free(parent: Parent, new_email: str) -> None:
    """EmailTaken when another parent's account has the address."""
    taken = db.session.scalar(sa.select(Parent.id).where(Parent.email == new_email, Parent.id != parent.id))
    if taken is not None:
        raise EmailTaken(new_email)


def history(parent: Parent | None = None, student: Student | None = None, limit: int = 20) -> list[Change]:
    query = sa.select(Change).order_by(Change.changed_at.desc(), Change.id.desc()).limit(limit)
    if parent is not None:
        query = query.where(Change.parent_id == parent.id)
    if student is not None:
        query = query.where(Change.student_id == student.id)
    return list(db.session.scalars(query))
