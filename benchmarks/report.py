"""Write one benchmark's section into benchmarks/RESULTS.md, leaving the other sections as they are."""

import logging
import platform
import re
import statistics
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nWritten by `make bench`; each section is replaced when its benchmark runs.\n"


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section called `name` in RESULTS.md and print it."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<!-- {name} -->\n## {name}\n\n"
        f"_{stamp}, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}_\n\n{markdown.strip()}\n<!-- /{name} -->\n"
    )
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->\n", re.S)
    text = pattern.sub(lambda _: body, text) if pattern.search(text) else text + "\n" + body
    RESULTS.write_text(text, encoding="utf-8")
    print(body)


def percentile(values: list[float], rank: int) -> float:
    """The rank-th percentile, interpolated between samples (never beyond the largest)."""
    return statistics.quantiles(values, n=100, method="inclusive")[rank - 1]


def quiet_servers() -> None:
    """No log line per request or e-mail from the servers under test: it would bury the figures."""
    for name in ("werkzeug", "webapp.request", "webapp.outbox"):
        logging.getLogger(name).setLevel(logging.WARNING)
