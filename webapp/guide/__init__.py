"""`flask guide build`: the parents' illustrated guide, made by walking the live portal in Chromium, so that
its pictures and the words it quotes are always the portal's own. The portal it walks is its own: a
temporary database with the demo school, the dev mailbox, both in this process on free loopback ports."""

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from dev_mailbox.testing import MailboxHandle
from webapp import create_app, demo
from webapp.config import LOCAL_ENVIRONMENTS, environment_name
from webapp.extensions import db
from webapp.live import launch_chromium, serve_portal
from webapp.models import Staff, Student
from webapp.sender import SenderThread

if TYPE_CHECKING:
    from webapp.guide.walk import Step

LANGUAGES = ("et", "ru", "en")


@dataclass
class Guide:
    language: str
    steps: list["Step"]
    files: list[Path]  # the HTML, the PDF and the PNG of its first screen


@contextmanager
def demo_portal(folder: Path) -> Iterator[tuple[Flask, str, MailboxHandle]]:
    """The portal with the demo school and the dev mailbox it sends to; (app, its URL, the mailbox)."""
    mailbox = MailboxHandle(folder / "dev_mailbox.sqlite3")
    mailbox.start()
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.sqlite3'}",
                "MAIL_SERVER": mailbox.smtp_host,
                "MAIL_PORT": mailbox.smtp_port,
                "MAIL_USE_TLS": False,
                "MAIL_USE_SSL": False,
                "MAIL_USERNAME": "",
                "OUTBOX_POLL_SECONDS": 0.2,
                "RATELIMIT_STORAGE_URI": "memory://",
                "IDENTITY_DEMO": True,
                "LOG_LEVEL": "WARNING",
            }
        )
        with app.app_context():
            db.create_all()
            demo.seed()
            db.session.commit()
        # Started once the tables exist: a sender running before would find none and complain.
        app.extensions["outbox_sender"] = SenderThread(app)
        with serve_portal(app) as url:
            yield app, url, mailbox
    finally:
        mailbox.stop()


def build(browser, language: str, out: Path) -> Guide:
    """Walk the portal in `language` and write the guide's files into `out`."""
    from webapp.guide import document, walk  # Playwright: the `guide` extra

    with tempfile.TemporaryDirectory() as folder, demo_portal(Path(folder)) as (app, url, mailbox):
        with app.test_request_context(), force_locale(language):
            child = db.session.scalar(sa.select(Student).where(~Student.parents.any()).order_by(Student.id))
            admin = db.session.scalar(sa.select(Staff.email).where(Staff.role == "admin").order_by(Staff.id))
            steps = walk.walk(browser, url, mailbox, language, child, (admin, demo.DEMO_PASSWORD))
            html = document.render(language, steps)
    return Guide(language, steps, document.write(browser, html, out, language))


@click.group(help="The parents' illustrated guide, made from the live portal.")
def guide() -> None:
    pass


@guide.command("build")
@click.option("--lang", "languages", type=click.Choice(LANGUAGES), multiple=True, help="Default: all three.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/guide"), show_default=True
)
def build_command(languages: tuple[str, ...], out: Path) -> None:
    """Walk the portal in Chromium and write guide-<lang>.html, .pdf and -page1.png."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise click.ClickException("The guide needs Playwright: pip install -e '.[guide]'") from None

    # The portal walked is a throwaway of this command's own, never the one the environment describes.
    if environment_name() not in LOCAL_ENVIRONMENTS:
        os.environ["APP_ENV"] = "development"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request of the walk
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for language in languages or LANGUAGES:
            made = build(browser, language, out)
            click.echo(
                f"{language}: {len(made.steps)} steps → " + ", ".join(str(path) for path in made.files)
            )
        browser.close()
