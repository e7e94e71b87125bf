"""Reading: a search Filter turned into SQL, and the queries behind listing, counting and
fetching messages and the delivery log. Readers use connections of their own (WAL lets them
read while the writer writes)."""

import queue
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dev_mailbox.search import Filter
from dev_mailbox.store.rows import LogEntry, Summary
from dev_mailbox.store.schema import connect_reader

IDLE_READERS = 4
# The FTS5 columns of message_search a word is looked for in, by Filter field (None: any text;
# the folder column is only for is:spam and is:inbox).
FIELD_COLUMNS = {
    None: "{subject sender recipients body}",
    "from": "sender",
    "to": "recipients",
    "subject": "subject",
}


class Readers:
    """Read-only connections to the file, kept for reuse (IDLE_READERS of them at most)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self.closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = connect_reader(self.path)
        try:
            yield connection
        finally:
            if self.closed or self._idle.qsize() >= IDLE_READERS:
                connection.close()
            else:
                self._idle.put(connection)

    def close(self) -> None:
        self.closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break


# What a reader may see ---------------------------------------------------------------------


def shown(connection: sqlite3.Connection, column: str = "rowid") -> tuple[str, list]:
    """(condition, parameters) leaving out messages from the first not indexed yet on: they
    arrived after this reader caught up (indexing goes oldest first)."""
    first = connection.execute("SELECT min(rowid) FROM messages WHERE indexed = 0").fetchone()[0]
    return ("1", []) if first is None else (f"{column} < ?", [first])


def counts(connection: sqlite3.Connection) -> tuple[int, int]:
    """(all messages, unread messages)."""
    condition, params = shown(connection)
    total = connection.execute(f"SELECT count(*) FROM messages WHERE {condition}", params)  # noqa: S608
    unread = connection.execute(
        f"SELECT count(*) FROM messages WHERE read = 0 AND {condition}",  # noqa: S608
        params,
    )
    return total.fetchone()[0], unread.fetchone()[0]


def tags(connection: sqlite3.Connection) -> list[str]:
    """Tags in use, sorted, as Mailpit lists them: the messages' X-Tags, and "spam" for the
    spam folder."""
    condition, params = shown(connection)
    spam = connection.execute(
        f"SELECT EXISTS (SELECT 1 FROM messages WHERE folder = 'spam' AND {condition})",  # noqa: S608
        params,
    ).fetchone()[0]
    tagged, params = shown(connection, "message")
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


def folder_counts(connection: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """(all, unread) messages by folder. Two counts, not one with sum(read = 0): each keeps its index
    (the unread one covers (read, folder): 6 ms at 100,000 messages)."""
    condition, params = shown(connection)

    def by_folder(also: str) -> dict[str, int]:
        rows = connection.execute(
            f"SELECT folder, count(*) FROM messages WHERE {also}{condition} GROUP BY folder",  # noqa: S608
            params,
        )
        return dict(rows.fetchall())

    totals, unread = by_folder(""), by_folder("read = 0 AND ")
    return {folder: (total, unread.get(folder, 0)) for folder, total in totals.items()}


# A Filter as SQL -----------------------------------------------------------------------------


def _phrase(text: str) -> str:
    """An FTS5 prefix phrase: quoting makes every character literal, so input cannot inject."""
    return '"' + text.replace('"', '""') + '"*'


def _fts_query(where: Filter) -> str:
    """The FTS5 expression: every word, plus the folder (indexed as a word of its own)."""
    terms = [f"{FIELD_COLUMNS[field]} : {_phrase(text)}" for field, text in where.words]
    folder = [f"folder : {where.folder}"] if where.folder else []
    return " AND ".join(terms + folder)


def _conditions(where: Filter) -> tuple[list[str], list]:
    """The filter's conditions on `messages m` besides words, folder and dates."""
    conditions, params = [], []
    for address in where.recipients:
        conditions.append("m.rowid IN (SELECT message FROM recipients WHERE address = ?)")
        params.append(address)
    for tag in where.tags:
        tagged = "m.rowid IN (SELECT message FROM message_tags WHERE name = ?)"
        # "spam" is also the spam folder, as the API's Tags say.
        conditions.append(f"(m.folder = 'spam' OR {tagged})" if tag.lower() == "spam" else tagged)
        params.append(tag)
    if where.read is not None:
        conditions.append("m.read = ?")
        params.append(int(where.read))
    return conditions, params


def _on_messages(where: Filter) -> bool:
    """Whether the filter has conditions on `messages m` besides the folder and dates."""
    return bool(where.recipients or where.tags or where.read is not None)


