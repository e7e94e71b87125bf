"""Pages side by side: the portal's `GET /`, `GET /taotlus/` and step 1's `POST /taotlus/` against a bare
Flask "hello" app, all under gunicorn with the same settings, in one run.

The portal runs in the production shape, as tests/production starts it: APP_ENV=production with a random
SECRET_KEY, an https BASE_URL, TRUSTED_PROXIES=1 and the client's `X-Forwarded-Proto: https` (the Secure
`__Host-` session cookie, HSTS, CSRF all on), the rate limits on and kept in Redis, the request log on. It
runs twice: on SQLite (a file of its own) and on PostgreSQL (database `bench_pages`, made afresh), both
migrated with `flask db upgrade` as `make prod` does. The hello app gets gunicorn.conf.py's settings too
(workers, worker class, preloading, timeouts, max requests), all but its hook that opens the portal's
database. wrk drives them (benchmarks/pages.lua), taking turns with hello in every round so that the
ratio is fair on a machine others load too.

The POST is what a parent's Edasi sends: a real session cookie and its CSRF token (16 sessions, opened
beforehand with a GET, as many as connections), a new address each time (the per-address cap never
answers instead), a valid child's code. Every answer must be the 303 to the check-your-mail page, and
each must have left its outbox row and its link request.

Goals (issue 11): `GET /` and `GET /taotlus/` at least 0.35 of hello with p99 under 50 ms (32
connections); the POST at least 300 requests/s with p99 under 100 ms (16 connections), on SQLite and on
PostgreSQL. Run: python -m benchmarks.pages (needs wrk: `make bench` installs it).
"""

import http.client
import json
import os
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
import redis
import sqlalchemy as sa
from flask import Flask

from benchmarks.report import tree_cpu_seconds, write_section
from webapp import isikukood

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("pages.lua")
PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DATABASE = "bench_pages"
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")  # flushed before each start
HOST = "portal.test"
WORKERS = 2
ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_PAGES_SECONDS", "8"))
GET_CONNECTIONS, POST_CONNECTIONS = 32, 16
GOAL_RATIO, GOAL_GET_P99_MS = 0.35, 50.0
GOAL_POST_RATE, GOAL_POST_P99_MS = 300.0, 100.0
CHILD = isikukood.make(date(date.today().year - 9, 3, 4), female=True, serial=21)
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
# Rate limits on, as production requires, but raised for a flood from one address (the benchmark's).
RAISED_LIMITS = {"APPLY_PER_CLIENT_LIMIT": "10000000 per hour"}


def hello_app() -> Flask:
    """The baseline: a bare Flask app (gunicorn's factory call `benchmarks.pages:hello_app()`)."""
    app = Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return "Hello, World!"

    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn_settings() -> list[str]:
    """gunicorn.conf.py's settings as command-line options, for the hello app: the same workers,
    worker class, preloading, timeouts and worker recycling, without the portal's post_fork hook."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    options = ["--workers", str(WORKERS), "--worker-class", conf["worker_class"]]
    options += ["--timeout", str(conf["timeout"]), "--keep-alive", str(conf["keepalive"])]
    options += ["--max-requests", str(conf["max_requests"])]
    options += ["--max-requests-jitter", str(conf["max_requests_jitter"])]
    return options + (["--preload"] if conf["preload_app"] else [])


def _request(port: int, method: str, path: str, headers: dict | None = None, body: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method, path, body=body, headers={"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        connection.close()


@dataclass
class Server:
    """One gunicorn (master and workers) in a process group of its own."""

    name: str
    argv: list[str]
    env: dict
    directory: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    def start(self) -> "Server":
        log = (self.directory / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own commands
            [*self.argv, "--bind", f"127.0.0.1:{self.port}"],
            env=self.env,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()[-3000:]}")
            try:
                if _request(self.port, "GET", path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} within 120 s")

    def log(self) -> str:
        return (self.directory / f"{self.name}.log").read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time of the master and its workers so far, recycled workers included: what a request
        costs, however busy the machine is."""
        return tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@dataclass
