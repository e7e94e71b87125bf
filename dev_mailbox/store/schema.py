"""The SQLite file: its tables, how connections to it are opened, and bringing a database from
an older version up to date."""

import sqlite3
from pathlib import Path

from dev_mailbox.store.indexing import forget_index
from dev_mailbox.store.rows import compress_source

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
-- The unread counts per folder, shown on every inbox page, read this index alone (the rowid is in
-- every entry): with only the one above they looked up every unread row, 50 ms at 100,000 messages.
CREATE INDEX IF NOT EXISTS messages_unread_by_folder ON messages (read, folder);
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
-- its indexed values again; they are derived from the stored source (see indexing.unindex).
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


def connect_writer(path: Path) -> sqlite3.Connection:
    """The one connection that writes (see writer.Writer)."""
    # isolation_level=None: transactions are opened explicitly, one per batch.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    # FULL: a commit is on disk (not only in the OS cache) before any client hears 250.
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA busy_timeout = 5000")
    return connection


def connect_reader(path: Path) -> sqlite3.Connection:
    """A connection that only reads (WAL lets it read while the writer writes)."""
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute("PRAGMA query_only = 1")
    return connection


def migrate(connection: sqlite3.Connection) -> None:
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
        forget_index(connection)
    if version < 3 and "message_sources" in tables:
        sources = connection.execute("SELECT rowid, raw FROM message_sources").fetchall()
        connection.executemany(
            "UPDATE message_sources SET raw = ? WHERE rowid = ?",
            [(compress_source(bytes(raw)), rowid) for rowid, raw in sources],
        )
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    connection.execute("COMMIT")
