"""A test's view of a running mailbox: the object the `mailbox` pytest fixture yields."""

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dev_mailbox import scenarios
from dev_mailbox.mime import parse_message
from dev_mailbox.search import Filter
from dev_mailbox.server import Mailbox
from dev_mailbox.store import LogEntry, Store, Summary

POLL_SECONDS = 0.2
SHOWN_ON_TIMEOUT = 20


class Headers(Mapping[str, str]):
    """Decoded headers by name, any case; `get_all` gives every value of a repeated header."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __getitem__(self, name: str) -> str:
        for key, value in self._pairs:
            if key.lower() == name.lower():
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key for key, _ in self._pairs))

    def __len__(self) -> int:
        return len(dict.fromkeys(key.lower() for key, _ in self._pairs))

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key.lower() == name.lower()]


@dataclass(frozen=True)
class Message:
    id: str
    subject: str
    sender: str
    to: list[str]
    recipients: list[str]
    text: str
    html: str
    headers: Headers
    links: list[str]
    folder: str
    raw: bytes

    @classmethod
    def from_store(cls, summary: Summary, raw: bytes) -> "Message":
        parsed = parse_message(raw)
        return cls(
            id=summary.id,
            subject=summary.subject,
            sender=parsed.sender.address or summary.envelope_from,
            to=[a.address for a in parsed.to] or list(summary.envelope_to),
            recipients=list(summary.envelope_to),
            text=parsed.text,
            html=parsed.html,
            headers=Headers(parsed.headers),
            links=parsed.links,
            folder=summary.folder,
            raw=raw,
        )


class MailboxHandle:
    """Start, stop, read and steer one Mailbox from a test."""

    def __init__(self, db_path: Path, host: str = "127.0.0.1", **options: Any) -> None:
        """Free ports on `host`; `options` go to Mailbox (max_size, smtp_timeout, ...)."""
        self._mailbox = Mailbox(db_path, host, 0, host, 0, **options)

    @property
    def smtp_host(self) -> str:
        return self._mailbox.smtp_host

    @property
    def smtp_port(self) -> int:
        return self._mailbox.smtp_port

    @property
    def web_url(self) -> str:
        return self._mailbox.web_url

    @property
    def api_url(self) -> str:
        return self._mailbox.web_url

    def start(self) -> None:
        """Start (again) on the same ports with the same database."""
        self._mailbox.start()

    def stop(self) -> None:
        """Stop SMTP and HTTP (clients get connection refused); stored mail stays."""
        self._mailbox.stop()

    @property
    def _store(self) -> Store:
        if self._mailbox.store is None:
            raise RuntimeError("the mailbox is stopped: call start() first")
        return self._mailbox.store

    def _messages(self, where: Filter) -> list[Message]:
        summaries, _ = self._store.find(where, 0, 100_000)
        found = (self._store.get(summary.id) for summary in reversed(summaries))
        return [Message.from_store(*pair) for pair in found if pair is not None]

    def messages(self, to: str | None = None) -> list[Message]:
        """Stored messages, oldest first, both folders; only those for `to` when given."""
        where = Filter()
        if to:
            where.to_recipient(to)
        return self._messages(where)

    def wait_for(self, to: str | None = None, subject: str | None = None, timeout: float = 10.0) -> Message:
        """The newest message for `to` whose subject contains `subject` (any case), waiting
        up to `timeout` seconds for it to arrive; AssertionError says what did arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self.messages(to)):
                if subject is None or subject.lower() in message.subject.lower():
                    return message
            if time.monotonic() >= deadline:
                raise AssertionError(self._nothing_came(to, subject, timeout))
            self._store.wait_for_change(self._store.version, POLL_SECONDS)

    def _nothing_came(self, to: str | None, subject: str | None, timeout: float) -> str:
        seen = self.messages()[-SHOWN_ON_TIMEOUT:]
        lines = [f"no message to={to!r} subject~={subject!r} within {timeout:g}s; stored:"]
        lines += [f"  {m.folder}: to {', '.join(m.recipients)}: {m.subject!r}" for m in seen]
        lines.append("delivery log (newest last):")
        lines += [f"  {e.action} {e.recipient or '-'} ({e.reason})" for e in self.log()[-SHOWN_ON_TIMEOUT:]]
        return "\n".join(lines)

    def add_rule(self, match: str, action: str, seconds: float | None = None) -> None:
        """Append a delivery rule (first match wins); ScenarioError if it is invalid."""
        rule = {"match": match, "action": action}
        if seconds is not None:
            rule["seconds"] = seconds
        rules = scenarios.parse_rules([r.as_api() for r in self._store.rules] + [rule])
        self._store.save_rules(rules)

    def set_chaos(
        self,
        *,
        sender: int = 0,
        recipient: int = 0,
        data: int = 0,
        authentication: int = 0,
        error_code: int | None = None,
    ) -> None:
        """Failure probabilities in percent (0–100) for MAIL, RCPT, DATA and AUTH; the reply
        code is `error_code`, or each stage's default (451, and 535 for AUTH)."""
        chaos = scenarios.parse_chaos(
            {
                stage: {"ErrorCode": error_code, "Probability": probability}
                for stage, probability in zip(
                    scenarios.CHAOS_STAGES, (sender, recipient, data, authentication), strict=True
                )
            }
        )
        self._store.save_chaos(chaos)

    def clear(self) -> None:
        """Delete every message and the delivery log; rules and chaos stay."""
        self._store.delete()
        self._store.clear_log()

    def log(self) -> list[LogEntry]:
        """Delivery log entries, oldest first."""
        return list(reversed(self._store.log(limit=100_000)))
