"""`make run` and `make demo`: the dev mailbox, the portal and its sender together on one machine,
until Ctrl+C.

`make run` (APP_ENV=development) listens on 127.0.0.1. `make demo` (APP_ENV=demo) is for a room of
parents following on their phones: the portal and the mailbox's web side on every address of this
machine, links in e-mails and the QR code on its network address (DEMO_HOST overrides it), its own
database and mailbox file, the demo school seeded with a trainer, mail only to its own mailbox.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flask_migrate import upgrade
from werkzeug.serving import run_simple

from webapp import create_app, demo
from webapp.config import DEMO_MAILBOX_TOKEN_FILE, environment_name
from webapp.demo_address import network_address, qr_terminal, url_host
from webapp.extensions import db
from webapp.sender import SenderThread

PORTAL_HOST, PORTAL_PORT = "127.0.0.1", 5000
ALL_ADDRESSES = "0.0.0.0"  # noqa: S104 - demo mode: phones on the room's network must reach it


def main() -> None:
    if environment_name() == "demo":
        return run_demo()
    mailbox = subprocess.Popen([sys.executable, "-m", "dev_mailbox"])  # noqa: S603 - our own package
    os.environ.setdefault("OUTBOX_THREAD", "1")
    app = create_app()
    time.sleep(0.5)  # let the mailbox print its own lines first
    print(
        "\n".join(
            [
                "",
                f"  Portal (parents and staff): http://{PORTAL_HOST}:{PORTAL_PORT}/",
                "  Dev mailbox, web inbox:     http://127.0.0.1:8025/",
                f"  Dev mailbox, SMTP:          {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}",
                *demo.login_lines(f"http://{PORTAL_HOST}:{PORTAL_PORT}"),
                "  Ctrl+C stops everything.",
                "",
            ]
        ),
        flush=True,
    )
    _serve(app, PORTAL_HOST, PORTAL_PORT, mailbox)


def _stop_on_sigterm(_signal, _frame) -> None:
    raise KeyboardInterrupt  # a service manager's stop ends the mailbox too, as Ctrl+C does


def _serve(app, host: str, port: int, mailbox: subprocess.Popen) -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["outbox_sender"].stop()
        mailbox.terminate()
        mailbox.wait(10)


def _mailbox_token(instance: Path) -> str:
    """DEV_MAILBOX_TOKEN, else the one kept in instance/ (made once): participants' mailbox links and
    `flask demo reset` keep working when the demo is started again."""
    chosen = os.environ.get("DEV_MAILBOX_TOKEN")
    if chosen:
        return chosen
    kept = instance / DEMO_MAILBOX_TOKEN_FILE
    if not kept.exists():
        instance.mkdir(parents=True, exist_ok=True)
        kept.touch(mode=0o600)
        kept.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    return kept.read_text(encoding="utf-8").strip()


def _wait_for(url: str, token: str, seconds: float = 15.0) -> None:
    """Until the mailbox answers (its own lines are printed by then), or `seconds` have passed."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=1):  # noqa: S310 - our own mailbox
                return
        except OSError:
            time.sleep(0.1)


def run_demo() -> None:
    host, found_by = network_address()
    bind = os.environ.get("DEMO_BIND", ALL_ADDRESSES)
    port = int(os.environ.get("DEMO_PORT", "5000"))
    mailbox_port = int(os.environ.get("DEMO_MAILBOX_PORT", "8025"))
    smtp_port = int(os.environ.get("MAIL_PORT", "1025"))
    portal_url = f"http://{url_host(host)}:{port}"
    mailbox_url = f"http://{url_host(host)}:{mailbox_port}"
    # Set, not defaulted: a .env written for a school (its BASE_URL, its SMTP relay) must not leak
    # into the demo. Every e-mail goes to the demo's own mailbox on this machine.
    os.environ.update(
        BASE_URL=portal_url,
        DEV_MAILBOX_URL=mailbox_url,
        DEV_MAILBOX_API_URL=f"http://127.0.0.1:{mailbox_port}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        MAIL_USERNAME="",
        MAIL_USE_TLS="0",
        MAIL_USE_SSL="0",
        OUTBOX_THREAD="0",  # started below, once the database is migrated
    )
    app = create_app()  # refuses a database on another machine (doctor.demo_problems)
    instance = Path(app.instance_path)
    # The mailbox (a process of its own) reads the same variable.
    os.environ["DEV_MAILBOX_TOKEN"] = app.config["DEV_MAILBOX_TOKEN"] = _mailbox_token(instance)
    with app.app_context():
        try:
            demo.refuse_foreign_data()  # before migrating: a school's database is not touched at all
        except demo.ForeignDatabase as foreign:
            sys.exit(f"make demo: {foreign}")
        upgrade()
        demo.seed()
        db.session.commit()
        children = demo.demo_children()
        logins = demo.login_lines(portal_url)
    app.extensions["outbox_sender"] = SenderThread(app)
    mailbox = subprocess.Popen(  # noqa: S603 - our own package
        [
            sys.executable,
            "-m",
            "dev_mailbox",
            "--http-host",
            bind,
            "--http-port",
            str(mailbox_port),
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(smtp_port),
            "--db",
            os.environ.get("DEMO_MAILBOX_DB") or str(instance / "demo_mailbox.sqlite3"),
        ]
    )
    _wait_for(f"http://127.0.0.1:{mailbox_port}/api/v1/rules", os.environ["DEV_MAILBOX_TOKEN"])
    where = {
        "DEMO_HOST": "(DEMO_HOST)",
        "route": "(this machine's address on its network)",
        "interfaces": "(the first network interface that is up)",
    }.get(found_by, "(no network found: only this machine can open it; set DEMO_HOST)")
    print(
        "\n".join(
            [
                "",
                f"  Demo for phones: {portal_url}/   {where}",
                "",
                qr_terminal(f"{portal_url}/"),
                f"  Trainer's page:  {portal_url}/koolitus/ — log in as {demo.TRAINER[0]},"
                f" password {demo.DEMO_PASSWORD}",
                f"  Dev mailbox, everyone's mail (the trainer's only):"
                f" {mailbox_url}/?token={os.environ['DEV_MAILBOX_TOKEN']}",
                *logins,
                "  Children in the demo school (participants type one of these personal codes):",
                *[
                    f"    {child.personal_code}  {child.first_name} {child.last_name}, {child.class_name}"
                    for child in children
                ],
                "  Reset: the button on the trainer's page, or APP_ENV=demo flask --app webapp demo reset",
                "  Ctrl+C stops everything.",
                "",
            ]
        ),
        flush=True,
    )
    _serve(app, bind, port, mailbox)


if __name__ == "__main__":
    main()
