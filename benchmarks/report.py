"""What the benchmarks share: writing a section of benchmarks/RESULTS.md (leaving the others as they are),
percentiles, quiet servers, and the CPU time of a process tree."""

import logging
import os
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


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) used so far by a process and every process under it, from /proc: its
    own, its ended children's (a gunicorn worker recycled after max_requests, an ended PostgreSQL
    backend) and its living children's."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0  # gone
    # utime, stime, cutime, cstime: fields 14 to 17 of stat.
    own = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_cpu_seconds(int(child)) for child in children)
