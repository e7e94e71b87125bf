"""Dev mailbox benchmark: durable ingest rate against a bare aiosmtpd server (and maildev, where
npm installs it), the inbox while mail pours in, and API latency at 100,000 stored messages.

    python -m benchmarks.mailbox_ingest [--seconds 10] [--stored 100000]

Each server runs in its own process and the SMTP clients in this one, so they do not share a GIL.
Every message is one new connection (EHLO, MAIL, RCPT, DATA, QUIT) with a 2 KB message; 8 clients
run in parallel. The bare server accepts and forgets; the mailbox answers 250 only once the
message is committed, and parses and indexes it afterwards. So that this later work is not done
in another server's turn, after each of its turns the benchmark reads the mailbox's API (which
waits for the index to catch up) and counts that time and CPU as the mailbox's own.
"""

import argparse
import asyncio
import http.client
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.report import percentile, quiet_servers, write_section

CLIENTS = 8
MESSAGE_BYTES = 2048
WORDS = (
    "kool taotlus konto parool lapsevanem kinnitus link õpilane klass õpetaja päevik hinne "
    "kodutöö tunniplaan puudumine teade koosolek ekskursioon söökla raamatukogu andmed "
    "isikukood e-post aadress telefon profiil salvesta edasi valmis abi lisainfo"
).split()
SEARCHES = (
    "taotlus",
    "from:noreply@kool.example",
    "to:parent17@example.com",
    "subject:kinnitus",
    "is:spam",
    "konto is:inbox",
    "after:2020-01-01 parool",
)


def message_bytes(number: int, rng: random.Random) -> tuple[str, bytes]:
    recipient = f"parent{number % 1000}@example.com"
    subject = " ".join(rng.choices(WORDS, k=4)).capitalize()
    head = (
        f"From: Kool <noreply@kool.example>\r\nTo: {recipient}\r\nSubject: {subject} {number}\r\n"
        f"Message-ID: <{number}.bench@kool.example>\r\nDate: Mon, 6 Jan 2025 08:00:00 +0200\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    lines = []
    size = len(head)
    while size < MESSAGE_BYTES:
        line = " ".join(rng.choices(WORDS, k=10)).encode() + b"\r\n"
        lines.append(line)
        size += len(line)
    return recipient, (head + b"".join(lines))[:MESSAGE_BYTES]


# Servers (each in a child process) ---------------------------------------------------------


def run_bare(port_queue, stop_event) -> None:
    """aiosmtpd with the same settings, storing nothing: the ceiling to compare against."""
    from aiosmtpd.smtp import SMTP

    class Forget:
        async def handle_DATA(self, server, session, envelope) -> str:
            return "250 OK"

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Forget(), hostname="bare", enable_SMTPUTF8=True, loop=loop),
            "127.0.0.1",
            0,
        )
        port_queue.put(server.sockets[0].getsockname()[1])
        await loop.run_in_executor(None, stop_event.wait)
        server.close()

    asyncio.run(serve())


def run_mailbox(db_path, port_queue, stop_event) -> None:
    from dev_mailbox.server import Mailbox

    quiet_servers()
    mailbox = Mailbox(db_path, smtp_port=0, http_port=0)
    mailbox.start()
    port_queue.put((mailbox.smtp_port, mailbox.http_port))
    stop_event.wait()
    mailbox.stop()


