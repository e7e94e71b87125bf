"""Staff accounts: administrators and class teachers."""

import sqlalchemy as sa

from webapp import passwords
from webapp.extensions import db
from webapp.models import Staff


class StaffExists(ValueError):
    pass


def create_staff(email: str, first_name: str, last_name: str, role: str, password: str) -> Staff:
    """Add a staff account to the session (the caller commits)."""
    email = email.strip().lower()
    if db.session.scalar(sa.select(Staff.id).where(Staff.email == email)) is not None:
        raise StaffExists(email)
    staff = Staff(
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        password_hash=passwords.hash_password(password),
    )
    db.session.add(staff)
    return staff
