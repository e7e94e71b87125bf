"""Retention: at most `max_messages` messages and none older than `max_age_days`, and the
newest LOG_KEEP lines of the delivery log; enforced on the writer, in small steps."""

import logging
import sqlite3
import time
from collections.abc import Callable

from dev_mailbox.store.writer import Writer

log = logging.getLogger(__name__)

# Retention deletes at most this many messages per writer pass, so ingest never waits long
# (each deletion parses the source again, for the contentless index: about 0.3 ms).
RETENTION_CHUNK = 100
RETENTION_INTERVAL = 1.0
RETENTION_CATCH_UP = 0.05
LOG_KEEP = 10_000


def expired(
    connection: sqlite3.Connection, max_messages: int | None, max_age_days: float | None
) -> list[int]:
    """The rowids of up to RETENTION_CHUNK messages beyond the limits, oldest first."""
    rowids: list[int] = []
    if max_messages is not None:
        row = connection.execute(
            "SELECT rowid FROM messages ORDER BY rowid DESC LIMIT 1 OFFSET ?", (max_messages,)
        ).fetchone()
        if row is not None:
            rowids = [
                r[0]
                for r in connection.execute(
                    "SELECT rowid FROM messages WHERE rowid <= ? ORDER BY rowid LIMIT ?",
                    (row[0], RETENTION_CHUNK),
                )
            ]
    if max_age_days is not None and len(rowids) < RETENTION_CHUNK:
        cutoff = time.time() - max_age_days * 86400
        rowids += [
            r[0]
            for r in connection.execute(
                "SELECT rowid FROM messages WHERE created < ? ORDER BY created LIMIT ?",
                (cutoff, RETENTION_CHUNK - len(rowids)),
            )
        ]
    return sorted(set(rowids))


def trim_log(connection: sqlite3.Connection) -> None:
    connection.execute(
        "DELETE FROM delivery_log WHERE rowid <= "
        "(SELECT rowid FROM delivery_log ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
        (LOG_KEEP,),
    )


class Retention:
    """Enforces the limits every RETENTION_INTERVAL seconds, and sooner while behind."""

    def __init__(
        self,
        writer: Writer,
        delete: Callable[[sqlite3.Connection, list[int]], int],
        max_messages: int | None,
        max_age_days: float | None,
    ) -> None:
        self._writer = writer
        self._delete = delete
        self.max_messages = max_messages
        self.max_age_days = max_age_days
        self._timer = None
        writer.loop.call_soon_threadsafe(self._tick)

    def _enforce(self, connection: sqlite3.Connection) -> int:
        trim_log(connection)
        return self._delete(connection, expired(connection, self.max_messages, self.max_age_days))

    def _tick(self) -> None:
        done = self._writer.commit_now(self._enforce)
        if done.exception() is not None:
            log.error("enforcing retention failed: %s", done.exception())
        deleted = done.result() if done.exception() is None else 0
        if deleted:
            self._writer.notify()
        # Behind (a full chunk deleted): come back soon, letting deliveries commit in between.
        delay = RETENTION_CATCH_UP if deleted >= RETENTION_CHUNK else RETENTION_INTERVAL
        self._timer = self._writer.loop.call_later(delay, self._tick)

    def stop(self) -> None:
        """(The loop has stopped.) No more passes."""
        if self._timer is not None:
            self._timer.cancel()