def rss_kib(pid: int) -> tuple[int, int]:
    """(current, peak) resident memory of a process in KiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


# SMTP clients ------------------------------------------------------------------------------


async def _expect(reader: asyncio.StreamReader, code: bytes) -> None:
    while True:
        line = await reader.readline()
        if not line.startswith(code):
            raise RuntimeError(f"expected {code!r}, got {line!r}")
        if line[3:4] != b"-":
            return


async def _send_one(port: int, recipient: str, body: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _expect(reader, b"220")
        for command, code in (
            (b"EHLO bench\r\n", b"250"),
            (b"MAIL FROM:<noreply@kool.example>\r\n", b"250"),
            (f"RCPT TO:<{recipient}>\r\n".encode(), b"250"),
            (b"DATA\r\n", b"354"),
            (body + b"\r\n.\r\n", b"250"),
            (b"QUIT\r\n", b"221"),
        ):
            writer.write(command)
            await _expect(reader, code)
    finally:
        writer.close()
        await writer.wait_closed()


async def _blast(port: int, seconds: float) -> tuple[int, list[float]]:
    """8 clients sending for `seconds`; (messages accepted, per-message latencies)."""
    rng = random.Random(1)  # noqa: S311 - reproducible test data, not secrets
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    counter = iter(range(10**9))

    async def client() -> None:
        while time.monotonic() < deadline:
            recipient, body = message_bytes(next(counter), rng)
            started = time.perf_counter()
            await _send_one(port, recipient, body)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return len(latencies), latencies


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Contender:
    """One server under test, and what its turns added up to."""

    name: str
    port: int
    pid: int
    # After each turn: seconds until the server has finished the work that turn gave it.
    settle: Callable[[], float] = lambda: 0.0
    count: int = 0
    blasting: float = 0.0
    settling: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Messages acknowledged per second of sending."""
        return self.count / self.blasting

    @property
    def rate_settled(self) -> float:
        """Messages per second, counting the time to settle after each turn too."""
        return self.count / (self.blasting + self.settling)

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies, 95) * 1000

    @property
    def cpu_ms(self) -> float:
        """Server CPU per message, the settling included."""
        return self.cpu / self.count * 1000


def take_turns(contenders: list[Contender], seconds: float, rounds: int = 3) -> None:
    """The servers take turns, a short run each per round, so that a noisy neighbour on the
    machine hits them alike; CPU per message hardly depends on the neighbours at all."""
    for contender in contenders:
        asyncio.run(_blast(contender.port, 0.5))  # warm-up
        contender.settle()
    for _ in range(rounds):
        for contender in contenders:
            used = cpu_seconds(contender.pid)
            started = time.monotonic()
            count, timings = asyncio.run(_blast(contender.port, seconds / rounds))
            contender.blasting += time.monotonic() - started
            contender.settling += contender.settle()
            contender.cpu += cpu_seconds(contender.pid) - used
            contender.count += count
            contender.latencies += timings


def caught_up(http_port: int) -> Callable[[], float]:
    """The mailbox's settle step: one API read, which returns once everything is indexed."""

    return lambda: load_time(http_port, "/api/v1/messages?limit=1")


def poll_inbox(http_port: int, seconds: float, every: float, results) -> None:
    """(In its own process.) Load the inbox page every `every` seconds, as a QA person with the
    inbox open would see it refresh; the load times go to `results`."""
    deadline = time.monotonic() + seconds
    timings = []
    while time.monotonic() < deadline:
        timings.append(load_time(http_port, "/"))
        time.sleep(every)
    results.put(timings)


def inbox_during_ingest(http_port: int, smtp_port: int, seconds: float) -> tuple[float, list[float]]:
    """(messages/s, inbox load times) with the inbox reloaded every 0.25 s during the sending."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    poller = context.Process(target=poll_inbox, args=(http_port, seconds, 0.25, results))
    poller.start()
    count, _ = asyncio.run(_blast(smtp_port, seconds))
    timings = results.get(timeout=60)
    poller.join()
    return count / seconds, timings


# maildev, for comparison, where the npm registry gives it ------------------------------------

MAILDEV = Path(__file__).with_name("maildev")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_maildev(mail_directory: Path) -> tuple[subprocess.Popen | None, int, str]:
    """(process, SMTP port, version) of maildev keeping mail in files, as pinned in
    benchmarks/maildev/package-lock.json; (None, 0, why) when it cannot be installed or run."""
    binary = MAILDEV / "node_modules" / ".bin" / "maildev"
    npm = shutil.which("npm")
    if not binary.exists():
        if npm is None:
            return None, 0, "npm is not installed"
        install = subprocess.run(  # noqa: S603 - fixed arguments
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=MAILDEV,
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            return None, 0, f"npm ci failed: {install.stderr.strip()[-200:]}"
    smtp_port = free_port()
    process = subprocess.Popen(  # noqa: S603 - the pinned maildev, fixed arguments
        [str(binary), "--ip", "127.0.0.1", "--smtp", str(smtp_port), "--web-ip", "127.0.0.1"]
        + ["--web", str(free_port()), "--mail-directory", str(mail_directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", smtp_port), timeout=1).close()
        except OSError:
            time.sleep(0.1)
            continue
        version = subprocess.run(  # noqa: S603 - the same binary
            [str(binary), "--version"], capture_output=True, text=True, check=False
        )
        return process, smtp_port, version.stdout.strip()
    process.kill()
    return None, 0, "maildev did not start listening within 30 s"


def timing_row(seconds: list[float]) -> str:
    """p50, p95 and max in ms, and the count, as Markdown table cells."""
    cells = [percentile(seconds, 50), percentile(seconds, 95), max(seconds)]
    return " | ".join(f"{value * 1000:.0f}" for value in cells) + f" | {len(seconds)}"


# Latency at scale --------------------------------------------------------------------------


def fill(db_path: Path, count: int) -> int:
    """Store `count` messages through the real store (parse, index, commit) in bulk
    transactions of 1,000; the raw bytes in total."""
    from dev_mailbox.store import Delivery, Store

    store = Store(db_path)
    rng = random.Random(2)  # noqa: S311 - reproducible test data, not secrets
    raw_total = 0
    for chunk_start in range(0, count, 1000):
        deliveries = []
        for number in range(chunk_start, min(count, chunk_start + 1000)):
            recipient, body = message_bytes(number, rng)
            raw_total += len(body)
            folder = "spam" if number % 10 == 0 else "inbox"
            deliveries.append(Delivery(body, "noreply@kool.example", {folder: [recipient]}))
        store.deliver_many(deliveries).result()
    store.close()
    return raw_total


def load_time(http_port: int, path: str) -> float:
    """Seconds for one GET of `path` on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        return time.perf_counter() - started
    finally:
        connection.close()


