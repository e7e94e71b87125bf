"""The one place the app reads the time: naive UTC, the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
