"""What the store takes and gives: a Delivery in, a Summary and LogEntry out; and how the
columns hold them (JSON text, deflated sources)."""

import json
import sqlite3
import zlib
from dataclasses import dataclass

# One encoder, made once: json.dumps with any option builds a new encoder on every call.
to_json = json.JSONEncoder(ensure_ascii=False).encode


def compress_source(raw: bytes) -> bytes:
    """Raw messages are kept deflated: e-mail text shrinks about threefold, and a 2 KB message
    no longer takes a 4 KB page of its own. Level 1: most of the gain for little CPU."""
    return zlib.compress(raw, 1)


@dataclass(frozen=True)
class Delivery:
    """One accepted SMTP transaction: the bytes, and which recipients go to which folder."""

    raw: bytes
    envelope_from: str
    folders: dict[str, list[str]]


@dataclass(frozen=True)
class LogEntry:
    """One line of the delivery log: what happened to one recipient, and why."""

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

    # The columns from_row reads, in its order (`m` is the messages table).
    COLUMNS = (
        "m.rowid, m.id, m.created, m.folder, m.read, m.message_id, m.sender, m.to_list, m.cc_list,"
        " m.bcc_list, m.reply_to_list, m.subject, m.size, m.attachments, m.snippet,"
        " m.envelope_from, m.envelope_to, m.tags"
    )

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
