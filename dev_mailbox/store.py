"""Durable message storage in SQLite (WAL, synchronous=FULL), written with group commit.

Every write runs on one event loop thread (the SMTP server's loop too): the writes queued within
a millisecond are committed together, so many SMTP clients share one fsync, and each one gets
its result only after the COMMIT holding its message has returned. Readers use their own
connections (WAL lets them read while the writer writes).

A message is stored in two steps. On arrival, only what SMTP gives (source, envelope, folder) is
written, and the client hears 250 once that is committed. Parsing it for the list and the search
index comes later, on the same writer: as soon as no message has arrived for a moment, or at
once when someone reads (every read waits until what was acknowledged before it is indexed).
A burst of mail is thus taken at the speed of storing alone, and nobody ever reads a message
half stored.
"""

import asyncio
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from dev_mailbox import scenarios
from dev_mailbox.mime import Address, html_to_text, parse_message
from dev_mailbox.search import Filter

T = TypeVar("T")
log = logging.getLogger(__name__)

# Writes queued within this many seconds share one transaction and one fsync. 1 ms gathers the
# 250s of several SMTP clients (with none, most commits held one message) at little latency.
GROUP_COMMIT_WINDOW = 0.001
# Retention deletes at most this many messages per writer pass, so ingest never waits long
# (each deletion parses the source again, for the contentless index: about 0.3 ms).
RETENTION_CHUNK = 100
# Indexing starts once nothing has been written for INDEX_IDLE seconds (at once for a reader),
# and takes at most INDEX_CHUNK messages per writer pass (about 0.3 ms each), so arrivals
# interleave.
INDEX_IDLE = 0.05
INDEX_CHUNK = 100
RETENTION_INTERVAL = 1.0
RETENTION_CATCH_UP = 0.05
LOG_KEEP = 10_000
IDLE_READERS = 4
SEARCH_BODY_CHARS = 20_000

SCHEMA_VERSION = 7
SCHEMA = """
-- indexed is 0 from arrival until the source is parsed into the columns from message_id to
-- snippet, the recipients and the search index; 2 if parsing failed (listed with the envelope
-- only, not in the search index).
CREATE TABLE IF NOT EXISTS messages (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    folder TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    to_list TEXT NOT NULL,
    cc_list TEXT NOT NULL,
    bcc_list TEXT NOT NULL,
    reply_to_list TEXT NOT NULL,
    subject TEXT NOT NULL,
    size INTEGER NOT NULL,
    attachments INTEGER NOT NULL,
    snippet TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    envelope_to TEXT NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 1,
    tags TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS messages_folder ON messages (folder, rowid);
CREATE INDEX IF NOT EXISTS messages_unindexed ON messages (rowid) WHERE indexed = 0;
CREATE INDEX IF NOT EXISTS messages_created ON messages (created);
CREATE INDEX IF NOT EXISTS messages_unread ON messages (read, rowid);
-- Raw bytes (deflated) live apart so that listing and counting never page through them.
CREATE TABLE IF NOT EXISTS message_sources (rowid INTEGER PRIMARY KEY, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS recipients (
    address TEXT NOT NULL,
    message INTEGER NOT NULL,
    PRIMARY KEY (address, message)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recipients_message ON recipients (message);
-- The X-Tags of each message (Mailpit's tags), for tag: searches; the names as shown are in messages.tags.
CREATE TABLE IF NOT EXISTS message_tags (
    name TEXT NOT NULL COLLATE NOCASE,
    message INTEGER NOT NULL,
    PRIMARY KEY (name, message)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS message_tags_message ON message_tags (message);
-- folder repeats messages.folder as a word, so that is:spam with text stays inside the index.
-- Contentless (content=''): the index keeps no copy of the text, which it would otherwise hold
-- uncompressed, more than the raw mail itself. Taking a message out of the index therefore needs
-- its indexed values again; they are derived from the stored source (see _unindex).
CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5 (
    subject, sender, recipients, body, folder, tokenize = 'unicode61 remove_diacritics 2',
    content = ''
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS delivery_log (
    rowid INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    action TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    subject TEXT -- of a message never stored (dropped, say); a stored one's is in messages
);
"""

SUMMARY_COLUMNS = (
    "m.rowid, m.id, m.created, m.folder, m.read, m.message_id, m.sender, m.to_list, m.cc_list,"
    " m.bcc_list, m.reply_to_list, m.subject, m.size, m.attachments, m.snippet,"
    " m.envelope_from, m.envelope_to, m.tags"
)


# One encoder, made once: json.dumps with any option builds a new encoder on every call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _addresses_json(addresses: list[Address]) -> str:
    return _to_json([address.as_api() for address in addresses])


