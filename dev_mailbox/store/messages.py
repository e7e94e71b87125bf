"""Writing messages: storing what arrives (with its delivery log lines), marking read,
deleting. Each function runs inside a write job on the writer."""

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass

from dev_mailbox.mime import Address
from dev_mailbox.store.rows import Delivery, LogEntry, compress_source, to_json

_NOBODY = to_json(Address("", "").as_api())
# Where each message's rows are, by table; a message is deleted from all of them.
_MESSAGE_ROWS = (
    ("messages", "rowid"),
    ("message_sources", "rowid"),
    ("recipients", "message"),
    ("message_tags", "message"),
)


def new_message_id() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Arrival:
    """One copy of an accepted message as it is first written: what SMTP gave, nothing parsed."""

    id: str
    folder: str
    recipients: list[str]
    envelope_from: str
    size: int
    raw: bytes

    @classmethod
    def copies(cls, delivery: Delivery) -> list["Arrival"]:
        """One per folder the delivery goes to, sharing the deflated source."""
        raw = compress_source(delivery.raw) if delivery.folders else b""
        return [
            cls(new_message_id(), folder, recipients, delivery.envelope_from, len(delivery.raw), raw)
            for folder, recipients in delivery.folders.items()
        ]

    def insert(self, connection: sqlite3.Connection) -> int:
        """Its rowid; the parsed columns stay empty until it is indexed (see indexing)."""
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
                to_json(self.recipients),
            ),
        ).lastrowid
        connection.execute("INSERT INTO message_sources (rowid, raw) VALUES (?, ?)", (rowid, self.raw))
        return rowid


def insert_log(connection: sqlite3.Connection, entries: list[LogEntry]) -> None:
    connection.executemany(
        "INSERT INTO delivery_log (created, action, sender, recipient, reason, message, subject)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(e.created, e.action, e.sender, e.recipient, e.reason, e.message, e.subject) for e in entries],
    )


def clear_log(connection: sqlite3.Connection) -> None:
    connection.execute("DELETE FROM delivery_log")


def rowids_of(connection: sqlite3.Connection, ids: list[str]) -> list[int]:
    """The rowids of the messages with these ids."""
    rows = connection.execute(
        "SELECT rowid FROM messages WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
    )
    return [row[0] for row in rows]


def set_read(connection: sqlite3.Connection, ids: list[str] | None, read: bool) -> int:
    """Mark the given messages (all when ids is None) read or unread; how many there were."""
    if ids is None:
        return connection.execute("UPDATE messages SET read = ?", (int(read),)).rowcount
    return connection.execute(
        "UPDATE messages SET read = ? WHERE id IN (SELECT value FROM json_each(?))",
        (int(read), json.dumps(ids)),
    ).rowcount


def delete_rows(connection: sqlite3.Connection, rowids: list[int]) -> None:
    """Delete these messages' rows (the search index is the caller's: see indexing.unindex)."""
    marks = ",".join("?" * len(rowids))
    for table, column in _MESSAGE_ROWS:
        # marks is only "?,?,...": the values themselves are bound parameters.
        connection.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", rowids)  # noqa: S608


def delete_all(connection: sqlite3.Connection) -> int:
    """Delete every message, and the whole search index; how many messages there were."""
    deleted = connection.execute("SELECT count(*) FROM messages").fetchone()[0]
    for table, _ in _MESSAGE_ROWS:
        connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    connection.execute("INSERT INTO message_search (message_search) VALUES ('delete-all')")
    return deleted
