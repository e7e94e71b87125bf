"""The load test (issue 11): virtual parents walk the whole flow against the production shape while
staff approve them, driven by locust (benchmarks/load_flow.py, headless, in a process of its own).

`make bench` runs main(): 200 parents (and STAFF administrators) for 5 minutes against the shape as
`make prod` starts it on this machine: one gunicorn with the repo's gunicorn.conf.py (its workers from
the CPU count), two `flask outbox run` senders with the production timings, a PostgreSQL database and
a Redis database of its own, the dev mailbox as a process. Every rate limit is on, at its production
value: each parent comes from an address of its own (X-Forwarded-For through TRUSTED_PROXIES=1), as a
room of parents on their own phones would. The figures go to RESULTS.md: each step's requests,
failures, p50/p95/p99; the portal's requests per second; and, as the baseline of the same run, the
same locust client against a bare Flask "hello" app under the same gunicorn settings, which shows
how far the client alone would go.

tests/production/test_load.py runs the same locustfile (run_load) for 30 seconds with 20 parents in
CI and asserts that nothing failed. Run: python -m benchmarks.load (LOAD_USERS, LOAD_SECONDS to vary).
"""

import csv
import json
import os
import resource
import runpy
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from benchmarks.report import tree_cpu_seconds, write_section
from tests.production.shape import (
    KEPT_VARIABLES,
    ROOT,
    START_SECONDS,
    Service,
    Stack,
    free_port,
    running_stack,
    wait_until,
)