@dataclass(frozen=True)
class Summary:
    """One stored message as listed: the parsed header fields, no body."""

    rowid: int
    id: str
    created: float
    folder: str
    read: bool
    message_id: str
    sender: dict
    to: list[dict]
    cc: list[dict]
    bcc: list[dict]
    reply_to: list[dict]
    subject: str
    size: int
    attachments: int
    snippet: str
    envelope_from: str
    envelope_to: list[str]
    tags: list[str]  # from its X-Tags header

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Summary":
        return cls(
            rowid=row[0],
            id=row[1],
            created=row[2],
            folder=row[3],
            read=bool(row[4]),
            message_id=row[5],
            sender=json.loads(row[6]),
            to=json.loads(row[7]),
            cc=json.loads(row[8]),
            bcc=json.loads(row[9]),
            reply_to=json.loads(row[10]),
            subject=row[11],
            size=row[12],
            attachments=row[13],
            snippet=row[14],
            envelope_from=row[15],
            envelope_to=json.loads(row[16]),
            tags=json.loads(row[17]),
        )


@dataclass(frozen=True)
class LogEntry:
    created: float
    action: str
    sender: str
    recipient: str
    reason: str
    message: str = ""
    # The message's subject: None when unknown (refused before DATA, or the stored message deleted).
    subject: str | None = None
    stored: bool = False  # as read back: the message is still in the mailbox


@dataclass(frozen=True)
class Delivery:
    """One accepted SMTP transaction: the bytes, and which recipients go to which folder."""

    raw: bytes
    envelope_from: str
    folders: dict[str, list[str]]


def compress_source(raw: bytes) -> bytes:
    """Raw messages are kept deflated: e-mail text shrinks about threefold, and a 2 KB message
    no longer takes a 4 KB page of its own. Level 1: most of the gain for little CPU."""
    return zlib.compress(raw, 1)


def new_message_id() -> str:
    return secrets.token_urlsafe(16)


_NOBODY = _to_json(Address("", "").as_api())


@dataclass(frozen=True)
class _Arrival:
    """One copy of an accepted message as it is first written: what SMTP gave, nothing parsed."""

    id: str
    folder: str
    recipients: list[str]
    envelope_from: str
    size: int
    raw: bytes

    def insert(self, connection: sqlite3.Connection) -> int:
        """Its rowid; the parsed columns stay empty until it is indexed (see _index_backlog)."""
        rowid = connection.execute(
            "INSERT INTO messages (id, created, folder, message_id, sender, to_list, cc_list,"
            " bcc_list, reply_to_list, subject, size, attachments, snippet, envelope_from,"
            " envelope_to, indexed) VALUES (?, ?, ?, '', ?, '[]', '[]', '[]', '[]', '', ?, 0, '', ?, ?, 0)",
            (
                self.id,
                time.time(),
                self.folder,
                _NOBODY,
                self.size,
                self.envelope_from,
                _to_json(self.recipients),
            ),
        ).lastrowid
        connection.execute("INSERT INTO message_sources (rowid, raw) VALUES (?, ?)", (rowid, self.raw))
        return rowid


@dataclass(frozen=True)
class _Parsed:
    """What a stored message's source gives the list, the recipient index and the search index;
    derived when the message is indexed, and again when it leaves the contentless index."""

    columns: tuple
    addresses: list[str]
    search_row: tuple  # empty when parsing failed: then only the envelope is known
    tags: tuple[str, ...] = ()

    @classmethod
    def envelope_only(cls, envelope_to: str) -> "_Parsed":
        return cls((), sorted({r.lower() for r in json.loads(envelope_to)}), ())

    @classmethod
    def derive(cls, source: bytes, folder: str, envelope_from: str, envelope_to: str) -> "_Parsed":
        recipients = json.loads(envelope_to)
        parsed = parse_message(source)
        shown = {a.address.lower() for a in parsed.to + parsed.cc + parsed.bcc}
        # As Mailpit does: envelope recipients missing from To and Cc were blind copies.
        bcc = parsed.bcc + [Address("", r) for r in recipients if r.lower() not in shown]
        listed = parsed.to + parsed.cc + bcc
        sender = parsed.sender
        tags = tuple(parsed.tags)
        return cls(
            columns=(
                parsed.message_id,
                _to_json(sender.as_api()),
                _addresses_json(parsed.to),
                _addresses_json(parsed.cc),
                _addresses_json(bcc),
                _addresses_json(parsed.reply_to),
                parsed.subject,
                len(parsed.attachments),
                parsed.snippet,
                _to_json(tags),
            ),
            addresses=sorted(
                {a.address.lower() for a in listed if a.address} | {r.lower() for r in recipients}
            ),
            search_row=(
                parsed.subject,
                f"{sender.name} {sender.address} {envelope_from}",
                " ".join(f"{a.name} {a.address}" for a in listed),
                (parsed.text or html_to_text(parsed.html))[:SEARCH_BODY_CHARS],
                folder,
            ),
            tags=tags,
        )


_INDEX_INSERT = (
    "INSERT INTO message_search (rowid, subject, sender, recipients, body, folder) VALUES (?, ?, ?, ?, ?, ?)"
)
_SOURCES = (
    "SELECT m.rowid, m.folder, m.envelope_from, m.envelope_to, s.raw FROM messages m"
    " JOIN message_sources s ON s.rowid = m.rowid"
)


