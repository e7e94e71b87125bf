"""Search queries (free text, from:, to:, subject:, tag:, is:spam, before:, after:) turned into
a Filter; the store turns a Filter into SQL (dev_mailbox/store/queries.py)."""

import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from dev_mailbox.mime import clean_tag

# The fields a word can be looked for in (from:, to:, subject:); without one, any text.
FIELDS = ("from", "to", "subject")
FOLDERS = ("inbox", "spam")
READ_FLAGS = {"read": True, "unread": False}


class SearchError(ValueError):
    """A query that cannot be understood; the message says which part."""


@dataclass
class Filter:
    """Which messages: a folder, words (each in one field of FIELDS, or anywhere when the
    field is None), a time window, recipients, tags, read or unread. Every condition must hold."""

    folder: str | None = None
    words: list[tuple[str | None, str]] = field(default_factory=list)
    after: float | None = None
    before: float | None = None
    recipients: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    read: bool | None = None
    impossible: bool = False

    def in_folder(self, folder: str) -> "Filter":
        if self.folder not in (None, folder):
            self.impossible = True  # is:spam while looking at the Inbox, say
        self.folder = folder
        return self

    def to_recipient(self, address: str) -> "Filter":
        """Messages for this address: envelope recipient, To, Cc or Bcc (exact, any case)."""
        self.recipients.append(address.strip().lower())
        return self

    def with_tag(self, tag: str) -> "Filter":
        """Messages tagged so (any case); "spam" is also the spam folder, as the API's Tags say."""
        self.tags.append(tag)
        return self

    def only_read(self, read: bool) -> "Filter":
        if self.read not in (None, read):
            self.impossible = True  # is:read is:unread
        self.read = read
        return self


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
        if value and keyword in FIELDS:
            result.words.append((keyword, value))
        elif value and keyword == "tag":
            result.with_tag(clean_tag(value))
        elif value and keyword == "is":
            if flag in FOLDERS:
                result.in_folder(flag)
            elif flag in READ_FLAGS:
                result.only_read(READ_FLAGS[flag])
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
            result.words.append((None, word))
    return result
