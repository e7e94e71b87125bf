"""Search queries (free text, from:, to:, subject:, is:spam, before:, after:) turned into SQL."""

import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime

# FTS5 columns of the message_search table, by the query prefix that targets them.
FIELD_COLUMNS = {"from": "sender", "to": "recipients", "subject": "subject"}
FLAGS = {
    "spam": ("m.folder = ?", "spam"),
    "inbox": ("m.folder = ?", "inbox"),
    "read": ("m.read = ?", 1),
    "unread": ("m.read = ?", 0),
}


class SearchError(ValueError):
    """A query that cannot be understood; the message says which part."""


@dataclass
class Filter:
    """SQL conditions on `messages m`, plus an FTS5 expression when text is searched."""

    conditions: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    fts_terms: list[str] = field(default_factory=list)

    def in_folder(self, folder: str) -> "Filter":
        self.conditions.append("m.folder = ?")
        self.params.append(folder)
        return self

    def to_recipient(self, address: str) -> "Filter":
        """Messages for this address: envelope recipient, To, Cc or Bcc (exact, any case)."""
        self.conditions.append("m.rowid IN (SELECT message FROM recipients WHERE address = ?)")
        self.params.append(address.strip().lower())
        return self

    def where(self) -> tuple[str, list]:
        conditions, params = list(self.conditions), list(self.params)
        if self.fts_terms:
            conditions.append("m.rowid IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)")
            params.append(" AND ".join(self.fts_terms))
        return (" AND ".join(conditions) or "1"), params


def _phrase(text: str) -> str:
    """An FTS5 prefix phrase: quoting makes every character literal, so input cannot inject."""
    return '"' + text.replace('"', '""') + '"*'


def _day(value: str, keyword: str) -> float:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise SearchError(f"{keyword}: needs a date as YYYY-MM-DD, got {value!r}") from None
    return day.timestamp()


def parse_query(query: str, into: Filter | None = None) -> Filter:
    """Add the conditions of one search query to a filter (a new one by default)."""
    result = into or Filter()
    try:
        words = shlex.split(query)
    except ValueError:
        words = query.replace('"', " ").split()
    for word in words:
        keyword, _, value = word.partition(":")
        keyword = keyword.lower()
        if value and keyword in FIELD_COLUMNS:
            result.fts_terms.append(f"{FIELD_COLUMNS[keyword]} : {_phrase(value)}")
        elif value and keyword == "is":
            if value.lower() not in FLAGS:
                raise SearchError(f"is: knows {', '.join(FLAGS)}, not {value!r}")
            condition, param = FLAGS[value.lower()]
            result.conditions.append(condition)
            result.params.append(param)
        elif value and keyword == "before":
            result.conditions.append("m.created < ?")
            result.params.append(_day(value, keyword))
        elif value and keyword == "after":
            # after:2024-05-01 includes the whole of that day.
            result.conditions.append("m.created >= ?")
            result.params.append(_day(value, keyword))
        elif word.strip():
            result.fts_terms.append(_phrase(word))
    return result
