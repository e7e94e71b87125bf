"""Indexing: a message arrives unparsed (messages.Arrival); parsing it into the list's columns,
the recipient index and the search index comes later, on the writer, as soon as no message
has arrived for a moment, or at once when someone reads (every read waits until what was
acknowledged before it is indexed). A burst of mail is thus taken at the speed of storing
alone, and nobody ever reads a message half stored."""

import json
import logging
import sqlite3
import zlib
from concurrent.futures import Future
from dataclasses import dataclass

from dev_mailbox.mime import Address, html_to_text, parse_message
from dev_mailbox.store.rows import to_json
from dev_mailbox.store.writer import Writer

log = logging.getLogger(__name__)

# Indexing starts once nothing has been written for INDEX_IDLE seconds (at once for a reader),
# and takes at most INDEX_CHUNK messages per writer pass (about 0.3 ms each), so arrivals
# interleave.
INDEX_IDLE = 0.05
INDEX_CHUNK = 100
# After a pass that failed, the next one waits this long.
RETRY_AFTER_FAILURE = 1.0
SEARCH_BODY_CHARS = 20_000


def _addresses_json(addresses: list[Address]) -> str:
    return to_json([address.as_api() for address in addresses])


@dataclass(frozen=True)
class Parsed:
    """What a stored message's source gives the list, the recipient index and the search index;
    derived when the message is indexed, and again when it leaves the contentless index."""

    columns: tuple
    addresses: list[str]
    search_row: tuple  # empty when parsing failed: then only the envelope is known
    tags: tuple[str, ...] = ()

    @classmethod
    def envelope_only(cls, envelope_to: str) -> "Parsed":
        return cls((), sorted({r.lower() for r in json.loads(envelope_to)}), ())

    @classmethod
    def derive(cls, source: bytes, folder: str, envelope_from: str, envelope_to: str) -> "Parsed":
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
                to_json(sender.as_api()),
                _addresses_json(parsed.to),
                _addresses_json(parsed.cc),
                _addresses_json(bcc),
                _addresses_json(parsed.reply_to),
                parsed.subject,
                len(parsed.attachments),
                parsed.snippet,
                to_json(tags),
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


# What Parsed.derive needs of a stored message, with its rowid.
_SOURCES = (
    "SELECT m.rowid, m.folder, m.envelope_from, m.envelope_to, s.raw FROM messages m"
    " JOIN message_sources s ON s.rowid = m.rowid"
)


def index_backlog(connection: sqlite3.Connection, limit: int = -1) -> int:
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
            parsed.append((rowid, Parsed.derive(zlib.decompress(raw), folder, envelope_from, envelope_to)))
        except Exception:  # a bug, not bad mail (mime never raises): keep it from blocking the rest
            log.exception("message %s could not be parsed; it is listed with its envelope only", rowid)
            parsed.append((rowid, Parsed.envelope_only(envelope_to)))
    _write_parsed(connection, parsed)
    return rows[-1][0] if rows else 0


def _write_parsed(connection: sqlite3.Connection, parsed: list[tuple[int, Parsed]]) -> None:
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
            "INSERT INTO message_search (rowid, subject, sender, recipients, body, folder)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(rowid, *found.search_row) for rowid, found in parsed if found.search_row],
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


def forget_index(connection: sqlite3.Connection) -> None:
    """Empty the search and recipient indexes and mark every message to be indexed again."""
    connection.execute("INSERT INTO message_search (message_search) VALUES ('delete-all')")
    connection.execute("DELETE FROM recipients")
    connection.execute("DELETE FROM message_tags")
    connection.execute("UPDATE messages SET indexed = 0 WHERE indexed != 0")


def unindex(connection: sqlite3.Connection, rowids: list[int]) -> None:
    """Take indexed messages out of the contentless index, with the values they went in with."""
    marks = ",".join("?" * len(rowids))
    rows = connection.execute(
        f"{_SOURCES} WHERE m.indexed = 1 AND m.rowid IN ({marks})",  # noqa: S608 - marks is "?,?,..."
        rowids,
    ).fetchall()
    connection.executemany(
        "INSERT INTO message_search (message_search, rowid, subject, sender, recipients, body, folder)"
        " VALUES ('delete', ?, ?, ?, ?, ?, ?)",
        [
            (rowid, *Parsed.derive(zlib.decompress(raw), folder, envelope_from, envelope_to).search_row)
            for rowid, folder, envelope_from, envelope_to, raw in rows
        ],
    )