def needs_index(where: Filter) -> bool:
    """Whether the filter looks at what indexing fills in (a folder or dates do not)."""
    return bool(where.words) or _on_messages(where)


def _rowid_window(connection: sqlite3.Connection, where: Filter, only_shown: bool) -> tuple[list[str], list]:
    """Dates, and for a reader the messages it may see (`shown`), as a rowid range (rowids
    follow arrival order, and the FTS index can seek them): (conditions on `rowid`, their
    parameters); usually none without dates, so that counting can use a small index."""
    conditions: list[str] = []
    params: list = []
    if only_shown:
        condition, bound = shown(connection)
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


def _source(connection: sqlite3.Connection, where: Filter, only_shown: bool = True) -> tuple[str, list, str]:
    """(FROM ... WHERE ..., its parameters, the rowid column) for a filter; `only_shown`: only
    what a reader may see (a deletion takes messages not indexed yet too).

    With words the FTS index is the outer loop (CROSS JOIN keeps SQLite from turning it
    around, which is orders of magnitude slower): it yields matches newest first, so a page
    stops early. Without words the messages table and its indexes answer alone.
    """
    window, params = _rowid_window(connection, where, only_shown)
    table = "s" if where.words else "m"
    others, other_params = _conditions(where)
    conditions = [f"{table}.{condition}" for condition in window] + others
    params += other_params
    if where.words:
        conditions.insert(0, "s.message_search MATCH ?")
        params.insert(0, _fts_query(where))
        source = "message_search s CROSS JOIN messages m ON m.rowid = s.rowid"
    else:
        source = "messages m"
        if where.folder:
            conditions.append("m.folder = ?")
            params.append(where.folder)
    return f"FROM {source} WHERE {' AND '.join(conditions) or '1'}", params, f"{table}.rowid"


def _count(connection: sqlite3.Connection, where: Filter, source: str, params: list) -> int:
    """How many rows `source` (from _source for `where`) holds."""
    if where.words and not _on_messages(where):
        # Counting inside the index alone avoids one messages lookup per match.
        source = source.replace(" CROSS JOIN messages m ON m.rowid = s.rowid", "")
    return connection.execute(f"SELECT count(*) {source}", params).fetchone()[0]  # noqa: S608


def find(
    connection: sqlite3.Connection, where: Filter, start: int, limit: int, count: bool
) -> tuple[list[Summary], int | None]:
    """One page of matching messages, newest first, and how many match in all (None when
    `count` is off)."""
    source, params, rowid = _source(connection, where)
    rows = connection.execute(
        f"SELECT {Summary.COLUMNS} {source} ORDER BY {rowid} DESC LIMIT ? OFFSET ?",  # noqa: S608
        [*params, limit, start],
    ).fetchall()
    matched = _count(connection, where, source, params) if count else None
    return [Summary.from_row(row) for row in rows], matched


def matching_rowids(connection: sqlite3.Connection, where: Filter) -> list[int]:
    """The rowids of every message matching, indexed yet or not (for deleting them)."""
    source, params, rowid = _source(connection, where, only_shown=False)
    return [row[0] for row in connection.execute(f"SELECT {rowid} {source}", params)]  # noqa: S608


def get(connection: sqlite3.Connection, message_id: str) -> tuple[Summary, bytes] | None:
    """A message and its raw bytes by id; "latest" means the newest message."""
    condition, params = shown(connection, "m.rowid")
    if message_id == "latest":
        condition = f"{condition} ORDER BY m.rowid DESC LIMIT 1"
    else:
        condition, params = f"m.id = ? AND {condition}", [message_id, *params]
    row = connection.execute(
        f"SELECT {Summary.COLUMNS}, s.raw FROM messages m"  # noqa: S608
        f" JOIN message_sources s ON s.rowid = m.rowid WHERE {condition}",
        params,
    ).fetchone()
    if row is None:
        return None
    return Summary.from_row(row), zlib.decompress(row[-1])


def log_entries(connection: sqlite3.Connection, limit: int, start: int) -> list[LogEntry]:
    """Delivery log entries, newest first, with the subjects of the messages still stored."""
    rows = connection.execute(
        "SELECT d.created, d.action, d.sender, d.recipient, d.reason, d.message,"
        " coalesce(m.subject, d.subject), m.rowid IS NOT NULL FROM delivery_log d"
        " LEFT JOIN messages m ON m.id = d.message AND d.message != ''"
        " ORDER BY d.rowid DESC LIMIT ? OFFSET ?",
        (limit, start),
    ).fetchall()
    return [LogEntry(*row[:7], stored=bool(row[7])) for row in rows]
