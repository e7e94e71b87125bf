"""Durable message storage in SQLite (WAL, synchronous=FULL), written with group commit: the
Store, and what callers give it and get from it (Delivery, LogEntry, Summary).

A message is stored in two steps: on arrival only what SMTP gives (source, envelope, folder),
and the client hears 250 once that is committed; parsing it for the list and the search index
comes later. The parts, split the way Mailpit splits its internal/storage:

    schema.py     the tables, opening connections, migrations
    rows.py       Delivery, Summary, LogEntry, and how the columns hold them
    writer.py     the group-commit writer on an event loop; change notifications
    messages.py   writing messages: arrival, marking read, deleting
    indexing.py   parsing arrivals into the list, recipient and search indexes, and when
    queries.py    reading: a search Filter as SQL; listing, counting, fetching
    retention.py  the limits on stored messages and on the delivery log
    settings.py   rules, chaos and the cookie key, kept as JSON by key
"""

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from dev_mailbox import scenarios
from dev_mailbox.search import Filter
from dev_mailbox.store import indexing, messages, queries, settings
from dev_mailbox.store.indexing import Indexer, forget_index, index_backlog
from dev_mailbox.store.retention import Retention
from dev_mailbox.store.rows import Delivery, LogEntry, Summary
from dev_mailbox.store.schema import connect_writer, migrate
from dev_mailbox.store.writer import Writer

__all__ = ["Delivery", "LogEntry", "Store", "Summary"]

log = logging.getLogger(__name__)
DELETE_CHUNK = 500