class Indexer:
    """When to index, on the writer's loop, and how many messages still wait for it.

    `backlog` (stored, not indexed yet) is written on the writer and read by anyone: it grows
    before an arrival commits, and shrinks (is counted again) only after a commit, so that a
    reader that sees a smaller backlog finds it so.
    """

    def __init__(self, writer: Writer, connection: sqlite3.Connection, idle: float) -> None:
        self._writer = writer
        self._idle = idle
        self._recount = False
        self.backlog, self._newest_arrival = connection.execute(
            "SELECT count(*), coalesce(max(rowid), 0) FROM messages WHERE indexed = 0"
        ).fetchone()
        # Readers waiting for the index: (the newest rowid they must see indexed, their future).
        self._waiters: list[tuple[int, Future]] = []
        self._timer = None
        if self.backlog:
            writer.loop.call_soon_threadsafe(self.schedule)

    # In a write job, on the writer -------------------------------------------------------

    def arrived(self, newest_rowid: int, count: int) -> None:
        """`count` messages were stored unparsed, the newest as `newest_rowid`."""
        self._newest_arrival = newest_rowid
        self.backlog += count
        self.schedule()

    def changed(self) -> None:
        """Messages were indexed or deleted: count the backlog again after the commit."""
        self._recount = True

    def schedule(self) -> None:
        """Make sure an index pass is due; it waits for a quiet moment by itself."""
        if self._timer is None:
            self._timer = self._writer.loop.call_later(self._idle, self._tick)

    # After each commit, on the writer -----------------------------------------------------

    def committed(self, connection: sqlite3.Connection, failed: bool) -> None:
        if failed or self._recount:  # a failed arrival was counted in the backlog already
            try:
                self.backlog = connection.execute(
                    "SELECT count(*) FROM messages WHERE indexed = 0"
                ).fetchone()[0]
                self._recount = False
            except sqlite3.Error:
                log.exception("counting the messages not indexed yet failed")

    # Readers, in their own threads ---------------------------------------------------------

    def catch_up(self) -> None:
        """Wait until every message acknowledged so far is indexed."""
        if not self.backlog or self._writer.closed:
            return
        future: Future[None] = Future()
        try:
            self._writer.loop.call_soon_threadsafe(self._wait, future)
        except RuntimeError:  # the store closed meanwhile
            return
        while not self._writer.closed:  # closing stops the loop, which may then never answer
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                continue

    # On the writer's loop --------------------------------------------------------------------

    def _wait(self, future: Future) -> None:
        if self._writer.closed or not self.backlog:
            future.set_result(None)
            return
        self._waiters.append((self._newest_arrival, future))
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._writer.loop.call_soon(self._tick)

    def _tick(self) -> None:
        self._timer = None
        loop = self._writer.loop
        quiet_in = self._writer.last_write + self._idle - loop.time()
        if quiet_in > 0 and not self._waiters:
            # Mail is still arriving and nobody is reading: storing it comes first.
            self._timer = loop.call_later(quiet_in, self._tick)
            return
        done = self._writer.commit_now(self._index_chunk)
        if done.exception() is not None:
            log.error("indexing stored messages failed: %s", done.exception())
            self._release_waiters(done.exception())
            self._timer = loop.call_later(RETRY_AFTER_FAILURE, self._tick)
            return
        indexed_up_to = done.result()
        if not indexed_up_to:  # nothing was left to index
            self._release_waiters(None)
            return
        still_waiting = []
        for newest, future in self._waiters:
            if self.backlog and newest > indexed_up_to:
                still_waiting.append((newest, future))
            else:
                future.set_result(None)
        self._waiters = still_waiting
        if self.backlog:
            # The next chunk after the callbacks already due: arrivals get their turn in between.
            self._timer = loop.call_soon(self._tick)

    def _index_chunk(self, connection: sqlite3.Connection) -> int:
        self.changed()
        return index_backlog(connection, INDEX_CHUNK)

    def _release_waiters(self, error: BaseException | None) -> None:
        waiting, self._waiters = self._waiters, []
        for _, future in waiting:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def stop(self) -> None:
        """(The loop has stopped.) No more passes; readers still waiting go ahead."""
        if self._timer is not None:
            self._timer.cancel()
        self._release_waiters(None)
