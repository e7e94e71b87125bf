"""Search queries (free text, from:, to:, subject:, tag:, is:spam, before:, after:) turned into SQL."""

import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from dev_mailbox.mime import clean_tag

# FTS5 columns of the message_search table, by the query prefix that targets them.
FIELD_COLUMNS = {"from": "sender", "to": "recipients", "subject": "subject"}
# Free text looks in these; the folder column is only for is:spam / is:inbox.
TEXT_COLUMNS = "{subject sender recipients body}"
FOLDERS = ("inbox", "spam")
READ_FLAGS = {"read": 1, "unread": 0}


class SearchError(ValueError):
    """A query that cannot be understood; the message says which part."""


@dataclass
class Filter:
    """Which messages: a folder, FTS5 terms, a time window, and SQL conditions on `messages m`.

    The store turns this into SQL (see Store.find): the FTS index drives the query whenever
    there are terms, because it can walk its matches newest first and stop at a page.
    """

    folder: str | None = None
    fts_terms: list[str] = field(default_factory=list)
    after: float | None = None
    before: float | None = None
    conditions: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    impossible: bool = False

    def in_folder(self, folder: str) -> "Filter":
        if self.folder not in (None, folder):
            self.impossible = True  # is:spam while looking at the Inbox, say
        self.folder = folder
        return self

    def to_recipient(self, address: str) -> "Filter":
        """Messages for this address: envelope recipient, To, Cc or Bcc (exact, any case)."""
        self.conditions.append("m.rowid IN (SELECT message FROM recipients WHERE address = ?)")
        self.params.append(address.strip().lower())
        return self

    def with_tag(self, tag: str) -> "Filter":
        """Messages tagged so (any case); "spam" is also the spam folder, as the API's Tags say."""
        tagged = "m.rowid IN (SELECT message FROM message_tags WHERE name = ?)"
        if tag.lower() == "spam":
            tagged = f"(m.folder = 'spam' OR {tagged})"
        self.conditions.append(tagged)
        self.params.append(tag)
        return self

    def fts_query(self) -> str:
        """The FTS5 expression: every term, plus the folder (indexed as a word of its own)."""
        folder = [f"folder : {self.folder}"] if self.folder else []
        return " AND ".join(self.fts_terms + folder)


def _phrase(text: str) -> str:
    """An FTS5 prefix phrase: quoting makes every character literal, so input cannot inject."""
    return '"' + text.replace('"', '""') + '"*'


def _day(value: str, keyword: str, zone: tzinfo) -> float:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=zone)
    except ValueError:
        raise SearchError(f"{keyword}: needs a date as YYYY-MM-DD, got {value!r}") from None
    return day.timestamp()


def parse_query(query: str, into: Filter | None = None, zone: tzinfo = UTC) -> Filter:
    """Add the conditions of one search query to a filter (a new one by default); before: and
    after: days begin at midnight in `zone` (the inbox passes the zone it shows times in)."""
    result = into or Filter()
    try:
        words = shlex.split(query)
    except ValueError:
        words = query.replace('"', " ").split()
    for word in words:
        keyword, _, value = word.partition(":")
        keyword, flag = keyword.lower(), value.lower()
        if value and keyword in FIELD_COLUMNS:
            result.fts_terms.append(f"{FIELD_COLUMNS[keyword]} : {_phrase(value)}")
        elif value and keyword == "tag":
            result.with_tag(clean_tag(value))
        elif value and keyword == "is":
            if flag in FOLDERS:
                result.in_folder(flag)
            elif flag in READ_FLAGS:
                result.conditions.append("m.read = ?")
                result.params.append(READ_FLAGS[flag])
            else:
                raise SearchError(f"is: knows {', '.join(FOLDERS + tuple(READ_FLAGS))}, not {value!r}")
        elif value and keyword == "before":
            day = _day(value, keyword, zone)
            result.before = day if result.before is None else min(result.before, day)
        elif value and keyword == "after":
            # after:2024-05-01 includes the whole of that day.
            day = _day(value, keyword, zone)
            result.after = day if result.after is None else max(result.after, day)
        elif word.strip():
            result.fts_terms.append(f"{TEXT_COLUMNS} : {_phrase(word)}")
    return result
