"""`flask seed demo`: a small demo school for trainers — two classes, an admin, two class teachers,
students with valid personal codes, one parent the school already knows, and one waiting application."""

from datetime import date, timedelta

import sqlalchemy as sa

from webapp import isikukood, tokens
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import Application, Staff
from webapp.roster import import_rows
from webapp.staff.accounts import create_staff

DEMO_PASSWORD = "Kevadine-Kask-2026"  # noqa: S105 - printed for trainers; demo data only
STAFF = [
    ("admin@kool.example", "Anne", "Administraator", "admin"),
    ("tiina.tamm@kool.example", "Tiina", "Tamm", "teacher"),
    ("peeter.paju@kool.example", "Peeter", "Paju", "teacher"),
]


def _code(years_old: int, female: bool, serial: int) -> str:
    born = date.today().replace(month=3, day=14) - timedelta(days=365 * years_old)
    return isikukood.make(born, female, serial)


def _roster() -> list[dict]:
    students = [
        ("5A", "tiina.tamm@kool.example", _code(11, False, 101), "Jüri", "Mägi"),
        ("5A", "tiina.tamm@kool.example", _code(11, True, 102), "Mari", "Maasikas"),
        ("5A", "tiina.tamm@kool.example", _code(11, True, 103), "Liisa", "Kask"),
        ("6B", "peeter.paju@kool.example", _code(12, False, 104), "Artjom", "Ivanov"),
        ("6B", "peeter.paju@kool.example", _code(12, True, 105), "Sofia", "Smirnova"),
    ]
    rows = [
        dict(
            zip(
                [
                    "class",
                    "teacher_email",
                    "student_personal_code",
                    "student_first_name",
                    "student_last_name",
                ],
                student,
                strict=True,
            )
        )
        for student in students
    ]
    rows[1].update(
        parent_personal_code=isikukood.make(date(1985, 6, 1), True, 201),
        parent_first_name="Kadri",
        parent_last_name="Maasikas",
        parent_email="kadri.maasikas@example.ee",
    )
    return rows


def seed() -> None:
    """Create the demo school once (the caller commits); running it again changes nothing."""
    if db.session.scalar(sa.select(Staff).where(Staff.email == STAFF[0][0])) is None:
        for email, first_name, last_name, role in STAFF:
            create_staff(email, first_name, last_name, role, DEMO_PASSWORD)
        db.session.flush()
        result = import_rows(_roster())
        assert not result.errors, result.errors  # noqa: S101 - our own demo data
        _waiting_application(_roster()[3]["student_personal_code"])


def login_lines() -> list[str]:
    return [
        f"  Staff login: http://127.0.0.1:5000/kool/sisene — password {DEMO_PASSWORD} for:",
        *[f"    {email} ({role})" for email, _first, _last, role in STAFF],
    ]


def _waiting_application(child_code: str) -> None:
    """One application in the queue, as if Artjom's mother had applied yesterday."""
    email = "olga.ivanova@example.ee"
    _secret, link = tokens.issue(
        tokens.Purpose.APPLY, email, timedelta(hours=24), "ru", child_personal_code=child_code
    )
    link.used_at = utcnow()
    db.session.flush()
    db.session.add(
        Application(
            link_token_id=link.id,
            email=email,
            child_personal_code=child_code,
            parent_first_name="Olga",
            parent_last_name="Ivanova",
            relation="ema",
            child_first_name="Artjom",
            child_last_name="Ivanov",
            locale="ru",
            consent_given_at=utcnow(),
            submitted_at=utcnow() - timedelta(days=1),
        )
    )
