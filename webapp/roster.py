"""The school roster: classes with their teacher, students, and the parents the school already knows.

`flask roster import FILE.csv` reads one row per student (and, optionally, one of their parents):
class, teacher_email, student_personal_code, student_first_name, student_last_name,
parent_personal_code, parent_first_name, parent_last_name, parent_email.
The whole file is imported in one transaction, or nothing is, with every bad row named.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from webapp import isikukood
from webapp.extensions import db
from webapp.models import Parent, SchoolClass, Staff, Student

COLUMNS = [
    "class",
    "teacher_email",
    "student_personal_code",
    "student_first_name",
    "student_last_name",
    "parent_personal_code",
    "parent_first_name",
    "parent_last_name",
    "parent_email",
]


@dataclass
class ImportResult:
    students: int = 0
    parents: int = 0
    errors: list[str] = field(default_factory=list)


def _get_or_create(model, defaults: dict | None = None, **keys):
    found = db.session.scalar(sa.select(model).filter_by(**keys))
    if found is None:
        found = model(**keys, **(defaults or {}))
        db.session.add(found)
    return found


def _school_class(name: str, teacher_email: str, line: int, result: ImportResult) -> SchoolClass:
    school_class = _get_or_create(SchoolClass, name=name)
    if teacher_email:
        teacher = db.session.scalar(sa.select(Staff).where(Staff.email == teacher_email.lower()))
        if teacher is None:
            result.errors.append(f"line {line}: no staff account {teacher_email} (create it first)")
        else:
            school_class.teacher = teacher
    return school_class


def _parent(row: dict, line: int, result: ImportResult) -> Parent | None:
    if not row["parent_email"]:
        return None
    try:
        email = validate_email(row["parent_email"], check_deliverability=False).normalized.lower()
        code = isikukood.check(row["parent_personal_code"]) if row["parent_personal_code"] else None
    except (EmailNotValidError, isikukood.InvalidPersonalCode) as error:
        result.errors.append(f"line {line}: parent: {error}")
        return None
    parent = db.session.scalar(sa.select(Parent).where(Parent.email == email))
    if parent is None:
        parent = Parent(email=email, first_name="", last_name="")
        db.session.add(parent)
        result.parents += 1
    parent.first_name = row["parent_first_name"] or parent.first_name
    parent.last_name = row["parent_last_name"] or parent.last_name
    parent.personal_code = code or parent.personal_code
    return parent


def import_rows(rows: list[dict]) -> ImportResult:
    """Add or update everything in `rows` (line numbers count the header as line 1)."""
    result = ImportResult()
    for line, row in enumerate(rows, start=2):
        row = {column: (row.get(column) or "").strip() for column in COLUMNS}
        if not row["class"] or not row["student_first_name"] or not row["student_last_name"]:
            result.errors.append(f"line {line}: class and the student's names are required")
            continue
        try:
            code = isikukood.check(row["student_personal_code"])
        except isikukood.InvalidPersonalCode as error:
            result.errors.append(f"line {line}: student's personal code: {error.problem.value}")
            continue
        school_class = _school_class(row["class"], row["teacher_email"], line, result)
        student = db.session.scalar(sa.select(Student).where(Student.personal_code == code))
        if student is None:
            student = Student(personal_code=code)
            db.session.add(student)
            result.students += 1
        student.first_name = row["student_first_name"]
        student.last_name = row["student_last_name"]
        student.school_class = school_class
        parent = _parent(row, line, result)
        if parent is not None and student not in parent.children:
            parent.children.append(student)
        db.session.flush()
    return result


def import_file(path: Path) -> ImportResult:
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = [column for column in COLUMNS[:5] if column not in (reader.fieldnames or [])]
        if missing:
            return ImportResult(errors=[f"missing columns: {', '.join(missing)}"])
        return import_rows(list(reader))