class Store(Writer):
    """The SQLite file behind the mailbox; safe to use from any thread.

    Writes run on `loop` (see Writer): the mailbox gives the loop its SMTP server runs on,
    and stops that loop before close(); without one, the store runs a loop of its own.
    """

    def __init__(
        self,
        path: str | Path,
        max_messages: int | None = None,
        max_age_days: float | None = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = connect_writer(self.path)
        migrate(connection)
        super().__init__(connection, loop)
        self._readers = queries.Readers(self.path)
        self._indexer = Indexer(self, connection, idle=indexing.INDEX_IDLE)
        self._retention = Retention(self, self._delete_rowids, max_messages, max_age_days)
        self._scenario_watchers: list[Callable[[], None]] = []

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        self._retention.stop()
        self._indexer.stop()
        self._readers.close()

    def _committed(self, connection: sqlite3.Connection, failed: bool) -> None:
        self._indexer.committed(connection, failed)

    # Messages ------------------------------------------------------------------------------

    def deliver(self, delivery: Delivery, log: list[LogEntry]) -> "Future[list[str]]":
        """Store one copy per folder, unparsed, plus the log lines; resolves to the new message
        ids once committed. Indexing follows when mail stops arriving or someone reads."""
        arrivals = messages.Arrival.copies(delivery)
        stored_as = {r: arrival.id for arrival in arrivals for r in arrival.recipients}
        log = [replace(entry, message=stored_as.get(entry.recipient, "")) for entry in log]

        def job(connection: sqlite3.Connection) -> list[str]:
            rowids = [arrival.insert(connection) for arrival in arrivals]
            messages.insert_log(connection, log)
            if rowids:
                self._indexer.arrived(rowids[-1], len(rowids))
            return [arrival.id for arrival in arrivals]

        return self.submit(job)

    def deliver_many(self, deliveries: list[Delivery]) -> "Future[list[str]]":
        """Bulk import without log lines: stored and indexed in one transaction."""
        arrivals = [arrival for delivery in deliveries for arrival in messages.Arrival.copies(delivery)]

        def job(connection: sqlite3.Connection) -> list[str]:
            for arrival in arrivals:
                arrival.insert(connection)
            index_backlog(connection)
            self._indexer.changed()
            return [arrival.id for arrival in arrivals]

        return self.submit(job)

    def record(self, entries: list[LogEntry]) -> "Future[None]":
        """Add delivery log lines for what never reached DATA (rejects, tempfails, disconnects)."""
        return self.submit(lambda connection: messages.insert_log(connection, entries))

    def clear_log(self) -> None:
        self.write(messages.clear_log)

    def delete(self, ids: list[str] | None = None, where: Filter | None = None) -> int:
        """Delete the given messages, those matching a filter, or (with neither) all of them."""

        def job(connection: sqlite3.Connection) -> int:
            if ids is None and where is None:
                self._indexer.changed()
                return messages.delete_all(connection)
            if ids is not None:
                rowids = messages.rowids_of(connection, ids)
            elif where.impossible:
                rowids = []
            else:
                if queries.needs_index(where):
                    index_backlog(connection)
                    self._indexer.changed()
                rowids = queries.matching_rowids(connection, where)
            return sum(
                self._delete_rowids(connection, rowids[start : start + DELETE_CHUNK])
                for start in range(0, len(rowids), DELETE_CHUNK)
            )

        return self.write(job)

    def _delete_rowids(self, connection: sqlite3.Connection, rowids: list[int]) -> int:
        if not rowids:
            return 0
        try:
            indexing.unindex(connection, rowids)
        except sqlite3.DatabaseError:
            # Only if parsing changed without a new schema version: start the index afresh.
            log.exception("the search index is out of step with the messages; indexing them again")
            forget_index(connection)
            self._indexer.schedule()
        self._indexer.changed()
        messages.delete_rows(connection, rowids)
        return len(rowids)

    def set_read(self, ids: list[str] | None, read: bool) -> int:
        """Mark the given messages (all when ids is None) read or unread."""
        return self.write(lambda connection: messages.set_read(connection, ids, read))

    # Reading -------------------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Messages stored but not indexed yet."""
        return self._indexer.backlog

    def catch_up(self) -> None:
        """Wait until every message acknowledged so far is indexed; readers call this first."""
        self._indexer.catch_up()

    def reader(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._readers.connection()

    @contextmanager
    def _messages(self) -> Iterator[sqlite3.Connection]:
        """A reader that sees every message acknowledged before it, parsed and indexed, all its
        queries in one snapshot. Mail that arrived after the catch-up is left out (queries.shown)."""
        self.catch_up()
        with self.reader() as connection:
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("ROLLBACK")  # it only read

    def counts(self) -> tuple[int, int]:
        """(all messages, unread messages)."""
        with self._messages() as connection:
            return queries.counts(connection)

    def tags(self) -> list[str]:
        """Tags in use, sorted, as Mailpit lists them: the messages' X-Tags, and "spam" for the
        spam folder."""
        with self._messages() as connection:
            return queries.tags(connection)

    def folder_counts(self) -> dict[str, tuple[int, int]]:
        """(all, unread) messages by folder."""
        with self._messages() as connection:
            return queries.folder_counts(connection)

    def find(
        self, where: Filter | None = None, start: int = 0, limit: int = 50, count: bool = True
    ) -> tuple[list[Summary], int | None]:
        """One page of matching messages, newest first, and how many match in all (None when
        `count` is off because the caller knows it already)."""
        where = where or Filter()
        if where.impossible:
            return [], 0
        with self._messages() as connection:
            return queries.find(connection, where, start, limit, count)

    def get(self, message_id: str) -> tuple[Summary, bytes] | None:
        """A message and its raw bytes by id; "latest" means the newest message."""
        with self._messages() as connection:
            return queries.get(connection, message_id)

    def log(self, limit: int = 200, start: int = 0) -> list[LogEntry]:
        """Delivery log entries, newest first, with the subjects of the messages still stored."""
        with self._messages() as connection:
            return queries.log_entries(connection, limit, start)

    # Settings ------------------------------------------------------------------------------

    @property
    def rules(self) -> list[scenarios.Rule]:
        """The delivery rules saved last."""
        with self.reader() as connection:
            return settings.rules(connection)

    @property
    def chaos(self) -> scenarios.Chaos:
        """The chaos rates saved last."""
        with self.reader() as connection:
            return settings.chaos(connection)

    def save_rules(self, rules: list[scenarios.Rule]) -> None:
        self._save_setting("rules", [rule.as_api() for rule in rules])
        self._scenarios_saved()

    def save_chaos(self, chaos: scenarios.Chaos) -> None:
        self._save_setting("chaos", scenarios.chaos_as_api(chaos))
        self._scenarios_saved()

    def watch_scenarios(self, callback: Callable[[], None]) -> None:
        """Call `callback` after rules or chaos are saved (the SMTP server keeps them at hand)."""
        self._scenario_watchers.append(callback)

    def _scenarios_saved(self) -> None:
        for callback in self._scenario_watchers:
            callback()

    def secret_key(self) -> str:
        """A per-database key for signing the inbox's session cookies; made once, kept."""
        with self.reader() as connection:
            key = settings.read(connection, "secret_key")
        if key is None:
            key = secrets.token_hex(32)
            self._save_setting("secret_key", key)
        return key

    def _save_setting(self, key: str, value: Any) -> None:
        self.write(lambda connection: settings.save(connection, key, value))
