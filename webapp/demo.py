"""`flask seed demo`: a small demo school for trainers — two classes, an admin, two class teachers,
students with valid personal codes, one parent the school already knows, and one waiting application;
in demo mode (`make demo`) also the trainer. `flask demo reset` (and the trainer's button) brings a
demo database back to that: everything the participants did is gone, the trainer stays logged in."""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from webapp import isikukood, tokens
from webapp.clock import utcnow
from webapp.config import is_demo
from webapp.extensions import db, limiter
from webapp.models import Application, SchoolClass, Staff, Student, WebSession
from webapp.roster import import_rows
from webapp.staff.accounts import create_staff

DEMO_PASSWORD = "Kevadine-Kask-2026"  # noqa: S105 - printed for trainers; demo data only
STAFF = [
    ("admin@kool.example", "Anne", "Administraator", "admin"),
    ("tiina.tamm@kool.example", "Tiina", "Tamm", "teacher"),
    ("peeter.paju@kool.example", "Peeter", "Paju", "teacher"),
]
TRAINER_ROLE = "trainer"
TRAINER = ("koolitaja@kool.example", "Kati", "Koolitaja", TRAINER_ROLE)


class ForeignDatabase(Exception):
    """The database holds more than the demo seed made: a school's, never to be reset."""


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


def _staff_exists(email: str) -> bool:
    return db.session.scalar(sa.select(Staff.id).where(Staff.email == email)) is not None


def seed() -> None:
    """Create the demo school once (the caller commits); running it again changes nothing. In demo
    mode the trainer too."""
    if not _staff_exists(STAFF[0][0]):
        for email, first_name, last_name, role in STAFF:
            create_staff(email, first_name, last_name, role, DEMO_PASSWORD)
        db.session.flush()
        result = import_rows(_roster())
        assert not result.errors, result.errors  # noqa: S101 - our own demo data
        _waiting_application(_roster()[3]["student_personal_code"])
    if is_demo(current_app.config) and not _staff_exists(TRAINER[0]):
        create_staff(*TRAINER, DEMO_PASSWORD)
    db.session.flush()


def seeded_staff() -> list[tuple[str, str, str, str]]:
    return [*STAFF, TRAINER] if is_demo(current_app.config) else list(STAFF)


def login_lines(base_url: str) -> list[str]:
    return [
        f"  Staff login: {base_url}/kool/sisene — password {DEMO_PASSWORD} for:",
        *[f"    {email} ({role})" for email, _first, _last, role in seeded_staff()],
    ]


@dataclass(frozen=True)
class DemoChild:
    personal_code: str
    first_name: str
    last_name: str
    class_name: str


def demo_children() -> list[DemoChild]:
    """The children in the demo school (valid personal codes, of school age): participants type one."""
    rows = db.session.execute(
        sa.select(Student.personal_code, Student.first_name, Student.last_name, SchoolClass.name)
        .join(SchoolClass, Student.class_id == SchoolClass.id)
        .order_by(SchoolClass.name, Student.last_name, Student.first_name)
    )
    return [DemoChild(*row) for row in rows]


def refuse_foreign_data() -> None:
    """A database is the demo's when every staff account in it is one the demo seed makes (an empty
    one counts: the seed fills it). A school's has its own staff: the demo never resets it."""
    if not sa.inspect(db.engine).has_table(Staff.__tablename__):
        return  # a new, empty database
    seeded = [email for email, *_rest in [*STAFF, TRAINER]]
    others = db.session.scalars(sa.select(Staff.email).where(Staff.email.not_in(seeded)).limit(3)).all()
    if others:
        raise ForeignDatabase(
            f"This database has staff accounts the demo did not make ({', '.join(others)}, ...): it is"
            " not a demo database, and the demo does not use or reset it. Leave DATABASE_URL unset"
            " (the demo's own SQLite file) or name an empty database of its own."
        )


def reset() -> None:
    """Everything the participants created is gone (applications, accounts, links, the outbox,
    sessions, changes) and the demo school is as seeded; the trainers and their sessions stay, so
    the trainer stays logged in. The caller commits; the dev mailbox is `training.mailbox`'s."""
    refuse_foreign_data()
    trainer_ids = db.session.scalars(sa.select(Staff.id).where(Staff.role == TRAINER_ROLE)).all()
    trainer_accounts = [f"staff:{staff_id}" for staff_id in trainer_ids]
    for table in reversed(db.metadata.sorted_tables):  # those that refer to others first
        query = sa.delete(table)
        if table is Staff.__table__:
            query = query.where(Staff.role != TRAINER_ROLE)
        elif table is WebSession.__table__:
            query = query.where(
                sa.or_(WebSession.account.is_(None), WebSession.account.not_in(trainer_accounts))
            )
        db.session.execute(query.execution_options(synchronize_session=False))
    # The deleted rows' objects leave the session (a new row may get an old id); the trainer stays.
    for instance in list(db.session):
        if not (isinstance(instance, Staff) and instance.role == TRAINER_ROLE):
            db.session.expunge(instance)
    seed()
    # The room starts afresh: no participant carries a used-up limit into the next round.
    limiter.reset()


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
