"""Command-line groups: `flask outbox ...` and `flask translate ...`."""

import subprocess
import sys
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp import demo, demo_mailbox, passwords
from webapp.config import is_demo, is_production
from webapp.extensions import db
from webapp.roster import import_file
from webapp.sender import run_sender, work_once
from webapp.staff.accounts import StaffExists, create_staff

ROOT = Path(__file__).resolve().parent.parent
outbox = AppGroup("outbox", help="Deliver the e-mails waiting in the outbox.")
translate = AppGroup("translate", help="Extract, update and compile the translations.")
staff = AppGroup("staff", help="The school's staff accounts.")
roster = AppGroup("roster", help="The school roster: classes, students, known parents.")
seed = AppGroup("seed", help="Demo data.")
demo_group = AppGroup("demo", help="The demo for a room of parents (APP_ENV=demo, `make demo`).")


@staff.command("create")
@click.option("--role", type=click.Choice(["admin", "teacher"]), required=True)
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.password_option(help="Asked for when not given.")
def staff_create(role: str, email: str, first_name: str, last_name: str, password: str) -> None:
    """Create a staff account (an administrator or a class teacher)."""
    verdict = passwords.check(password, first_name, last_name, current_app.config["PASSWORD_MIN_SCORE"])
    if not verdict.accepted:
        raise click.ClickException(" ".join(verdict.problems))
    try:
        staff_member = create_staff(email, first_name, last_name, role, password)
    except StaffExists:
        raise click.ClickException(f"{email.strip().lower()} already has a staff account.") from None
    db.session.commit()
    click.echo(f"Created {role} {staff_member.email}.")


@roster.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def roster_import(path: Path) -> None:
    """Import a roster CSV (columns: see webapp/roster.py); all of it or, on any error, none."""
    result = import_file(path)
    for error in result.errors:
        click.echo(error, err=True)
    if result.errors:
        db.session.rollback()
        raise click.ClickException(f"{len(result.errors)} error(s): nothing was imported.")
    db.session.commit()
    click.echo(f"Imported: {result.students} new student(s), {result.parents} new parent(s).")


@seed.command("demo")
def seed_demo() -> None:
    """Create the demo school (safe to run again) and print its logins."""
    if is_production(current_app.config):
        raise click.ClickException(
            "seed demo creates an administrator with a published password: not in production."
            " Set APP_ENV=development or demo on a machine of your own."
        )
    if is_demo(current_app.config):
        _refuse_foreign_database()
    demo.seed()
    db.session.commit()
    for line in demo.login_lines(current_app.config["BASE_URL"]):
        click.echo(line)


def _refuse_foreign_database() -> None:
    try:
        demo.refuse_foreign_data()
    except demo.ForeignDatabase as foreign:
        raise click.ClickException(str(foreign)) from None


@demo_group.command("reset")
def demo_reset() -> None:
    """Everything the participants did is gone (the portal's data and the dev mailbox's mail and
    rules); the demo school is as seeded; the trainer stays logged in."""
    if not is_demo(current_app.config):
        raise click.ClickException("demo reset empties the database: it runs only with APP_ENV=demo.")
    _refuse_foreign_database()
    demo.reset()
    db.session.commit()
    click.echo("The portal is reset: the demo school as seeded, no participants.")
    try:
        demo_mailbox.clear_everything()
    except demo_mailbox.MailboxUnavailable as error:
        raise click.ClickException(
            f"The dev mailbox at {current_app.config['DEV_MAILBOX_API_URL']} did not answer ({error}):"
            " its e-mail and scenarios are still there. Run this again while `make demo` runs."
        ) from None
    click.echo("The dev mailbox is empty: no e-mail, no scenarios.")


@outbox.command("run")
def outbox_run() -> None:
    """Run the sender until interrupted (one of several is fine: they share the work)."""
    click.echo("Outbox sender running; Ctrl+C stops it.")
    try:
        run_sender(current_app._get_current_object(), threading.Event())
    except KeyboardInterrupt:
        click.echo("Stopped.")


@outbox.command("deliver")
def outbox_deliver() -> None:
    """Answer the waiting link requests and send what is due, once, and exit."""
    click.echo(f"Done: {work_once()} request(s) and message(s).")


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)  # noqa: S603


@translate.command("update")
def translate_update() -> None:
    """Extract the message ids from code and templates and merge them into every .po file."""
    _pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_l",
        "--no-location",
        "-w",
        "110",
        "-o",
        "translations/messages.pot",
        ".",
    )
    _pybabel(
        "update", "-i", "translations/messages.pot", "-d", "translations", "--no-fuzzy-matching", "-w", "110"
    )


@translate.command("compile")
def translate_compile() -> None:
    """Build the .mo files the app reads."""
    _pybabel("compile", "-d", "translations", "--statistics")


def register(app: Flask) -> None:
    for group in (outbox, translate, staff, roster, seed, demo_group):
        app.cli.add_command(group)
