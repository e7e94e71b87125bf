"""Dev mailbox ingest measured by an outside client: Postfix's smtp-source against the mailbox
and against a bare aiosmtpd server, taking turns.

    python -m benchmarks.smtp_source [--rounds 5]

smtp-source (Debian's postfix package; `make bench` installs it) runs `-s 8 -m 4000 -l 2000`:
8 sessions in parallel, 4,000 messages of 2,000 bytes, a new connection per message (HELO, MAIL,
RCPT, DATA, QUIT). It exits 0 only once every message had a 2xx answer to its final dot, and
stops at the first other answer, so its run time is the time to have all 4,000 acknowledged;
the mailbox acknowledges a message only after the COMMIT that holds it (WAL, synchronous=FULL).
After each of its turns the mailbox's API is read, which waits until what arrived is indexed,
so that this later work is not done in the bare server's turn; that wait is reported apart.
The servers take turns, the order swapped every round, so that a noisy neighbour on the machine
hits them alike; each round gives one ratio, and the section reports their range.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.mailbox_ingest import cpu_seconds, finish, load_time, run_bare, run_mailbox, start
from benchmarks.report import write_section

SESSIONS = 8
MESSAGES = 4000
LENGTH = 2000
WARM_UP_MESSAGES = 200


def smtp_source_binary() -> str:
    """The path of smtp-source; it lives in /usr/sbin, which a plain user's PATH may lack."""
    found = shutil.which("smtp-source", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        raise SystemExit("smtp-source is missing: install Debian's postfix package (make bench does)")
    return found


def send(binary: str, port: int, messages: int) -> float:
    """Seconds until smtp-source has had every one of `messages` acknowledged by the server."""
    command = [binary, "-s", str(SESSIONS), "-m", str(messages), "-l", str(LENGTH), f"127.0.0.1:{port}"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed arguments
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"smtp-source against port {port} failed: {done.stderr.strip()[-300:]}")
    return seconds


def stored_total(http_port: int) -> int:
    """How many messages the mailbox holds, as its API reports (after indexing caught up)."""
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
    try:
        connection.request("GET", "/api/v1/messages?limit=1")
        return json.loads(connection.getresponse().read())["total"]
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="turns per server")
    arguments = parser.parse_args()
    binary = smtp_source_binary()

    with tempfile.TemporaryDirectory(prefix="smtp-source-bench-") as workdir:
        bare, bare_port, bare_stop = start(run_bare)
        mailbox, (smtp_port, http_port), mailbox_stop = start(run_mailbox, Path(workdir) / "m.sqlite3")
        seconds = {"bare": [], "mailbox": []}
        cpu = {"bare": 0.0, "mailbox": 0.0}
        settling = []
        servers = {"bare": (bare_port, bare.pid), "mailbox": (smtp_port, mailbox.pid)}
        load_before = os.getloadavg()[0]
        try:
            for name in servers:
                send(binary, servers[name][0], WARM_UP_MESSAGES)
            load_time(http_port, "/api/v1/messages?limit=1")
            for number in range(arguments.rounds):
                order = ["bare", "mailbox"] if number % 2 == 0 else ["mailbox", "bare"]
                for name in order:
                    port, pid = servers[name]
                    used = cpu_seconds(pid)
                    seconds[name].append(send(binary, port, MESSAGES))
                    if name == "mailbox":
                        settling.append(load_time(http_port, "/api/v1/messages?limit=1"))
                    cpu[name] += cpu_seconds(pid) - used
            stored = stored_total(http_port)
        finally:
            finish(bare, bare_stop)
            finish(mailbox, mailbox_stop)
        load_after = os.getloadavg()[0]

    rounds = arguments.rounds
    expected = WARM_UP_MESSAGES + rounds * MESSAGES
    ratios = [bare_time / ours for bare_time, ours in zip(seconds["bare"], seconds["mailbox"], strict=True)]
    rate = {name: rounds * MESSAGES / sum(times) for name, times in seconds.items()}
    rows = "\n".join(
        f"| {label} | {rate[name]:.0f} | {MESSAGES / max(seconds[name]):.0f}–"
        f"{MESSAGES / min(seconds[name]):.0f} | {cpu[name] / (rounds * MESSAGES) * 1000:.2f} |"
        for name, label in (
            ("bare", "bare aiosmtpd (stores nothing)"),
            ("mailbox", "dev_mailbox (250 after commit, WAL, synchronous=FULL)"),
        )
    )
    median = statistics.median(ratios)
    write_section(
        "Dev mailbox ingest, smtp-source",
        f"""
`smtp-source -s {SESSIONS} -m {MESSAGES} -l {LENGTH}` (Debian's postfix package), a new connection
per message, against each server in turn: {rounds} rounds, the order swapped every round, after
a warm-up of {WARM_UP_MESSAGES} messages each. Each server runs in its own process; smtp-source exits
once all {MESSAGES} messages had a 2xx answer to their final dot.

| server | messages/s (all rounds) | per round (slowest–fastest) | server CPU per message (ms) |
|---|---|---|---|
{rows}

dev_mailbox ÷ bare, per round: {", ".join(f"{r:.2f}" for r in ratios)};
**{min(ratios):.2f}–{max(ratios):.2f}**, median {median:.2f}; goal: 0.75 of bare (the median):
**{"met" if median >= 0.75 else "NOT met"}**.
After each of its turns the mailbox's API answered in {statistics.mean(settling):.2f} s on average
(it waits until what arrived is indexed); that time is not in the rates above.
The mailbox held {stored:,} messages at the end, of {expected:,} acknowledged.

Machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before and {load_after:.1f} after:
other work shares the CPUs, so the figures move from run to run; the turns make it hit both alike.
""",
    )


if __name__ == "__main__":
    main()