def api_latencies(http_port: int, paths: list[str], rounds: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
    timings = []
    try:
        for path in paths:  # warm-up: the first request also loads templates and catalogues
            connection.request("GET", path)
            connection.getresponse().read()
        for _ in range(rounds):
            for path in paths:
                started = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                timings.append(time.perf_counter() - started)
                if response.status != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status}")
    finally:
        connection.close()
    return timings


# Orchestration -----------------------------------------------------------------------------


def start(target, *args) -> tuple[multiprocessing.Process, object, object]:
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    process = context.Process(target=target, args=(*args, ports, stop))
    process.start()
    return process, ports.get(timeout=60), stop


def finish(process: multiprocessing.Process, stop) -> None:
    stop.set()
    process.join(timeout=30)


def ingest(workdir: Path, seconds: float) -> str:
    """The ingest comparison and the inbox during ingest, as a Markdown section."""
    bare, bare_port, bare_stop = start(run_bare)
    server, (smtp_port, http_port), server_stop = start(run_mailbox, workdir / "ingest.sqlite3")
    maildev, maildev_port, maildev_version = start_maildev(workdir / "maildev")
    contenders = [
        Contender("bare aiosmtpd (stores nothing)", bare_port, bare.pid),
        Contender("dev_mailbox (250 after commit, WAL, synchronous=FULL)", smtp_port, server.pid),
    ]
    contenders[1].settle = caught_up(http_port)
    if maildev is not None:
        contenders.append(
            Contender(f"maildev {maildev_version} (--mail-directory)", maildev_port, maildev.pid)
        )
    load_before = os.getloadavg()[0]
    try:
        take_turns(contenders, seconds)
        resting = [load_time(http_port, "/") for _ in range(20)]
        open_rate, inbox_timings = inbox_during_ingest(http_port, smtp_port, seconds)
        ingest_rss, ingest_peak = rss_kib(server.pid)
    finally:
        finish(bare, bare_stop)
        finish(server, server_stop)
        if maildev is not None:
            maildev.terminate()
            maildev.wait(timeout=30)
    load_after = os.getloadavg()[0]

    bare_side, ours = contenders[0], contenders[1]
    ratio = ours.rate / bare_side.rate
    met = ours.rate >= 600 and ratio >= 0.7
    rows = "\n".join(
        f"| {c.name} | {c.rate:.0f} | {c.p95_ms:.1f} | {c.cpu_ms:.2f} | {c.rate / bare_side.rate:.2f} |"
        for c in contenders
    )
    maildev_line = (
        "maildev was installed with `npm ci` from benchmarks/maildev/package-lock.json and keeps each"
        " message as a file (it does not fsync)."
        if maildev is not None
        else f"maildev was not measured: {maildev_version}."
    )
    return f"""
Durable ingest: {CLIENTS} parallel SMTP clients, a new connection per message,
{MESSAGE_BYTES}-byte messages, {seconds:g} s per server (taking turns in 3 rounds);
each server in its own process, the clients in another.

| server | messages/s | p95 per message (ms) | server CPU per message (ms) | ÷ bare |
|---|---|---|---|---|
{rows}

Goal, for messages stored durably (acknowledged with 250 once committed and fsynced):
≥ 600 messages/s and ≥ 0.7 of bare: **{"met" if met else "NOT met"}** ({ours.rate:.0f}/s, {ratio:.2f}).

The mailbox answers 250 once a message's source and envelope are committed, and parses and
indexes it afterwards: once nothing has been written for 50 ms, or at once when someone reads.
After each of its turns the benchmark read its API, which waited {ours.settling / 3:.2f} s on
average for the index to catch up; that CPU is in its column above. Counting that waiting time
too, it took {ours.rate_settled:.0f} messages/s ({ours.rate_settled / bare_side.rate:.2f} of bare).
{maildev_line}

The inbox while mail pours in: the page `/` loaded every 0.25 s during {seconds:g} s of the same
sending (each load first waits for the index to catch up with what arrived since the last one).

| inbox page `/` | p50 (ms) | p95 (ms) | max (ms) | loads |
|---|---|---|---|---|
| at rest, same mailbox, just before | {timing_row(resting)} |
| during ingest | {timing_row(inbox_timings)} |

Meanwhile the mailbox took {open_rate:.0f} messages/s ({open_rate / bare_side.rate:.2f} of bare).

Machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before the ingest runs and
{load_after:.1f} at the end: other work shares the CPUs, so the figures move from run to run;
the servers take turns so that it hits them alike.
Mailbox process memory after ingest: {ingest_rss / 1024:.0f} MiB RSS (peak {ingest_peak / 1024:.0f} MiB).
"""