class Portal:
    """The portal on one database, with what the benchmark needs to check it afterwards."""

    label: str
    database_url: str
    server: Server | None = None
    outbox: int = 0
    link_requests: int = 0


def _portal_env(database_url: str) -> dict:
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    return {
        **env,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BASE_URL": f"https://{HOST}",
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "TRUSTED_PROXIES": "1",
        "WEB_CONCURRENCY": str(WORKERS),
        "SCHOOL_NAME": "Testkool",
        **RAISED_LIMITS,
    }


def _migrate(env: dict, directory: Path) -> None:
    subprocess.run(  # noqa: S603 - as `make prod` does first
        [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
        env=env,
        cwd=directory,
        check=True,
        capture_output=True,
        timeout=300,
    )


def _fresh_pg_database() -> str:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{PG_DATABASE}"


def _open_sessions(port: int, count: int, path: Path) -> None:
    """`count` real sessions (a GET of step 1 each): their cookie and CSRF token, one line each."""
    lines = []
    for _ in range(count):
        status, headers, page = _request(port, "GET", "/taotlus/")
        cookie = next(
            header.split(";", 1)[0] for header in headers.get_all("Set-Cookie") if "portal_session=" in header
        )
        lines.append(f"{cookie} {CSRF_FIELD.search(page).group(1)}")
    path.write_text("\n".join(lines) + "\n")


def _posts(portal: Portal, directory: Path, tag: str) -> tuple[str, ...]:
    """wrk's arguments for step 1's POST, on sessions opened just now; `tag` makes its addresses new."""
    sessions = directory / f"sessions-{portal.label}.txt"
    _open_sessions(portal.server.port, POST_CONNECTIONS, sessions)
    return ("POST", "/taotlus/", str(sessions), CHILD, tag)


def _wrk(port: int, connections: int, seconds: int, method: str, path: str, *extra: str) -> dict:
    """wrk's figures for one run; a POST's `extra` are the sessions file, the child's code, a tag."""
    argv = ["wrk", "--threads", "2", "--connections", str(connections), "--duration", f"{seconds}s"]
    argv += ["--timeout", "10s", "--script", str(SCRIPT), f"http://127.0.0.1:{port}{path}"]
    argv += ["--", path, *extra] if method == "POST" else []
    env = {**os.environ, "PAGES_METHOD": method}
    output = subprocess.run(argv, check=True, capture_output=True, text=True, env=env).stdout  # noqa: S603
    result = json.loads(output.strip().splitlines()[-1])
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _summary(runs: list[dict]) -> dict:
    """Median rate, p50 and p99 over the rounds, the worst round's p99 too, every status added up."""
    statuses: dict[str, int] = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "rate": statistics.median(run["rate"] for run in runs),
        "rates": [run["rate"] for run in runs],
        "p50": statistics.median(run["p50_us"] for run in runs) / 1000,
        "p99": statistics.median(run["p99_us"] for run in runs) / 1000,
        "p99_worst": max(run["p99_us"] for run in runs) / 1000,
        "cpu": statistics.median(run["cpu_ms"] for run in runs),
        "requests": sum(run["requests"] for run in runs),
        "errors": sum(run["socket_errors"] + run["timeouts"] for run in runs),
        "error_statuses": sum(run["error_statuses"] for run in runs),
        "statuses": statuses,
    }


def _p99(summary: dict) -> str:
    return f"{summary['p99']:.1f} (worst {summary['p99_worst']:.1f})"


def _statuses(summary: dict) -> str:
    return ", ".join(f"{status}: {count}" for status, count in sorted(summary["statuses"].items()))


def _rates(summary: dict) -> str:
    return "–".join(f"{rate:,.0f}" for rate in (min(summary["rates"]), max(summary["rates"])))