def _index_backlog(connection: sqlite3.Connection, limit: int = -1) -> int:
    """Parse the oldest messages not indexed yet (all of them with limit -1) into their columns,
    recipients and search words; the rowid of the last one done, 0 when there were none."""
    rows = connection.execute(
        "SELECT m.rowid, m.folder, m.envelope_from, m.envelope_to, s.raw FROM messages m"
        " LEFT JOIN message_sources s ON s.rowid = m.rowid WHERE m.indexed = 0 ORDER BY m.rowid LIMIT ?",
        (limit,),
    ).fetchall()
    parsed = []
    for rowid, folder, envelope_from, envelope_to, raw in rows:
        try:
            parsed.append((rowid, _Parsed.derive(zlib.decompress(raw), folder, envelope_from, envelope_to)))
        except Exception:  # a bug, not bad mail (mime never raises): keep it from blocking the rest
            log.exception("message %s could not be parsed; it is listed with its envelope only", rowid)
            parsed.append((rowid, _Parsed.envelope_only(envelope_to)))
    _write_parsed(connection, parsed)
    return rows[-1][0] if rows else 0


def _write_parsed(connection: sqlite3.Connection, parsed: list[tuple[int, _Parsed]]) -> None:
    """Store what parsing gave, all in one go; should SQLite refuse that, one message at a time,
    and a message that still cannot be written is marked failed (2), so that it cannot block
    the others."""
    connection.execute("SAVEPOINT parsed")
    try:
        connection.executemany(
            "UPDATE messages SET message_id = ?, sender = ?, to_list = ?, cc_list = ?, bcc_list = ?,"
            " reply_to_list = ?, subject = ?, attachments = ?, snippet = ?, tags = ?, indexed = 1"
            " WHERE rowid = ?",
            [(*found.columns, rowid) for rowid, found in parsed if found.search_row],
        )
        connection.executemany(
            "UPDATE messages SET indexed = 2 WHERE rowid = ?",
            [(rowid,) for rowid, found in parsed if not found.search_row],
        )
        connection.executemany(
            "INSERT INTO recipients (address, message) VALUES (?, ?)",
            [(address, rowid) for rowid, found in parsed for address in found.addresses],
        )
        connection.executemany(
            _INDEX_INSERT, [(rowid, *found.search_row) for rowid, found in parsed if found.search_row]
        )
        connection.executemany(
            "INSERT OR IGNORE INTO message_tags (name, message) VALUES (?, ?)",
            [(tag, rowid) for rowid, found in parsed for tag in found.tags],
        )
    except (sqlite3.Error, ValueError):  # ValueError: text that is not valid UTF-8, say
        connection.execute("ROLLBACK TO parsed")
        if len(parsed) > 1:
            for one in parsed:
                _write_parsed(connection, [one])
        else:
            [(rowid, _)] = parsed
            log.exception("message %s could not be indexed; it is listed with its envelope only", rowid)
            connection.execute("UPDATE messages SET indexed = 2 WHERE rowid = ?", (rowid,))
    connection.execute("RELEASE parsed")


def _forget_index(connection: sqlite3.Connection) -> None:
    """Empty the search and recipient indexes and mark every message to be indexed again."""
    connection.execute("INSERT INTO message_search (message_search) VALUES ('delete-all')")
    connection.execute("DELETE FROM recipients")
    connection.execute("DELETE FROM message_tags")
    connection.execute("UPDATE messages SET indexed = 0 WHERE indexed != 0")


def _unindex(connection: sqlite3.Connection, rowids: list[int], marks: str) -> None:
    """Take indexed messages out of the contentless index, with the values they went in with."""
    rows = connection.execute(
        f"{_SOURCES} WHERE m.indexed = 1 AND m.rowid IN ({marks})",  # noqa: S608 - marks is "?,?,..."
        rowids,
    ).fetchall()
    connection.executemany(
        "INSERT INTO message_search (message_search, rowid, subject, sender, recipients, body, folder)"
        " VALUES ('delete', ?, ?, ?, ?, ?, ?)",
        [
            (rowid, *_Parsed.derive(zlib.decompress(raw), folder, envelope_from, envelope_to).search_row)
            for rowid, folder, envelope_from, envelope_to, raw in rows
        ],
    )


