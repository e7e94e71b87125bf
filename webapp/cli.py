"""Command-line groups: `flask outbox ...` and `flask translate ...`."""

import subprocess
import sys
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp.outbox import deliver_due, run_sender

ROOT = Path(__file__).resolve().parent.parent
outbox = AppGroup("outbox", help="Deliver the e-mails waiting in the outbox.")
translate = AppGroup("translate", help="Extract, update and compile the translations.")


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
    """Send what is due once and exit."""
    click.echo(f"Attempted {deliver_due()} message(s).")


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)  # noqa: S603


@translate.command("update")
def translate_update() -> None:
    """Extract the message ids from code and templates and merge them into every .po file."""
    _pybabel(
        "extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "-o", "translations/messages.pot", "."
    )
    _pybabel("update", "-i", "translations/messages.pot", "-d", "translations", "--no-fuzzy-matching")


@translate.command("compile")
def translate_compile() -> None:
    """Build the .mo files the app reads."""
    _pybabel("compile", "-d", "translations", "--statistics")


def register(app: Flask) -> None:
    app.cli.add_command(outbox)
    app.cli.add_command(translate)