LOCUSTFILE = Path(__file__).with_name("load_flow.py")
REDIS_URL = os.environ.get("LOAD_BENCH_REDIS", "redis://127.0.0.1:6379/14")  # flushed before and after
USERS = int(os.environ.get("LOAD_USERS", "200"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "300"))
SPAWN_RATE = 10  # parents arriving per second: 200 are all there after 20 s
THINK = "1,4"  # a parent's pause between steps, seconds: a quick reader (a real one is slower)
STAFF = max(2, USERS // 20)  # administrators, splitting the queue: enough to keep up with the parents
# A parent waits for a staff member as long as the run lasts (a real one waits days): only an
# application no staff member ever sees fails this step.
DECISION_TIMEOUT = SECONDS
CHILDREN = USERS * 5  # a child of its own for each parent of the run (about 1.5 parents per user)
HELLO_USERS, HELLO_SECONDS = 50, 15
SAMPLE_EVERY = 0.5  # seconds between two looks at the workers and their database sessions
# The production shape as `make prod` starts it: production's own timings and gunicorn's default workers.
PRODUCTION = {
    "WEB_CONCURRENCY": None,
    "OUTBOX_POLL_SECONDS": None,
    "OUTBOX_RETRY_BASE_SECONDS": None,
    "OUTBOX_RETRY_MAX_SECONDS": None,
    "OUTBOX_CLAIM_SECONDS": None,
}
FIRST_NAMES = ["Mia", "Sofia", "Eliise", "Artjom", "Robin", "Marta", "Oskar", "Lenna", "Jüri", "Kätlin"]
LAST_NAMES = ["Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kuusk", "Ivanov", "Õunapuu", "Lepik", "Pärn"]
# locust's own request types for what is no single request: an e-mail on its way, a wait for staff.
NOT_HTTP = {"MAIL", "WAIT"}


@dataclass
class Step:
    """One row of locust's statistics: a step of the flow."""

    name: str
    kind: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    slowest: float


@dataclass
class LoadResult:
    steps: list[Step]
    failures: list[tuple[str, str, int]]  # (step, error, occurrences)
    errors: list[str]  # exceptions in the locustfile itself
    seconds: float
    client_cpu_seconds: float
    exit_code: int
    output: str
    users: int
    staff: int = 0
    server: dict = field(default_factory=dict)

    def step(self, name: str) -> Step | None:
        return next((step for step in self.steps if step.name == name), None)

    @property
    def http(self) -> list[Step]:
        return [step for step in self.steps if step.kind not in NOT_HTTP]

    @property
    def failed(self) -> int:
        return sum(step.failures for step in self.steps) + len(self.errors)

    @property
    def requests_per_second(self) -> float:
        return sum(step.requests for step in self.http) / self.seconds


def write_roster(path: Path, children: int) -> None:
    """A roster CSV of `children` children in four classes, each with a valid personal code."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["class", "teacher_email", "student_personal_code", "student_first_name", "student_last_name"]
        )
        for n in range(children):
            born = date(2010 + n % 10, 1 + n // 10 % 12, 1 + n // 120 % 28)
            code = _personal_code(born, n % 2 == 0, n // 3360 % 1000)
            first, last = (
                FIRST_NAMES[n % len(FIRST_NAMES)],
                LAST_NAMES[n // len(FIRST_NAMES) % len(LAST_NAMES)],
            )
            writer.writerow([f"{1 + n % 9}{'ABCD'[n % 4]}", "", code, first, last])


def _personal_code(born: date, female: bool, serial: int) -> str:
    from webapp import isikukood  # the portal's own rules make the check digit

    return isikukood.make(born, female=female, serial=serial)


# The administrators, created in one process with the code `flask staff create` runs (one process
# per account would import the portal ten times over on a busy machine).
CREATE_STAFF = """
import os, sys
from webapp import create_app
from webapp.extensions import db
from webapp.staff.accounts import create_staff
app = create_app()
with app.app_context():
    for address in sys.argv[1:]:
        create_staff(address, "Ülle", "Kask", "admin", os.environ["STAFF_PASSWORD"])
    db.session.commit()
"""


@dataclass
class School:
    roster: Path
    staff: list[str]  # administrators' addresses
    password: str  # theirs


def prepare_school(stack: Stack, children: int, staff: int) -> School:
    """The school as production gets it, side by side: the roster imported with `flask roster import`,
    the administrators created."""
    school = School(
        stack.directory / "roster.csv", [f"juhataja{n}@koormus.example.ee" for n in range(staff)], ""
    )
    school.password = secrets.token_urlsafe(18)
    write_roster(school.roster, children)
    flask = [sys.executable, "-m", "flask", "--app", "webapp"]
    commands = {
        "flask roster import": ([*flask, "roster", "import", str(school.roster)], stack.env()),
        "creating the staff": (
            [sys.executable, "-c", CREATE_STAFF, *school.staff],
            stack.env(STAFF_PASSWORD=school.password),
        ),
    }
    running = {
        name: subprocess.Popen(  # noqa: S603 - the portal's own code
            argv, env=env, cwd=stack.directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name, (argv, env) in commands.items()
    }
    for name, process in running.items():
        output, _ = process.communicate(timeout=600)
        if process.returncode:
            raise AssertionError(f"{name} failed:\n{output}")
    return school


def run_load(
    stack: Stack,
    users: int,
    seconds: int,
    *,
    staff: int = 2,
    spawn_rate: float = 10,
    think: str = THINK,
    children: int | None = None,
    decision_timeout: float = 180,
) -> LoadResult:
    """`users` parents (and `staff` administrators) for `seconds` against the stack's web instances,
    in a school of `children` children (enough for every parent of the run to have one of its own)."""
    school = prepare_school(stack, children or max(users * 5, 200), staff)
    return run_flow(stack, school, users, seconds, spawn_rate, think, decision_timeout)


def run_flow(
    stack: Stack,
    school: School,
    users: int,
    seconds: int,
    spawn_rate: float,
    think: str,
    decision_timeout: float,
) -> LoadResult:
    prefix = stack.directory / "locust"
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "Parent", "StaffMember", "--users", str(users + len(school.staff)), "--spawn-rate", str(spawn_rate),
        "--run-time", f"{seconds}s",
        "--host", f"http://127.0.0.1:{next(iter(stack.web.values())).port}",
        "--portal-ports", ",".join(str(web.port) for web in stack.web.values()),
        "--mailbox-api", f"http://127.0.0.1:{stack.mailbox.http_port}",
        "--roster", str(school.roster),
        "--staff", ",".join(school.staff), f"--staff-password={school.password}",  # it may start with "-"
        "--think", think, "--decision-timeout", str(decision_timeout),
        "--json-file", str(prefix), "--csv", str(prefix), "--exit-code-on-error", "3",
    ]  # fmt: skip
    return _locust(argv, users, len(school.staff), seconds)


def _locust(argv: list[str], users: int, staff: int, seconds: float) -> LoadResult:
    prefix = Path(argv[argv.index("--csv") + 1])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    finished = subprocess.run(  # noqa: S603 - locust, on our own locustfile
        argv, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 300, env=_locust_env()
    )
    took = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = finished.stdout + finished.stderr
    stats_file = prefix.with_name(prefix.name + ".json")
    if not stats_file.exists():
        raise AssertionError(f"locust wrote no statistics ({finished.returncode}):\n{output[-5000:]}")
    steps = [_step(entry) for entry in json.loads(stats_file.read_text())]
    failures = []
    with prefix.with_name(prefix.name + "_failures.csv").open(newline="") as file:
        failures = [(row["Name"], row["Error"], int(row["Occurrences"])) for row in csv.DictReader(file)]
    with prefix.with_name(prefix.name + "_exceptions.csv").open(newline="") as file:
        errors = [f"{row['Count']}× {row['Message']}" for row in csv.DictReader(file)]
    return LoadResult(
        steps=sorted(steps, key=lambda step: step.name),
        failures=failures,
        errors=errors,
        seconds=min(took, seconds) if seconds else took,
        client_cpu_seconds=cpu,
        exit_code=finished.returncode,
        output=output,
        users=users,
        staff=staff,
    )


def _locust_env() -> dict:
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    return {**env, "PYTHONUNBUFFERED": "1"}


def _step(entry: dict) -> Step:
    """A step from locust's JSON statistics: its histogram of response times (ms, rounded as locust
    rounds them) gives the percentiles."""
    times = sorted((int(ms), count) for ms, count in entry["response_times"].items())
    total = sum(count for _, count in times)

    def percentile(rank: float) -> float:
        if not total:
            return 0.0
        wanted, seen = rank * total, 0
        for ms, count in times:
            seen += count
            if seen >= wanted:
                return float(ms)
        return float(times[-1][0])

    return Step(
        name=entry["name"],
        kind=entry["method"],
        requests=entry["num_requests"],
        failures=entry["num_failures"],
        p50=percentile(0.50),
        p95=percentile(0.95),
        p99=percentile(0.99),
        slowest=float(entry["max_response_time"] or 0),
    )


# --- the baseline: the same client against a bare Flask app ---


def hello_app():
    """A bare Flask app: gunicorn's factory call `benchmarks.load:hello_app()`."""
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    return app