class Store:
    """The SQLite file behind the mailbox; safe to use from any thread."""

    def __init__(
        self,
        path: str | Path,
        max_messages: int | None = None,
        max_age_days: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_messages = max_messages
        self.max_age_days = max_age_days
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], Future]] = []
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._changed = threading.Condition()
        self.version = 0
        self.closed = False
        self._writer_connection = self._connect()
        self._migrate(self._writer_connection)
        # Messages stored but not indexed yet: written by the writer, read by anyone. It grows
        # before the arrival commits, and shrinks (is counted again) only after a commit.
        self._recount = False
        self.backlog, self._newest_arrival = self._writer_connection.execute(
            "SELECT count(*), coalesce(max(rowid), 0) FROM messages WHERE indexed = 0"
        ).fetchone()
        self._last_write = 0.0  # loop time when the last queued writes were committed
        # Readers waiting for the index: (the newest rowid they must see indexed, their future).
        self._index_waiters: list[tuple[int, Future]] = []
        self._index_timer: asyncio.Handle | None = None
        self.rules = self._load_rules()
        self.chaos = self._load_chaos()
        # The writer is an event loop thread: the SMTP server runs on this same loop, so storing
        # a message needs no hand-over of the GIL between threads after every SQLite call (with
        # a separate writer thread, those hand-overs dominated ingest time).
        self.loop = asyncio.new_event_loop()
        self._writer = threading.Thread(target=self._run, name="mailbox", daemon=True)
        self._writer.start()
        self._retention_timer = None
        self.loop.call_soon_threadsafe(self._retention_tick)
        if self.backlog:
            self.loop.call_soon_threadsafe(self._schedule_indexing)

    @staticmethod
    def _migrate(connection: sqlite3.Connection) -> None:
        """Create the tables, and bring a database from an older version up to date:
        version 2 added the folder to the search index, version 3 compressed the sources,
        version 4 made the index contentless, version 5 indexes after arrival, version 6 parses
        parts nested over 100 deep as text, version 7 reads X-Tags into tags (and the delivery log
        keeps the subject of what it did not store). An index from before version 7 is dropped, and every
        message is indexed again as if just arrived. A change to how messages are parsed for the
        index must bump the version too: taking a message out of a contentless index needs
        exactly the values it went in with."""
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        # Keyed on the messages table: a start interrupted after the DROP still rebuilds.
        reindex = version < 7 and "messages" in tables
        if reindex:
            connection.execute("DROP TABLE IF EXISTS message_search")
        columns = {row[1] for row in connection.execute("PRAGMA table_info(messages)")}
        if "messages" in tables and "indexed" not in columns:
            connection.execute("ALTER TABLE messages ADD COLUMN indexed INTEGER NOT NULL DEFAULT 1")
        if "messages" in tables and "tags" not in columns:
            connection.execute("ALTER TABLE messages ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'")
        log_columns = {row[1] for row in connection.execute("PRAGMA table_info(delivery_log)")}
        if "delivery_log" in tables and "subject" not in log_columns:
            connection.execute("ALTER TABLE delivery_log ADD COLUMN subject TEXT")
        connection.executescript(SCHEMA)
        # Interrupted before the COMMIT below, the next start simply does it all again.
        connection.execute("BEGIN IMMEDIATE")
        if reindex:
            _forget_index(connection)
        if version < 3 and "message_sources" in tables:
            sources = connection.execute("SELECT rowid, raw FROM message_sources").fetchall()
            connection.executemany(
                "UPDATE message_sources SET raw = ? WHERE rowid = ?",
                [(compress_source(bytes(raw)), rowid) for rowid, raw in sources],
            )
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened explicitly, one per batch.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk (not only in the OS cache) before any client hears 250.
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA busy_timeout = 5000")
        return connection

    # Writing -------------------------------------------------------------------------------

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> "Future[T]":
        """Queue a write; the future resolves once the transaction holding it is committed."""
        future: Future[T] = Future()
        if self.closed:
            future.set_exception(RuntimeError("the mailbox store is closed"))
        elif threading.current_thread() is self._writer:
            self._enqueue(job, future)
        else:
            try:
                self.loop.call_soon_threadsafe(self._enqueue, job, future)
            except RuntimeError:  # closed meanwhile
                future.set_exception(RuntimeError("the mailbox store is closed"))
        return future

    def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        return self.submit(job).result()

    def _enqueue(self, job: Callable[[sqlite3.Connection], Any], future: Future) -> None:
        self._pending.append((job, future))
        if len(self._pending) == 1:
            # Every write that arrives in the next millisecond shares the commit (group commit).
            self.loop.call_later(GROUP_COMMIT_WINDOW, self._flush)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._commit_batch(self._writer_connection, batch)

    def _retention_tick(self) -> None:
        retention: Future[int] = Future()
        self._commit_batch(self._writer_connection, [(self._enforce_retention, retention)], False)
        if retention.exception() is not None:
            log.error("enforcing retention failed: %s", retention.exception())
        deleted = retention.result() if retention.exception() is None else 0
        if deleted:
            self._notify()
        # Behind (a full chunk deleted): come back soon, letting deliveries commit in between.
        delay = RETENTION_CATCH_UP if deleted >= RETENTION_CHUNK else RETENTION_INTERVAL
        self._retention_timer = self.loop.call_later(delay, self._retention_tick)

    def _commit_batch(self, connection: sqlite3.Connection, batch: list, notify: bool = True) -> None:
        # A job whose caller gave up before it ran (an SMTP client gone) is not done at all:
        # the client had no 250, so it will send again.
        batch = [(job, future) for job, future in batch if future.set_running_or_notify_cancel()]
        if not batch:
            return
        outcomes: list[tuple[Future, Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            # A savepoint per job when there are several: one bad job fails alone, the others
            # still commit. A lone job needs none: its failure rolls the transaction back.
            isolate = len(batch) > 1
            for job, future in batch:
                if isolate:
                    connection.execute("SAVEPOINT job")
                try:
                    result = job(connection)
                except Exception as error:  # handed to the waiting caller, not swallowed
                    connection.execute("ROLLBACK TO job" if isolate else "ROLLBACK")
                    self._recount = True
                    outcomes.append((future, None, error))
                else:
                    outcomes.append((future, result, None))
                if isolate:
                    connection.execute("RELEASE job")
            if connection.in_transaction:
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            self._recount = True
            outcomes = [(future, None, error) for _, future in batch]
        if self._recount:
            # Only now, committed: a reader that sees a smaller backlog must find it so.
            try:
                self.backlog = connection.execute(
                    "SELECT count(*) FROM messages WHERE indexed = 0"
                ).fetchone()[0]
                self._recount = False
            except sqlite3.Error:
                log.exception("counting the messages not indexed yet failed")
        for future, result, error in outcomes:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        if notify:
            # Measured from after the COMMIT: a slow fsync is not a quiet moment.
            self._last_write = self.loop.time()
            self._notify()

    def _notify(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until the store changed after version `since` (or timeout); the new version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != since or self.closed, timeout)
            return self.version

    def _run(self) -> None:
        self.loop.run_forever()
        # Writes handed over while the loop was stopping are done now, not left waiting.
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()
        self._flush()

    def _stop_loop(self) -> None:
        for timer in (self._retention_timer, self._index_timer):
            if timer is not None:
                timer.cancel()
        self._flush()
        self._release_index_waiters(None)
        self.loop.stop()

    # Indexing (on the writer) --------------------------------------------------------------

    def catch_up(self) -> None:
        """Wait until every message acknowledged so far is indexed; readers call this first."""
        if not self.backlog or self.closed:
            return
        future: Future[None] = Future()
        try:
            self.loop.call_soon_threadsafe(self._wait_for_index, future)
        except RuntimeError:  # the store closed meanwhile
            return
        while not self.closed:  # closing stops the loop, which may then never answer
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                continue

    def _wait_for_index(self, future: Future) -> None:
        if self.closed or not self.backlog:
            future.set_result(None)
            return
        self._index_waiters.append((self._newest_arrival, future))
        if self._index_timer is not None:
            self._index_timer.cancel()
        self._index_timer = self.loop.call_soon(self._index_tick)

    def _schedule_indexing(self) -> None:
        """Make sure an index pass is due; it waits for a quiet moment by itself."""
        if self._index_timer is None:
            self._index_timer = self.loop.call_later(INDEX_IDLE, self._index_tick)

    def _index_tick(self) -> None:
        self._index_timer = None
        quiet_in = self._last_write + INDEX_IDLE - self.loop.time()
        if quiet_in > 0 and not self._index_waiters:
            # Mail is still arriving and nobody is reading: storing it comes first.
            self._index_timer = self.loop.call_later(quiet_in, self._index_tick)
            return
        done: Future[int] = Future()
        self._commit_batch(self._writer_connection, [(self._index_chunk, done)], notify=False)
        if done.exception() is not None:
            log.error("indexing stored messages failed: %s", done.exception())
            self._release_index_waiters(done.exception())
            self._index_timer = self.loop.call_later(RETENTION_INTERVAL, self._index_tick)
            return
        indexed_up_to = done.result()
        if not indexed_up_to:  # nothing was left to index
            self._release_index_waiters(None)
            return
        still_waiting = []
        for newest, future in self._index_waiters:
            if self.backlog and newest > indexed_up_to:
                still_waiting.append((newest, future))
            else:
                future.set_result(None)
        self._index_waiters = still_waiting
        if self.backlog:
            # The next chunk after the callbacks already due: arrivals get their turn in between.
            self._index_timer = self.loop.call_soon(self._index_tick)

    def _index_chunk(self, connection: sqlite3.Connection) -> int:
        self._recount = True
        return _index_backlog(connection, INDEX_CHUNK)

    def _release_index_waiters(self, error: BaseException | None) -> None:
        waiting, self._index_waiters = self._index_waiters, []
        for _, future in waiting:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.call_soon_threadsafe(self._stop_loop)
        self._writer.join()
        self.loop.close()
        self._writer_connection.close()
        with self._changed:
            self._changed.notify_all()
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                break

    # Messages ------------------------------------------------------------------------------

    @staticmethod
    def _arrivals(delivery: Delivery) -> list[_Arrival]:
        raw = compress_source(delivery.raw) if delivery.folders else b""
        return [
            _Arrival(new_message_id(), folder, recipients, delivery.envelope_from, len(delivery.raw), raw)
            for folder, recipients in delivery.folders.items()
        ]

    def deliver(self, delivery: Delivery, log: list[LogEntry]) -> "Future[list[str]]":
        """Store one copy per folder, unparsed, plus the log lines; resolves to the new message
        ids once committed. Indexing follows when mail stops arriving or someone reads."""
        arrivals = self._arrivals(delivery)
        stored_as = {r: arrival.id for arrival in arrivals for r in arrival.recipients}
        log = [replace(entry, message=stored_as.get(entry.recipient, "")) for entry in log]

        def job(connection: sqlite3.Connection) -> list[str]:
            for arrival in arrivals:
                self._newest_arrival = arrival.insert(connection)
            self._insert_log(connection, log)
            if arrivals:
                self.backlog += len(arrivals)
                self._schedule_indexing()
            return [arrival.id for arrival in arrivals]

        return self.submit(job)

    def deliver_many(self, deliveries: list[Delivery]) -> "Future[list[str]]":
        """Bulk import without log lines: stored and indexed in one transaction."""
        arrivals = [arrival for delivery in deliveries for arrival in self._arrivals(delivery)]

        def job(connection: sqlite3.Connection) -> list[str]:
            for arrival in arrivals:
                arrival.insert(connection)
            _index_backlog(connection)
            self._recount = True
            return [arrival.id for arrival in arrivals]

        return self.submit(job)

    @staticmethod
    def _insert_log(connection: sqlite3.Connection, entries: list[LogEntry]) -> None:
        connection.executemany(
            "INSERT INTO delivery_log (created, action, sender, recipient, reason, message, subject)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(e.created, e.action, e.sender, e.recipient, e.reason, e.message, e.subject) for e in entries],
        )

    def record(self, entries: list[LogEntry]) -> "Future[None]":
        """Add delivery log lines for what never reached DATA (rejects, tempfails, disconnects)."""
        return self.submit(lambda connection: self._insert_log(connection, entries))

    def clear_log(self) -> None:
        self.write(lambda connection: connection.execute("DELETE FROM delivery_log"))

    def _delete_rowids(self, connection: sqlite3.Connection, rowids: list[int]) -> int:
        if not rowids:
            return 0
        marks = ",".join("?" * len(rowids))
        try:
            _unindex(connection, rowids, marks)
        except sqlite3.DatabaseError:
            # Only if parsing changed without a new schema version: start the index afresh.
            log.exception("the search index is out of step with the messages; indexing them again")
            _forget_index(connection)
            self._schedule_indexing()
        self._recount = True
        for table, column in (
            ("messages", "rowid"),
            ("message_sources", "rowid"),
            ("recipients", "message"),
            ("message_tags", "message"),
        ):
            # marks is only "?,?,...": the values themselves are bound parameters.
            connection.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", rowids)  # noqa: S608
        return len(rowids)

    def delete(self, ids: list[str] | None = None, where: Filter | None = None) -> int:
        """Delete the given messages, those matching a filter, or (with neither) all of them."""

        def job(connection: sqlite3.Connection) -> int:
            if ids is None and where is None:
                deleted = connection.execute("SELECT count(*) FROM messages").fetchone()[0]
                for table in ("messages", "message_sources", "recipients", "message_tags"):
                    connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
                connection.execute("INSERT INTO message_search (message_search) VALUES ('delete-all')")
                self._recount = True
                return deleted
            if ids is not None:
                rows = connection.execute(
                    "SELECT rowid FROM messages WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            elif where.impossible:
                rows = []
            else:
                if where.fts_terms or where.conditions:  # they need parsed data; a folder does not
                    _index_backlog(connection)
                    self._recount = True
                source, params, rowid = self._source(connection, where, shown=False)
                rows = connection.execute(f"SELECT {rowid} {source}", params)  # noqa: S608
            rowids = [row[0] for row in rows]
            deleted = 0
            for start in range(0, len(rowids), 500):
                deleted += self._delete_rowids(connection, rowids[start : start + 500])
            return deleted

        return self.write(job)

    def set_read(self, ids: list[str] | None, read: bool) -> int:
        """Mark the given messages (all when ids is None) read or unread."""

        def job(connection: sqlite3.Connection) -> int:
            if ids is None:
                return connection.execute("UPDATE messages SET read = ?", (int(read),)).rowcount
            return connection.execute(
                "UPDATE messages SET read = ? WHERE id IN (SELECT value FROM json_each(?))",
                (int(read), json.dumps(ids)),
            ).rowcount

        return self.write(job)

    def _enforce_retention(self, connection: sqlite3.Connection) -> int:
        rowids: list[int] = []
        if self.max_messages is not None:
            row = connection.execute(
                "SELECT rowid FROM messages ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                (self.max_messages,),
            ).fetchone()
            if row is not None:
                rowids = [
                    r[0]
                    for r in connection.execute(
                        "SELECT rowid FROM messages WHERE rowid <= ? ORDER BY rowid LIMIT ?",
                        (row[0], RETENTION_CHUNK),
                    )
                ]
        if self.max_age_days is not None and len(rowids) < RETENTION_CHUNK:
            cutoff = time.time() - self.max_age_days * 86400
            rowids += [
                r[0]
                for r in connection.execute(
                    "SELECT rowid FROM messages WHERE created < ? ORDER BY created LIMIT ?",
                    (cutoff, RETENTION_CHUNK - len(rowids)),
                )
            ]
        connection.execute(
            "DELETE FROM delivery_log WHERE rowid <= "
            "(SELECT rowid FROM delivery_log ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
            (LOG_KEEP,),
        )
        return self._delete_rowids(connection, sorted(set(rowids)))

    # Reading -------------------------------------------------------------------------------

    @contextmanager
    def _messages(self) -> Iterator[sqlite3.Connection]:
        """A reader that sees every message acknowledged before it, parsed and indexed, all its
        queries in one snapshot. Mail that arrived after the catch-up is left out by _shown()."""
        self.catch_up()
        with self.reader() as connection:
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("ROLLBACK")  # it only read

    @staticmethod
    def _shown(connection: sqlite3.Connection, column: str = "rowid") -> tuple[str, list]:
        """(condition, parameters) leaving out messages from the first not indexed yet on: they
        arrived after this reader caught up (indexing goes oldest first)."""
        first = connection.execute("SELECT min(rowid) FROM messages WHERE indexed = 0").fetchone()[0]
        return ("1", []) if first is None else (f"{column} < ?", [first])

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._readers.get_nowait()
        except queue.Empty:
            connection = sqlite3.connect(self.path, check_same_thread=False)
            connection.execute("PRAGMA query_only = 1")
        try:
            yield connection
        finally:
            if self.closed or self._readers.qsize() >= IDLE_READERS:
                connection.close()
            else:
                self._readers.put(connection)

    def counts(self) -> tuple[int, int]:
        """(all messages, unread messages)."""
        with self._messages() as connection:
            shown, params = self._shown(connection)
            total = connection.execute(f"SELECT count(*) FROM messages WHERE {shown}", params)  # noqa: S608
            unread = connection.execute(
                f"SELECT count(*) FROM messages WHERE read = 0 AND {shown}",  # noqa: S608
                params,
            )
            return total.fetchone()[0], unread.fetchone()[0]

    def tags(self) -> list[str]:
        """Tags in use, sorted, as Mailpit lists them: the messages' X-Tags, and "spam" for the
        spam folder."""
        with self._messages() as connection:
            shown, params = self._shown(connection)
            spam = connection.execute(
                f"SELECT EXISTS (SELECT 1 FROM messages WHERE folder = 'spam' AND {shown})",  # noqa: S608
                params,
            ).fetchone()[0]
            tagged, params = self._shown(connection, "message")
            names = [
                row[0]
                for row in connection.execute(
                    f"SELECT name FROM message_tags WHERE {tagged} GROUP BY name",  # noqa: S608
                    params,
                )
            ]
        found = {name.lower(): name for name in names}
        if spam:
            found.setdefault("spam", "spam")
        return sorted(found.values(), key=str.lower)

    def folder_counts(self) -> dict[str, int]:
        with self._messages() as connection:
            shown, params = self._shown(connection)
            rows = connection.execute(
                f"SELECT folder, count(*) FROM messages WHERE {shown} GROUP BY folder",  # noqa: S608
                params,
            )
            return dict(rows.fetchall())

    def unread_counts(self) -> dict[str, int]:
        """Unread messages by folder."""
        with self._messages() as connection:
            shown, params = self._shown(connection)
            rows = connection.execute(
                f"SELECT folder, count(*) FROM messages WHERE read = 0 AND {shown} GROUP BY folder",  # noqa: S608
                params,
            )
            return dict(rows.fetchall())

    @classmethod
    def _rowid_window(
        cls, connection: sqlite3.Connection, where: Filter, shown: bool
    ) -> tuple[list[str], list]:
        """Dates, and for a reader the messages it may see (`_shown`), as a rowid range (rowids
        follow arrival order, and the FTS index can seek them): (conditions on `rowid`, their
        parameters); usually none without dates, so that counting can use a small index."""
        conditions: list[str] = []
        params: list = []
        if shown:
            condition, bound = cls._shown(connection)
            if bound:
                conditions.append(condition)
                params += bound
        if where.after is not None:
            row = connection.execute(
                "SELECT rowid FROM messages WHERE created >= ? ORDER BY created LIMIT 1",
                (where.after,),
            ).fetchone()
            conditions.append("rowid >= ?")
            params.append(row[0] if row else 2**63 - 1)
        if where.before is not None:
            row = connection.execute(
                "SELECT rowid FROM messages WHERE created < ? ORDER BY created DESC LIMIT 1",
                (where.before,),
            ).fetchone()
            conditions.append("rowid <= ?")
            params.append(row[0] if row else 0)
        return conditions, params

    def _source(
        self, connection: sqlite3.Connection, where: Filter, shown: bool = True
    ) -> tuple[str, list, str]:
        """(FROM ... WHERE ..., its parameters, the rowid column) for a filter; `shown`: only
        what a reader may see (a deletion takes messages not indexed yet too).

        With search terms the FTS index is the outer loop (CROSS JOIN keeps SQLite from turning
        it around, which is orders of magnitude slower): it yields matches newest first, so a
        page stops early. Without terms the messages table and its indexes answer alone.
        """
        window, params = self._rowid_window(connection, where, shown)
        table = "s" if where.fts_terms else "m"
        conditions = [f"{table}.{condition}" for condition in window] + where.conditions
        params += where.params
        if where.fts_terms:
            conditions.insert(0, "s.message_search MATCH ?")
            params.insert(0, where.fts_query())
            source = "message_search s CROSS JOIN messages m ON m.rowid = s.rowid"
        else:
            source = "messages m"
            if where.folder:
                conditions.append("m.folder = ?")
                params.append(where.folder)
        return f"FROM {source} WHERE {' AND '.join(conditions) or '1'}", params, f"{table}.rowid"

    @staticmethod
    def _count(connection: sqlite3.Connection, where: Filter, source: str, params: list) -> int:
        """How many rows `source` (from _source for `where`) holds."""
        if where.fts_terms and not where.conditions:
            # Counting inside the index alone avoids one messages lookup per match.
            source = source.replace(" CROSS JOIN messages m ON m.rowid = s.rowid", "")
        return connection.execute(f"SELECT count(*) {source}", params).fetchone()[0]  # noqa: S608

    def find(
        self, where: Filter | None = None, start: int = 0, limit: int = 50, count: bool = True
    ) -> tuple[list[Summary], int | None]:
        """One page of matching messages, newest first, and how many match in all (None when
        `count` is off because the caller knows it already)."""
        where = where or Filter()
        if where.impossible:
            return [], 0
        with self._messages() as connection:
            source, params, rowid = self._source(connection, where)
            rows = connection.execute(
                f"SELECT {SUMMARY_COLUMNS} {source} ORDER BY {rowid} DESC LIMIT ? OFFSET ?",  # noqa: S608
                [*params, limit, start],
            ).fetchall()
            matched = self._count(connection, where, source, params) if count else None
        return [Summary.from_row(row) for row in rows], matched

    def get(self, message_id: str) -> tuple[Summary, bytes] | None:
        """A message and its raw bytes by id; "latest" means the newest message."""
        with self._messages() as connection:
            shown, params = self._shown(connection, "m.rowid")
            if message_id == "latest":
                condition = f"{shown} ORDER BY m.rowid DESC LIMIT 1"
            else:
                condition, params = f"m.id = ? AND {shown}", [message_id, *params]
            row = connection.execute(
                f"SELECT {SUMMARY_COLUMNS}, s.raw FROM messages m"  # noqa: S608
                f" JOIN message_sources s ON s.rowid = m.rowid WHERE {condition}",
                params,
            ).fetchone()
        if row is None:
            return None
        return Summary.from_row(row), zlib.decompress(row[-1])

    def log(self, limit: int = 200, start: int = 0) -> list[LogEntry]:
        """Delivery log entries, newest first, with the subjects of the messages still stored."""
        with self._messages() as connection:
            rows = connection.execute(
                "SELECT d.created, d.action, d.sender, d.recipient, d.reason, d.message,"
                " coalesce(m.subject, d.subject), m.rowid IS NOT NULL FROM delivery_log d"
                " LEFT JOIN messages m ON m.id = d.message AND d.message != ''"
                " ORDER BY d.rowid DESC LIMIT ? OFFSET ?",
                (limit, start),
            ).fetchall()
        return [LogEntry(*row[:7], stored=bool(row[7])) for row in rows]

    # Settings ------------------------------------------------------------------------------

    def _setting(self, key: str) -> Any:
        with self.reader() as connection:
            row = connection.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _load_rules(self) -> list[scenarios.Rule]:
        try:
            return scenarios.parse_rules(self._setting("rules") or [])
        except scenarios.ScenarioError:
            return []

    def _load_chaos(self) -> scenarios.Chaos:
        try:
            return scenarios.parse_chaos(self._setting("chaos") or {})
        except scenarios.ScenarioError:
            return scenarios.default_chaos()

    def _save_setting(self, key: str, value: Any) -> None:
        self.write(
            lambda connection: connection.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )
        )

    def save_rules(self, rules: list[scenarios.Rule]) -> None:
        self._save_setting("rules", [rule.as_api() for rule in rules])
        self.rules = list(rules)

    def save_chaos(self, chaos: scenarios.Chaos) -> None:
        self._save_setting("chaos", scenarios.chaos_as_api(chaos))
        self.chaos = dict(chaos)

    def secret_key(self) -> str:
        """A per-database key for signing the inbox's session cookies; made once, kept."""
        key = self._setting("secret_key")
        if key is None:
            key = secrets.token_hex(32)
            self._save_setting("secret_key", key)
        return key
