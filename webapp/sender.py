"""The sender: answers link requests and delivers the outbox, in a thread of the web process (`make
run`) or as processes of their own (`flask outbox run`, as many as you like)."""

import threading

import sqlalchemy as sa
from flask import Flask

from webapp import link_requests
from webapp.extensions import db
from webapp.outbox import deliver_due, new_mail


def work_once() -> int:
    """One round: requests answered, then due e-mails attempted; returns how much was done."""
    return link_requests.process_due() + deliver_due()


def run_sender(app: Flask, stop: threading.Event) -> None:
    """Answer link requests and deliver until `stop` is set: at once when mail is written here, else
    every few seconds."""
    poll = app.config["OUTBOX_POLL_SECONDS"]
    while not stop.is_set():
        with app.app_context():
            try:
                attempted = work_once()
            except sa.exc.DBAPIError:
                # The database is down or not migrated yet: the sender waits, it does not die.
                app.logger.exception("Outbox: database unavailable, retrying")
                attempted = 0
            finally:
                db.session.remove()
        if not attempted:
            new_mail.wait(poll)
            new_mail.clear()


class SenderThread:
    """The sender inside the web process (`make run`); `flask outbox run` is the same loop alone."""

    def __init__(self, app: Flask) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_sender, args=(app, self._stop), name="outbox-sender", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        new_mail.set()
        self._thread.join(timeout)
