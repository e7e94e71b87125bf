"""/readyz's figures, and what the request log and the sender's log leave out, in one process."""

import logging
from datetime import timedelta

import sqlalchemy as sa

from webapp import outbox
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.health import _code_heads
from webapp.models import OutboxMessage, OutboxStatus


def _message(n: int, **columns) -> OutboxMessage:
    return OutboxMessage(
        recipient=f"parent{n}@example.ee",
        subject="s",
        text_body="t",
        html_body="h",
        message_id=f"<{n}@portal.test>",
        **columns,
    )


def test_readyz_wants_the_migrations_of_the_code_and_reports_the_outbox(app, client):
    # The test database is made by create_all: no migration recorded, so not ready.
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["migrations"]["current"] is False

    (head,) = _code_heads(app.extensions["migrate"].directory)
    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        db.session.commit()
    try:
        _migrated_with_mail(app, client, head)
    finally:
        with app.app_context():
            db.session.execute(sa.text("DROP TABLE alembic_version"))
            db.session.commit()


def _migrated_with_mail(app, client, head: str) -> None:
    with app.app_context():
        db.session.execute(sa.text("INSERT INTO alembic_version VALUES (:head)"), {"head": head})
        now = utcnow()
        db.session.add_all(
            [
                _message(1, created_at=now - timedelta(seconds=90)),
                _message(2, created_at=now - timedelta(seconds=5)),
                _message(3, status=OutboxStatus.SENT),
                _message(4, status=OutboxStatus.UNDELIVERABLE),
                _message(5, status=OutboxStatus.UNDELIVERABLE, handled_at=now),
            ]
        )
        db.session.commit()
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json["migrations"] == {"database": [head], "code": [head], "current": True}
    figures = answer.json["outbox"]
    assert (figures["pending"], figures["undeliverable"], figures["undeliverable_unhandled"]) == (2, 2, 1)
    assert 90 <= figures["oldest_pending_seconds"] < 120


def test_a_path_no_route_matched_is_logged_quoted_with_tokens_masked(client, caplog):
    token = "Ab3" + "x" * 40
    with caplog.at_level(logging.INFO, logger="webapp.request"):
        client.get(f"/sisene/{token}/extra%0Aforged", buffered=True)
        client.get(f"/sisene/{token}", buffered=True)
    unmatched, secret = (record.getMessage() for record in caplog.records)
    assert "path=/sisene/<redacted>/extra%0Aforged status=404" in unmatched
    assert "path=/sisene/<token> status=" in secret
    assert token not in caplog.text


def test_the_sender_logs_the_reply_with_the_recipients_domain_only(app, caplog):
    with app.app_context():
        message = _message(7, attempts=1, status=OutboxStatus.PENDING)
        db.session.add(message)
        db.session.flush()
        with caplog.at_level(logging.INFO, logger="webapp.outbox"):
            outbox._log_attempt(message, "550 5.1.1 <Parent7@Example.ee>: Recipient address rejected")
        db.session.rollback()
    (line,) = (record.getMessage() for record in caplog.records)
    assert "domain=example.ee attempt=1 status=pending" in line
    assert "reply='550 5.1.1 <…@example.ee>: Recipient address rejected'" in line
    assert "parent7" not in line.lower()