def _count(database_url: str, table: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
    finally:
        engine.dispose()


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    limits = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    limits.flushdb()
    load_before = os.getloadavg()[0]
    gunicorn = [sys.executable, "-m", "gunicorn"]
    hello_argv = [*gunicorn, *_gunicorn_settings(), "benchmarks.pages:hello_app()"]
    portal_argv = [*gunicorn, "-c", str(ROOT / "gunicorn.conf.py"), "webapp.wsgi:app"]
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        portals = [
            Portal("SQLite", f"sqlite:///{directory / 'portal.sqlite3'}"),
            Portal("PostgreSQL", _fresh_pg_database()),
        ]
        hello_env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
        hello_env["PYTHONPATH"] = str(ROOT)
        hello = Server("hello", hello_argv, hello_env, directory)
        servers = [hello]
        try:
            for portal in portals:
                env = _portal_env(portal.database_url)
                _migrate(env, directory)
                portal.server = Server(f"portal-{portal.label}", portal_argv, env, directory)
                servers.append(portal.server)
            for server in servers:
                server.start()
            hello.wait_ready("/")
            for portal in portals:
                portal.server.wait_ready("/healthz")
            for server in servers:  # warm up: templates compiled, connections opened
                for path in ("/", "/taotlus/") if server is not hello else ("/",):
                    _wrk(server.port, GET_CONNECTIONS, 2, "GET", path)
            for portal in portals:  # and the POST's: its e-mail templates, its statements prepared
                warm_up = _posts(portal, directory, f"w{secrets.token_hex(2)}")
                _wrk(portal.server.port, POST_CONNECTIONS, 2, *warm_up)
                time.sleep(1)  # posts still in flight when wrk stopped are saved before the count
                portal.outbox = -_count(portal.database_url, "outbox_message")
                portal.link_requests = -_count(portal.database_url, "link_request")
            results = _run_rounds(hello, portals, directory)
        finally:
            for server in servers:  # gracefully: posts still in flight when wrk stopped finish first
                server.stop()
            limits.flushdb()
            limits.close()
        for portal in portals:  # the rows the measured posts left, the warm-up's taken off
            portal.outbox += _count(portal.database_url, "outbox_message")
            portal.link_requests += _count(portal.database_url, "link_request")
    _write(results, portals, load_before, hello_argv, portal_argv)


def _run_rounds(hello: Server, portals: list[Portal], directory: Path) -> dict:
    runs: dict[tuple, list[dict]] = {}
    servers = {hello.port: hello, **{portal.server.port: portal.server for portal in portals}}

    def measure(key: tuple, port: int, *args) -> None:
        cpu_before = servers[port].cpu_seconds()
        result = _wrk(port, *args)
        result["cpu_ms"] = (servers[port].cpu_seconds() - cpu_before) * 1000 / max(result["requests"], 1)
        runs.setdefault(key, []).append(result)
        print(
            f"  {' '.join(key)}: {result['rate']:,.0f}/s p99 {result['p99_us'] / 1000:.1f} ms, "
            f"server CPU {result['cpu_ms']:.2f} ms per request",
            flush=True,
        )

    for round_number in range(1, ROUNDS + 1):
        print(f"round {round_number} of {ROUNDS}", flush=True)
        for portal in portals:
            for path in ("/", "/taotlus/"):
                measure(("hello", "GET"), hello.port, GET_CONNECTIONS, SECONDS, "GET", "/")
                measure(
                    (portal.label, "GET", path), portal.server.port, GET_CONNECTIONS, SECONDS, "GET", path
                )
        for portal in portals:
            post = _posts(portal, directory, f"{round_number}{portal.label[0].lower()}{secrets.token_hex(2)}")
            measure(("hello", "GET16"), hello.port, POST_CONNECTIONS, SECONDS, "GET", "/")
            measure((portal.label, "POST", "/taotlus/"), portal.server.port, POST_CONNECTIONS, SECONDS, *post)
    return runs


def _write(runs: dict, portals: list[Portal], load_before: float, hello_argv, portal_argv) -> None:
    hello = _summary(runs[("hello", "GET")])
    hello16 = _summary(runs[("hello", "GET16")])
    lines = [
        f"gunicorn, {WORKERS} sync workers each (gunicorn.conf.py's settings for both), wrk with 2 threads,",
        f"{ROUNDS} rounds of {SECONDS} s per page after a 2 s warm-up of each (the POST's too), the portal",
        "and hello taking turns (each portal run right after a hello run). Rates are the median of the",
        "rounds (their range in brackets), p50 and p99 the median of the rounds' (the worst round's p99 in",
        "brackets: the goals are judged on the median, like the rates). Ratio: the portal's rate over the",
        "hello run just before it, median of the rounds. Server CPU: the gunicorn master's and workers'",
        "CPU time per answered request (median of the rounds), which the load of other work on the machine",
        "does not change as it does the rates.",
        "",
        "| page | connections | requests/s | p50 ms | p99 ms | ÷ hello | server CPU ms | goal |",
        "|---|---|---|---|---|---|---|---|",
        f"| hello `GET /` (bare Flask) | {GET_CONNECTIONS} | {hello['rate']:,.0f} ({_rates(hello)}) | "
        f"{hello['p50']:.1f} | {_p99(hello)} | 1.00 | {hello['cpu']:.2f} | |",
    ]
    verdicts = []
    for portal in portals:
        for path in ("/", "/taotlus/"):
            key = (portal.label, "GET", path)
            page = _summary(runs[key])
            ratios = [
                own["rate"] / base["rate"]
                for own, base in zip(runs[key], _hello_before(runs, key), strict=True)
            ]
            ratio = statistics.median(ratios)
            met = ratio >= GOAL_RATIO and page["p99"] < GOAL_GET_P99_MS
            verdicts.append(met)
            lines.append(
                f"| {portal.label} `GET {path}` | {GET_CONNECTIONS} | {page['rate']:,.0f} ({_rates(page)}) | "
                f"{page['p50']:.1f} | {_p99(page)} | {ratio:.2f} | {page['cpu']:.2f} | "
                f"{'met' if met else '**not met**'} |"
            )
    lines.append(
        f"| hello `GET /` (bare Flask) | {POST_CONNECTIONS} | {hello16['rate']:,.0f} ({_rates(hello16)}) | "
        f"{hello16['p50']:.1f} | {_p99(hello16)} | 1.00 | {hello16['cpu']:.2f} | |"
    )
    status_lines = []
    for portal in portals:
        post = _summary(runs[(portal.label, "POST", "/taotlus/")])
        met = post["rate"] >= GOAL_POST_RATE and post["p99"] < GOAL_POST_P99_MS
        verdicts.append(met)
        lines.append(
            f"| {portal.label} `POST /taotlus/` | {POST_CONNECTIONS} | {post['rate']:,.0f} "
            f"({_rates(post)}) | {post['p50']:.1f} | {_p99(post)} | "
            f"{post['rate'] / hello16['rate']:.2f} | {post['cpu']:.2f} | {'met' if met else '**not met**'} |"
        )
        # wrk counts only the answers it read: the posts in flight when it stopped were saved too.
        redirects, in_flight = post["statuses"].get("303", 0), POST_CONNECTIONS * ROUNDS
        whole = portal.outbox == portal.link_requests and 0 <= portal.outbox - redirects <= in_flight
        status_lines.append(
            f"- {portal.label}: {post['requests']:,} posts answered {_statuses(post)}; socket errors and "
            f"timeouts {post['errors']}; outbox rows {portal.outbox:,} and link requests "
            f"{portal.link_requests:,}: {'one of each' if whole else '**not one of each**'} per 303 "
            f"(and per post still in flight when wrk stopped, at most {in_flight})."
        )
    for portal in portals:
        gets = [_summary(runs[(portal.label, "GET", path)]) for path in ("/", "/taotlus/")]
        status_lines.append(
            f"- {portal.label} GETs: {sum(get['requests'] for get in gets):,} answers, "
            f"{sum(get['error_statuses'] for get in gets)} of them 4xx or 5xx; socket errors and timeouts "
            f"{sum(get['errors'] for get in gets)}."
        )
    lines += [
        "",
        "Goals: `GET /` and `GET /taotlus/` ≥ 0.35 of hello with p99 under 50 ms; `POST /taotlus/` ≥ 300/s "
        f"with p99 under 100 ms: **{'all met' if all(verdicts) else 'not all met'}**.",
        "",
        "Answers (every POST must be the 303 to the check-your-mail page, nothing else):",
        "",
        *status_lines,
        "",
        "The portal runs as production does (APP_ENV=production, https BASE_URL, TRUSTED_PROXIES=1 and "
        "`X-Forwarded-Proto: https` from wrk, the `__Host-` session cookie, CSRF, HSTS, the request log at "
        "INFO), its rate limits on and in Redis, but APPLY_PER_CLIENT_LIMIT raised to "
        f"{RAISED_LIMITS['APPLY_PER_CLIENT_LIMIT']!r} from the environment: every post comes from one "
        "address here. The GETs carry no cookie (a visitor's first page). Each POST carries one of "
        f"{POST_CONNECTIONS} sessions opened by a GET beforehand (its cookie and CSRF token, Referer on "
        "https as a browser sends it) and a new address at example.ee (not a known provider: the typo "
        "guard does all its work), so the per-address cap never answers. No sender runs: the outbox "
        "rows wait.",
        "",
        "What makes the pages this fast (issue 11; before it, in the same kind of run: `/` and `/taotlus/` "
        "0.11-0.18 of hello, the POST 10-14/s): a visitor without a session costs no session row and no "
        "query (an anonymous id made by the portal yields the CSRF secret, webapp/sessions.py); the pages "
        "such a visitor sees are rendered once per language in each worker and kept, each answer with its "
        "own CSRF token (webapp/rendering.py); the From domain of Message-IDs is parsed once, not per "
        "e-mail; gunicorn's master freezes what it built before forking (gc.freeze), so a worker's "
        "garbage collections no longer walk the preloaded app (25-30 ms pauses); a pooled database "
        "connection is tested only after waiting in the pool, not at every checkout; one new session in "
        "64 clears out the ended ones. Durability: SQLite runs in WAL mode with synchronous=FULL, so "
        "the application, its "
        "link request, token and outbox row are on disk when the 303 goes out; only session writes that "
        "neither start nor end a login (the remembered address, the last-seen time) commit without "
        "waiting for the disk (synchronous=NORMAL on that connection; on PostgreSQL "
        "synchronous_commit=off for that transaction). The worst round's p99 shows the machine's hiccups: "
        "hello's own moves from 5-13 ms to 70-200 ms in some rounds, and the portal's POST on PostgreSQL "
        "has then crossed 100 ms in one round of three.",
        "",
        f"Commands: hello `{' '.join(['gunicorn', *hello_argv[3:]])}`; portal "
        f"`{' '.join(['gunicorn', *portal_argv[3:]])}` with WEB_CONCURRENCY={WORKERS}. "
        f"Machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after (other work shares the CPUs; the ratios are from the same run). "
        "Reproduce: `.venv/bin/python -m benchmarks.pages` (or `make bench`).",
    ]
    write_section("Pages side by side", "\n".join(lines))


def _hello_before(runs: dict, key: tuple) -> list[dict]:
    """The hello run just before each of this page's runs (they alternate, one pair per round)."""
    portal_order = [k for k in runs if k[0] != "hello" and k[1] == "GET"]
    index = portal_order.index(key)
    hello_runs = runs[("hello", "GET")]
    per_round = len(portal_order)
    return [hello_runs[round_number * per_round + index] for round_number in range(ROUNDS)]


if __name__ == "__main__":
    main()
