"""The command line: staff accounts, roster import, the demo school, the outbox."""

from datetime import date

import sqlalchemy as sa

from webapp import isikukood, passwords
from webapp.extensions import db
from webapp.models import Application, Parent, SchoolClass, Staff, Student

HEADER = (
    "class,teacher_email,student_personal_code,student_first_name,student_last_name,"
    "parent_personal_code,parent_first_name,parent_last_name,parent_email\n"
)


def code(years_old: int, serial: int) -> str:
    return isikukood.make(date(date.today().year - years_old, 2, 3), female=serial % 2 == 0, serial=serial)


def create_teacher(runner, email="tiina@kool.example"):
    return runner.invoke(
        args=[
            "staff",
            "create",
            "--role",
            "teacher",
            "--email",
            email,
            "--first-name",
            "Tiina",
            "--last-name",
            "Tamm",
            "--password",
            "Kevadine-Kask-2026",
        ]
    )


def test_staff_create(app, runner):
    result = create_teacher(runner, "Tiina@Kool.example")
    assert result.exit_code == 0, result.output
    with app.app_context():
        teacher = db.session.scalar(sa.select(Staff))
        assert (teacher.email, teacher.role) == ("tiina@kool.example", "teacher")
        assert passwords.verify(teacher.password_hash, "Kevadine-Kask-2026")
    again = create_teacher(runner)
    assert again.exit_code != 0 and "already has a staff account" in again.output


def test_staff_create_refuses_a_weak_password(app, runner):
    result = runner.invoke(
        args=[
            "staff",
            "create",
            "--role",
            "admin",
            "--email",
            "a@kool.example",
            "--first-name",
            "Anne",
            "--last-name",
            "Aas",
            "--password",
            "password1",
        ]
    )
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Staff.id))) == 0


def test_roster_import(app, runner, tmp_path):
    create_teacher(runner)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER + f"5A,tiina@kool.example,{code(11, 1)},Jüri,Mägi,{isikukood.make(date(1985, 1, 2), True, 5)},"
        "Mari,Mägi,Mari@Example.ee\n" + f"5A,tiina@kool.example,{code(11, 2)},Liisa,Kask,,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["roster", "import", str(roster)])
    assert result.exit_code == 0, result.output
    assert "2 new student(s), 1 new parent(s)" in result.output
    with app.app_context():
        school_class = db.session.scalar(sa.select(SchoolClass))
        assert school_class.name == "5A" and school_class.teacher.email == "tiina@kool.example"
        parent = db.session.scalar(sa.select(Parent))
        assert parent.email == "mari@example.ee" and [c.first_name for c in parent.children] == ["Jüri"]
    # Importing the same file again updates, it does not duplicate.
    assert "0 new student(s), 0 new parent(s)" in runner.invoke(args=["roster", "import", str(roster)]).output


def test_roster_import_with_bad_rows_imports_nothing(app, runner, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        HEADER
        + f"5A,,{code(11, 1)},Jüri,Mägi,,,,\n"
        + "5A,,51702310000,Kalle,Kask,,,,\n"
        + f"5A,nobody@kool.example,{code(11, 3)},Mia,Mets,,,,not-an-email\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["roster", "import", str(roster)])
    assert result.exit_code != 0
    assert "line 3" in result.output and "line 4" in result.output
    assert "nothing was imported" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Student.id))) == 0


def test_roster_import_names_missing_columns(runner, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("class,name\n5A,Jüri\n", encoding="utf-8")
    result = runner.invoke(args=["roster", "import", str(roster)])
    assert result.exit_code != 0 and "missing columns: teacher_email" in result.output


def test_seed_demo_is_idempotent_and_prints_the_logins(app, runner):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0 and "admin@kool.example (admin)" in first.output
    assert "tiina.tamm@kool.example (teacher)" in first.output
    runner.invoke(args=["seed", "demo"])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Staff.id))) == 3
        assert db.session.scalar(sa.select(sa.func.count(Student.id))) == 5
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 1
        assert {c.name for c in db.session.scalars(sa.select(SchoolClass))} == {"5A", "6B"}


def test_outbox_deliver_with_nothing_due(runner):
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0 and "Done: 0 request(s) and message(s)." in result.output
