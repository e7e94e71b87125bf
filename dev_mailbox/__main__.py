"""`python -m dev_mailbox`: run the mail catcher until Ctrl-C."""

import argparse
import json
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from dev_mailbox import scenarios
from dev_mailbox.access import checked_token
from dev_mailbox.server import DEFAULT_MAX_SIZE, Mailbox


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def convert(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    return convert


def _token(text: str) -> str:
    try:
        return checked_token(text)
    except ValueError as error:  # argparse shows the message of this kind of error only
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dev_mailbox",
        description="Dev mailbox: catch all e-mail over SMTP, read it in a web inbox or JSON API.",
    )
    parser.add_argument("--smtp-host", default="127.0.0.1", help="SMTP address (default %(default)s)")
    parser.add_argument("--smtp-port", type=int, default=1025, help="SMTP port (default %(default)s)")
    parser.add_argument("--http-host", default="127.0.0.1", help="web address (default %(default)s)")
    parser.add_argument("--http-port", type=int, default=8025, help="web port (default %(default)s)")
    parser.add_argument(
        "--access-token",
        type=_token,
        # An empty variable counts as unset, as a shell script that exports it blank means.
        default=os.environ.get("DEV_MAILBOX_TOKEN") or None,
        metavar="TOKEN",
        help="require this token for the inbox and API (default: $DEV_MAILBOX_TOKEN; without it,"
        " a random one when --http-host is not a loopback address, none otherwise)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path("instance/dev_mailbox.sqlite3"),
        help="SQLite file (default %(default)s)",
    )
    parser.add_argument(
        "--max-size",
        type=_positive(int),
        default=DEFAULT_MAX_SIZE,
        metavar="BYTES",
        help="largest message accepted; bigger ones get 552 (default %(default)s)",
    )
    parser.add_argument(
        "--max-messages", type=_positive(int), metavar="N", help="keep only the newest N messages"
    )
    parser.add_argument(
        "--max-age", type=_positive(float), metavar="DAYS", help="delete messages older than this"
    )
    parser.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help='JSON: a list of {"match", "action", "seconds"?} or {"rules": [...], "chaos": {...}}',
    )
    return parser.parse_args(argv)


def load_scenarios(path: Path) -> tuple[list[scenarios.Rule], scenarios.Chaos | None]:
    """Rules (and optionally chaos) from a JSON file; ScenarioError or OSError when unusable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise scenarios.ScenarioError(
            scenarios.N_("%(path)s: not valid JSON: %(error)s"), path=path, error=error
        ) from None
    if isinstance(document, dict):
        unknown = set(document) - {"rules", "chaos"}
        if unknown:
            raise scenarios.ScenarioError(
                scenarios.N_("%(path)s: unknown key(s) %(keys)s"),
                path=path,
                keys=", ".join(sorted(unknown)),
            )
        chaos = document.get("chaos")
        return (
            scenarios.parse_rules(document.get("rules", [])),
            None if chaos is None else scenarios.parse_chaos(chaos),
        )
    return scenarios.parse_rules(document), None


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    rules, chaos = None, None
    if arguments.rules:
        try:
            rules, chaos = load_scenarios(arguments.rules)
        except (OSError, scenarios.ScenarioError) as error:
            print(f"dev_mailbox: --rules: {error}", file=sys.stderr)
            return 2
    mailbox = Mailbox(
        arguments.db,
        arguments.smtp_host,
        arguments.smtp_port,
        arguments.http_host,
        arguments.http_port,
        max_size=arguments.max_size,
        max_messages=arguments.max_messages,
        max_age_days=arguments.max_age,
        rules=rules,
        chaos=chaos,
        access_token=arguments.access_token,
    )
    try:
        mailbox.start()
    except (OSError, sqlite3.DatabaseError) as error:  # port taken, unusable --db file
        print(f"dev_mailbox: cannot start: {error}", file=sys.stderr)
        return 1
    print(f"dev_mailbox: SMTP on {mailbox.smtp_host}:{mailbox.smtp_port}", flush=True)
    print(f"dev_mailbox: inbox and API on {mailbox.web_url}", flush=True)
    if mailbox.access_token:
        print(f"dev_mailbox: open {mailbox.access_url}", flush=True)
        print(f"dev_mailbox: API clients send: Authorization: Bearer {mailbox.access_token}", flush=True)
    if mailbox.spamd.installed:
        mailbox.spamd.start()  # in the background: ready by the time someone opens a message
        print(f"dev_mailbox: spam scores from SpamAssassin ({mailbox.spamd.executable})", flush=True)
    else:
        print("dev_mailbox: no spam scores: SpamAssassin is not installed (apt-get install spamd)")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        mailbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
