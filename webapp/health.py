"""Health checks for a load balancer and monitoring, as JSON: no login, no CSRF, no rate limit.

`/healthz`: the process answers (it touches no database: a database outage must not get every web
process restarted). `/readyz`: this process can serve: the database answers and is migrated to this
code's head; 200 when ready, 503 when not. It also reports the outbox, for monitoring: how many e-mails
wait, how long the oldest has waited, and how many could not be delivered.
"""

import functools

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app

from webapp.clock import utcnow
from webapp.errors import database_error_reason
from webapp.extensions import csrf, db, limiter
from webapp.models import OutboxMessage, OutboxStatus

bp = Blueprint("health", __name__)
csrf.exempt(bp)
limiter.exempt(bp)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    code_heads = _code_heads(current_app.extensions["migrate"].directory)
    try:
        with db.engine.connect() as connection:
            database_heads = set(MigrationContext.configure(connection).get_current_heads())
            ready = database_heads == code_heads
            # Another schema's tables may not be the ones this code reads.
            outbox = _outbox(connection) if ready else None
    except sa.exc.SQLAlchemyError as error:
        current_app.logger.warning("readyz: database unreachable: %s", database_error_reason(error))
        return {"ready": False, "database": "unreachable"}, 503
    migrations = {"database": sorted(database_heads), "code": sorted(code_heads), "current": ready}
    body = {"ready": ready, "database": "ok", "migrations": migrations, "outbox": outbox}
    return body, 200 if ready else 503


@functools.cache
def _code_heads(directory: str) -> set[str]:
    """The migrations this code expects (read once per process)."""
    return set(ScriptDirectory(directory).get_heads())


def _outbox(connection: sa.Connection) -> dict:
    pending, oldest = connection.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    ).one()
    undeliverable, unhandled = connection.execute(
        sa.select(sa.func.count(), sa.func.count().filter(OutboxMessage.handled_at.is_(None))).where(
            OutboxMessage.status == OutboxStatus.UNDELIVERABLE
        )
    ).one()
    return {
        "pending": pending,
        "oldest_pending_seconds": round((utcnow() - oldest).total_seconds(), 1) if oldest else 0,
        "undeliverable": undeliverable,
        # Bounces staff have not dealt with yet (corrected the address and sent a fresh link).
        "undeliverable_unhandled": unhandled,
    }