def at_scale(workdir: Path, stored: int) -> str:
    """Latency, memory and size with `stored` messages, as a Markdown section."""
    scale_db = workdir / "scale.sqlite3"
    fill_started = time.monotonic()
    raw_total = fill(scale_db, stored)
    fill_seconds = time.monotonic() - fill_started
    db_bytes = sum(p.stat().st_size for p in workdir.glob("scale.sqlite3*"))
    server, (_, http_port), server_stop = start(run_mailbox, scale_db)
    try:
        list_paths = [f"/api/v1/messages?start={start}&limit=50" for start in (0, 50, 5000)]
        list_p95 = percentile(api_latencies(http_port, list_paths, 70), 95) * 1000
        inbox_p95 = percentile(api_latencies(http_port, ["/", "/?to=parent5@example.com"], 50), 95)
        search_paths = [f"/api/v1/search?query={q.replace(' ', '%20')}" for q in SEARCHES]
        search_timings = api_latencies(http_port, search_paths, 30)
        scale_rss, scale_peak = rss_kib(server.pid)
    finally:
        finish(server, server_stop)
    return f"""
Latency with {stored:,} stored messages (filled through the store in {fill_seconds:.0f} s),
over HTTP to the JSON API and inbox, one client:

| request | p95 (ms) |
|---|---|
| `GET /api/v1/messages` (limit 50, pages 1, 2, 101) | {list_p95:.1f} |
| inbox page `/` and `/?to=` | {inbox_p95 * 1000:.1f} |
| `GET /api/v1/search` (all queries below) | {percentile(search_timings, 95) * 1000:.1f} |

Search queries: {", ".join(f"`{q}`" for q in SEARCHES)}.

Storage: {db_bytes / 2**20:.0f} MiB of SQLite (with WAL) for {raw_total / 2**20:.0f} MiB of raw
messages ({db_bytes / raw_total:.2f}×, goal under 1: deflated sources, summary columns, recipient index,
contentless FTS5 index): {"met" if db_bytes < raw_total else "**NOT met**"}.
Mailbox process memory while serving: {scale_rss / 1024:.0f} MiB RSS (peak {scale_peak / 1024:.0f} MiB).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="ingest run per server")
    parser.add_argument("--stored", type=int, default=100_000, help="messages for latency")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailbox-bench-") as workdir:
        markdown = ingest(Path(workdir), arguments.seconds) + at_scale(Path(workdir), arguments.stored)
    write_section("Dev mailbox ingest", markdown)


if __name__ == "__main__":
    main()