def gunicorn_settings(env: dict) -> list[str]:
    """gunicorn.conf.py's settings (as the portal gets them with `env`), as options for the hello app:
    everything but its hook that opens the portal's database."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    options = ["--workers", str(conf["workers"]), "--worker-class", conf["worker_class"]]
    options += ["--timeout", str(conf["timeout"]), "--keep-alive", str(conf["keepalive"])]
    options += ["--max-requests", str(conf["max_requests"]), "--error-logfile", "-"]
    return [*options, "--preload"] if conf["preload_app"] else options


def run_hello(directory: Path, env: dict, users: int, seconds: int) -> tuple[LoadResult, int]:
    """The same locust client, no pauses, against the hello app; (result, gunicorn workers)."""
    port = free_port()
    settings = gunicorn_settings(env)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        *settings,
        "--bind",
        f"127.0.0.1:{port}",
        "benchmarks.load:hello_app()",
    ]
    hello = Service("hello", argv, {**env, "PYTHONPATH": str(ROOT)}, directory, port).start()
    try:
        wait_until(lambda: _answers(hello), START_SECONDS, "the hello app answering", every=0.2)
        prefix = directory / "hello"
        locust = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary", "Hello",
            "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
            "--host", f"http://127.0.0.1:{port}", "--json-file", str(prefix), "--csv", str(prefix),
        ]  # fmt: skip
        return _locust(locust, users, 0, seconds), int(settings[1])
    finally:
        hello.stop()


def _answers(service: Service) -> bool:
    import http.client

    service.fail_unless_running()
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


# --- make bench ---


def postgres_server_pid(stack: Stack) -> int:
    """The PostgreSQL server's main process (the parent of every backend)."""
    with stack.admin() as database:
        backend = database.execute("SELECT pg_backend_pid()").fetchone()[0]
    status = Path(f"/proc/{backend}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def stack_cpu(stack: Stack, postgres_pid: int) -> dict[str, float]:
    """CPU seconds so far of the web instances (master and workers), the senders, the mailbox, and the
    PostgreSQL server (all of it: on a quiet machine, the portal's databases)."""
    return {
        "web": sum(tree_cpu_seconds(web.pid) for web in stack.web.values()),
        "senders": sum(tree_cpu_seconds(sender.pid) for sender in stack.senders.values()),
        "mailbox": tree_cpu_seconds(stack.mailbox.service.pid),
        "postgresql": tree_cpu_seconds(postgres_pid),
    }


class Sampler:
    """Where the web workers and their database sessions are, every SAMPLE_EVERY seconds of the run:
    each worker's process state (R: running or waiting for a CPU; S: waiting for the database, Redis
    or a request) and each PostgreSQL session's wait (a lock, I/O, or the worker)."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.states, self.waits = stack, Counter(), Counter()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Sampler":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopped.set()
        self.thread.join(10)

    def _run(self) -> None:
        query = (
            "SELECT coalesce(wait_event_type, 'CPU') FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend' AND state <> 'idle'"
        )
        with self.stack.admin() as database:
            while not self.stopped.wait(SAMPLE_EVERY):
                for web in self.stack.web.values():
                    for worker in _children(web.pid):
                        state = _state(worker)
                        if state:
                            self.states[state] += 1
                for (wait,) in database.execute(query, (self.stack.database,)):
                    self.waits[wait] += 1

    def share(self, counter: Counter, *keys: str) -> float:
        return sum(counter[key] for key in keys) / max(1, sum(counter.values()))


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def server_side(stack: Stack) -> dict:
    """What the portal did, from its database and logs: whole flows, e-mails, errors."""
    count = stack.scalar
    requests = [line for line in stack.logs().splitlines() if " method=" in line and " status=" in line]
    statuses = [line.split(" status=")[1].split()[0] for line in requests]
    return {
        "applications": count("SELECT count(*) FROM application"),
        "approved": count("SELECT count(*) FROM application WHERE status = 'approved'"),
        "waiting": count("SELECT count(*) FROM application WHERE status = 'pending'"),
        "passwords": count("SELECT count(*) FROM parent WHERE password_hash IS NOT NULL"),
        "sent": count("SELECT count(*) FROM outbox_message WHERE status = 'sent'"),
        "pending": count("SELECT count(*) FROM outbox_message WHERE status = 'pending'"),
        "undeliverable": count("SELECT count(*) FROM outbox_message WHERE status = 'undeliverable'"),
        "logged": len(statuses),
        "server_errors": sum(status.startswith("5") for status in statuses),
        "rate_limited": sum(status == "429" for status in statuses),
        "tracebacks": stack.logs().count("Traceback"),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="load-") as folder:
        directory = Path(folder)
        load_before = os.getloadavg()[0]
        with running_stack(directory, webs=("web",), redis_url=REDIS_URL, **PRODUCTION) as stack:
            web_env = stack.web["web"].env
            school = prepare_school(stack, CHILDREN, STAFF)
            postgres_pid = postgres_server_pid(stack)
            before = stack_cpu(stack, postgres_pid)
            with Sampler(stack) as sampler:
                result = run_flow(stack, school, USERS, SECONDS, SPAWN_RATE, THINK, DECISION_TIMEOUT)
            after = stack_cpu(stack, postgres_pid)
            result.server = server_side(stack)
            result.server["cpu"] = {name: after[name] - before[name] for name in after}
            result.server["sampled"] = {
                "samples": sum(sampler.states.values()),
                "runnable": sampler.share(sampler.states, "R"),
                "sessions": sum(sampler.waits.values()),
                "lock": sampler.share(sampler.waits, "Lock", "LWLock"),
                "client": sampler.share(sampler.waits, "Client"),
            }
        hello, workers = run_hello(directory, web_env, HELLO_USERS, HELLO_SECONDS)
        kept = ROOT / "test-output" / "load"  # the processes' logs, for a look afterwards
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        for log in directory.glob("*.log"):
            shutil.copy(log, kept / log.name)
    _write(result, hello, workers, load_before)
    if result.failed:
        print(result.output[-5000:])


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def _write(result: LoadResult, hello: LoadResult, workers: int, load_before: float) -> None:
    server = result.server
    rows = [
        f"| {step.name} | {step.requests:,} | {step.failures} | {_ms(step.p50)} | {_ms(step.p95)} | "
        f"{_ms(step.p99)} | {_ms(step.slowest)} |"
        for step in result.steps
    ]
    rate, hello_rate = result.requests_per_second, hello.requests_per_second
    failures = [f"- {name}: {error} ({count}×)" for name, error, count in result.failures]
    failures += [f"- in the locustfile: {error}" for error in result.errors]
    if result.failed:
        verdict = f"**Errors: {result.failed}** (goal: 0): NOT met; what failed:"
    else:
        verdict = "**Errors: 0** (goal: 0): met. Every answer had its expected status and text."
    client_share = result.client_cpu_seconds / result.seconds
    cpu = server["cpu"]
    sampled = server["sampled"]
    used = sum(cpu.values()) + result.client_cpu_seconds
    machine_share = used / (result.seconds * (os.cpu_count() or 1))
    starved = ""
    if sampled["runnable"] > 0.5 and sampled["lock"] < 0.05:
        starved = " The request times above are mostly time spent waiting for a CPU."
    http_requests = sum(step.requests for step in result.http)
    hello_step = hello.steps[0]
    write_section(
        "Load: parents walk the whole flow (locust)",
        "\n".join(
            [
                f"{result.users} virtual parents and {result.staff} administrators "
                f"(benchmarks/load_flow.py) for {result.seconds:.0f} s, arriving {SPAWN_RATE} a second, "
                f"each pausing {THINK.replace(',', '–')} s between steps (a quick reader), against the "
                f"production shape on this machine: one gunicorn (gunicorn.conf.py: {workers} sync workers), "
                "two `flask outbox run` senders, PostgreSQL, Redis for the rate limits (all on, at their "
                "production values; each parent from an address of its own), the dev mailbox. A parent: "
                "step 1 → the link read through the mailbox API → the form → VALMIS → approved by staff → "
                "the approval e-mail's login link → log in → the password set; then the next parent. "
                "Times in ms, each row a step (locust's name for it). E-mail rows: delivery, from "
                "Edasi's answer (or the approval's) until the dev mailbox took the e-mail; the wait row: "
                "from VALMIS until a staff member approved (staff work through the queue oldest first, "
                "split between them by application number). The logs of the run: test-output/load/.",
                "",
                "| step | requests | failures | p50 | p95 | p99 | max |",
                "|---|---|---|---|---|---|---|",
                *rows,
                "",
                verdict,
                *failures,
                "",
                f"The portal answered {http_requests:,} requests, "
                f"{rate:.1f} a second over the run. In the database afterwards: "
                f"{server['applications']:,} applications, {server['approved']:,} approved "
                f"({server['waiting']} still waiting for staff when the run ended), "
                f"{server['passwords']:,} parents with a password; {server['sent']:,} e-mails sent, "
                f"{server['pending']} pending, {server['undeliverable']} undeliverable. The request log: "
                f"{server['logged']:,} requests, {server['server_errors']} answered 5xx, "
                f"{server['rate_limited']} answered 429; {server['tracebacks']} tracebacks in the logs.",
                "",
                f"CPU during the run: the web workers {cpu['web']:.0f} s ({cpu['web'] / result.seconds:.2f} "
                f"of a core; {cpu['web'] / http_requests * 1000:.0f} ms per request on average, the "
                f"password's argon2 hash included), the senders {cpu['senders']:.0f} s, the dev mailbox "
                f"{cpu['mailbox']:.0f} s, PostgreSQL {cpu['postgresql']:.0f} s, locust "
                f"{result.client_cpu_seconds:.0f} s: together {machine_share:.0%} of the machine's "
                f"{os.cpu_count()} cores over the run. Sampled every "
                f"{SAMPLE_EVERY:g} s ({sampled['samples']:,} worker samples): a web worker was running or "
                f"waiting for a CPU (state R) in {sampled['runnable']:.0%} of them; of the portal's busy "
                f"PostgreSQL sessions ({sampled['sessions']:,} samples), {sampled['lock']:.0%} waited for a "
                f"lock and {sampled['client']:.0%} for the worker.{starved}",
                "",
                f"Baseline, same run: the same locust client ({HELLO_USERS} users, no pauses, "
                f"{hello.seconds:.0f} s) against a bare Flask hello app under the same gunicorn settings: "
                f"{hello_rate:,.0f} requests/s (p50 {_ms(hello_step.p50)} ms, p95 {_ms(hello_step.p95)} ms, "
                f"{hello.failed} errors). The load run's {rate:.1f} requests/s are {rate / hello_rate:.2f} "
                f"of what this client drove there; locust itself used {client_share:.0%} of one core in "
                f"the load run ({hello.client_cpu_seconds / hello.seconds:.0%} against hello).",
                "",
                f"Machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before the run and "
                f"{os.getloadavg()[0]:.1f} at the end (other work shares the CPUs). "
                "Run: `python -m benchmarks.load` (part of `make bench`).",
            ]
        ),
    )


if __name__ == "__main__":
    main()
