"""Changes to parents' and students' data: each recorded with who made it and when."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp import tokens
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


class EmailTaken(ValueError):
    """Another parent's account has this address already."""

    message = _l("Another account already uses this e-mail address.")


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


def change_parent_email(parent: Parent, new_email: str, staff: Staff | None = None) -> None:
    """Give the account a new address: the login links sent to the old one stop working."""
    taken = db.session.scalar(sa.select(Parent.id).where(Parent.email == new_email, Parent.id != parent.id))
    if taken is not None:
        raise EmailTaken(new_email)
    update(parent, {"email": new_email}, staff)
    tokens.revoke(tokens.Purpose.LOGIN, parent_id=parent.id)


def history(parent: Parent | None = None, student: Student | None = None, limit: int = 20) -> list[Change]:
    query = sa.select(Change).order_by(Change.changed_at.desc(), Change.id.desc()).limit(limit)
    if parent is not None:
        query = query.where(Change.parent_id == parent.id)
    if student is not None:
        query = query.where(Change.student_id == student.id)
    return list(db.session.scalars(query))
