"""Settings kept in the database, as JSON by key: the delivery rules, chaos, and the key that
signs the inbox's session cookies."""

import json
import sqlite3
from typing import Any

from dev_mailbox import scenarios


def read(connection: sqlite3.Connection, key: str) -> Any:
    """The value saved under `key`, None when there is none."""
    row = connection.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])


def save(connection: sqlite3.Connection, key: str, value: Any) -> None:
    connection.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value, ensure_ascii=False)),
    )


def rules(connection: sqlite3.Connection) -> list[scenarios.Rule]:
    """The saved delivery rules; none when what was saved no longer parses."""
    try:
        return scenarios.parse_rules(read(connection, "rules") or [])
    except scenarios.ScenarioError:
        return []


def chaos(connection: sqlite3.Connection) -> scenarios.Chaos:
    """The saved chaos rates; the defaults when what was saved no longer parses."""
    try:
        return scenarios.parse_chaos(read(connection, "chaos") or {})
    except scenarios.ScenarioError:
        return scenarios.default_chaos()
