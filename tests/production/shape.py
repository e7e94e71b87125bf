"""The production shape, started for real: gunicorn instances and `flask outbox run` senders against a
PostgreSQL database and a Redis database of their own, delivering to the dev mailbox run as a process of
its own on free ports. Used by the tests in this folder (conftest.py) and by the load benchmark
(benchmarks/load.py).

The portal runs as production (APP_ENV=production: every check of webapp.doctor, the Secure
`__Host-portal_session` cookie, HSTS, CSRF) behind a pretend HTTPS proxy: TRUSTED_PROXIES=1, and the
tests' client sends `X-Forwarded-Proto: https` and each parent's own `X-Forwarded-For`, as the school's
proxy would. The client keeps the cookies itself: a cookie jar would not send a Secure cookie over
plain http to 127.0.0.1, and the point is to run the very settings a school runs.

PostgreSQL or Redis unreachable: the tests fail, they are not skipped. Every process is started in a
process group of its own, and the group is killed at teardown.
"""

import http.client
import itertools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg
import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = os.environ.get("PRODUCTION_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("PRODUCTION_TEST_REDIS", "redis://127.0.0.1:6379/11")  # flushed before and after
PORTAL_HOST = "portal.test"
# A process coming up on a busy two-core machine: importing the portal alone takes seconds.
START_SECONDS = 90
REQUEST_SECONDS = 60
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Only what a process needs from ours: nothing of a developer's own settings leaks in.
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
STARTS = itertools.count(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable, seconds: float, what: str, every: float = 0.1):
    """condition()'s first true value, asked every `every` seconds; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g}s: {what}")
        time.sleep(every)


class Service:
    """One process of the shape, in a process group of its own; its output goes to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict, directory: Path, port: int | None = None):
        self.name, self.argv, self.env, self.directory, self.port = name, argv, env, directory, port
        self.log_path = directory / f"{name}.{next(STARTS)}.log"  # a restarted one has a log of its own
        self.process: subprocess.Popen | None = None

    def start(self) -> "Service":
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own commands
                self.argv,
                env=self.env,
                cwd=self.directory,  # no .env of a developer's is found from here
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal_group(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """kill -9 of the whole process group (gunicorn's master and its workers alike)."""
        self.signal_group(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, seconds: float = 15) -> None:
        if self.process is None:
            return
        if self.alive:
            self.signal_group(signal.SIGCONT)  # a paused process cannot act on SIGTERM
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(seconds)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (a worker whose master died first) goes too.
        self.signal_group(signal.SIGKILL)
        if self.alive:
            self.process.wait(10)

    def fail_unless_running(self) -> None:
        if not self.alive:
            raise AssertionError(f"{self.name} exited ({self.process.returncode}):\n{self.log[-3000:]}")


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def csrf_token(self) -> str:
        found = CSRF_FIELD.search(self.text)
        assert found, f"no CSRF token on the page ({self.status}): {self.text[:300]}"
        return found.group(1)


class Browser:
    """One person's browser reaching one web instance through the school's HTTPS proxy: the proxy's
    X-Forwarded-Proto and X-Forwarded-For (the person's own address) go with every request, and the
    browser keeps the cookies the portal sets (Secure ones included: the connection is https to it)."""

    def __init__(self, port: int, address: str, language: str = "et") -> None:
        self.port, self.address, self.language = port, address, language
        self.cookies: dict[str, str] = {}
        self.secure_cookies: set[str] = set()

    def request(
        self, method: str, path: str, form: dict | None = None, port: int | None = None, **extra: str
    ) -> Page:
        headers = {
            "Host": PORTAL_HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "Accept-Language": self.language,
            **extra,
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://{PORTAL_HOST}{path}"  # Flask-WTF checks it on https
        connection = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=REQUEST_SECONDS)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = Page(response.status, response.headers, response.read().decode(errors="replace"))
        finally:
            connection.close()
        for header in page.headers.get_all("Set-Cookie") or []:
            self._keep(header)
        return page

    def _keep(self, header: str) -> None:
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            if morsel["max-age"] == "0" or morsel.value == "":
                self.cookies.pop(name, None)
                continue
            self.cookies[name] = morsel.value
            if morsel["secure"]:
                self.secure_cookies.add(name)

    def get(self, path: str, port: int | None = None, **headers: str) -> Page:
        return self.request("GET", path, port=port, **headers)

    def post(self, path: str, form: dict, port: int | None = None) -> Page:
        return self.request("POST", path, form=form, port=port)


class Mailbox:
    """The dev mailbox as a process of its own, read and steered through its JSON API."""

    def __init__(self, directory: Path, env: dict) -> None:
        self.smtp_port, self.http_port = free_port(), free_port()
        argv = [sys.executable, "-m", "dev_mailbox", "--smtp-port", str(self.smtp_port)]
        argv += ["--http-port", str(self.http_port), "--db", str(directory / "mailbox.sqlite3")]
        self.service = Service("mailbox", argv, env, directory)

    def start(self) -> None:
        self.service.start()
        wait_until(self._answers, START_SECONDS, "the dev mailbox's API")

    def _answers(self) -> bool:
        self.service.fail_unless_running()
        try:
            self.api("GET", "/api/v1/messages?limit=1")
        except OSError:
            return False
        return True

    def api(self, method: str, path: str, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=REQUEST_SECONDS)
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        assert response.status == 200, f"{method} {path}: {response.status} {text}"
        return json.loads(text) if text else None

    def messages(self, domain: str) -> list[dict]:
        """Every stored message (summaries) to an address at `domain`."""
        found, start = [], 0
        while True:
            page = self.api("GET", f"/api/v1/messages?start={start}&limit=1000")
            found += [m for m in page["messages"] if any(_at(a["Address"], domain) for a in m["To"])]
            start += len(page["messages"])
            if not page["messages"] or start >= page["total"]:
                return found

    def text_to(self, address: str, seconds: float = 30) -> str:
        """The text of the newest message to `address`, waiting for it."""

        def newest():
            page = self.api("GET", "/api/v1/messages?limit=1000")
            matches = [m for m in page["messages"] if any(a["Address"] == address for a in m["To"])]
            return matches[0]["ID"] if matches else None

        message_id = wait_until(newest, seconds, f"an e-mail to {address}", every=0.2)
        return self.api("GET", f"/api/v1/message/{message_id}")["Text"]

    def set_chaos(self, settings: dict) -> None:
        self.api("PUT", "/api/v1/chaos", settings)

    def set_rules(self, rules: list[dict]) -> None:
        self.api("PUT", "/api/v1/rules", rules)


def _at(address: str, domain: str) -> bool:
    return address.lower().endswith("@" + domain)


class Stack:
    """The shape: `web` gunicorn instances and `senders`, the mailbox, the database and Redis."""

    def __init__(self, directory: Path, redis_url: str = REDIS_URL, **settings: str | None) -> None:
        """`settings` change the portal's environment (None leaves a variable out: its default)."""
        self.directory = directory
        self.database = f"portal_prod_{secrets.token_hex(4)}"
        self.database_url = f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{self.database}"
        self.web: dict[str, Service] = {}
        self.senders: dict[str, Service] = {}
        base = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
        self.mailbox = Mailbox(directory, base)
        self.base_env = {
            **base,
            "PYTHONUNBUFFERED": "1",
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "BASE_URL": f"https://{PORTAL_HOST}",
            "DATABASE_URL": self.database_url,
            "RATELIMIT_STORAGE_URI": redis_url,
            "TRUSTED_PROXIES": "1",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.mailbox.smtp_port),
            "SCHOOL_NAME": "Testkool",
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "INFO",
            # Short timings, so that retries and a dead sender's lease pass within a test.
            "OUTBOX_POLL_SECONDS": "0.2",
            "OUTBOX_RETRY_BASE_SECONDS": "1",
            "OUTBOX_RETRY_MAX_SECONDS": "3",
            "OUTBOX_CLAIM_SECONDS": "10",
        }
        for name, value in settings.items():
            if value is None:
                self.base_env.pop(name, None)
            else:
                self.base_env[name] = value
        self.engine: sa.Engine | None = None

    def env(self, **overrides: str) -> dict:
        return {**self.base_env, **overrides}

    # --- lifecycle ---

    def migrate(self) -> None:
        self.engine = sa.create_engine(self.database_url, pool_pre_ping=True)
        subprocess.run(  # noqa: S603 - as `make prod` does first
            [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
            env=self.env(),
            cwd=self.directory,
            check=True,
            capture_output=True,
            timeout=START_SECONDS,
        )

    def drop_database(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        with self.admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    @staticmethod
    def admin() -> psycopg.Connection:
        """A connection to the server's `postgres` database: it works while ours refuses connections."""
        return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)

    def connect(self, autocommit: bool = False) -> psycopg.Connection:
        """A plain connection to our database (pg_class there names our tables)."""
        return psycopg.connect(f"{PG_SERVER}/{self.database}", autocommit=autocommit)

    def launch_web(self, name: str, port: int | None = None, **env: str) -> Service:
        """A gunicorn instance on a free port (or `port`), as `make prod` starts it."""
        port = port or free_port()
        argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "webapp.wsgi:app"]
        service = Service(name, argv, self.env(PORT=str(port), **env), self.directory, port)
        self.web[name] = service.start()
        return service

    def start_web(self, name: str, port: int | None = None, **env: str) -> Service:
        """launch_web, then wait until it answers /healthz."""
        service = self.launch_web(name, port, **env)
        self.wait_for_web(service)
        return service

    def wait_for_web(self, service: Service) -> None:
        def healthy() -> bool:
            service.fail_unless_running()
            try:
                return Browser(service.port, "127.0.0.1").get("/healthz").status == 200
            except OSError:
                return False

        wait_until(healthy, START_SECONDS, f"{service.name} answering /healthz", every=0.2)

    def launch_sender(self, name: str) -> Service:
        argv = [sys.executable, "-m", "flask", "--app", "webapp", "outbox", "run"]
        self.senders[name] = Service(name, argv, self.env(), self.directory).start()
        return self.senders[name]

    def wait_for_sender(self, service: Service) -> None:
        def running() -> bool:
            service.fail_unless_running()
            return "Outbox sender running" in service.log

        wait_until(running, START_SECONDS, f"{service.name} running", every=0.2)

    def start_sender(self, name: str) -> Service:
        service = self.launch_sender(name)
        self.wait_for_sender(service)
        return service

    def stop(self) -> None:
        for service in [*self.senders.values(), *self.web.values(), self.mailbox.service]:
            service.stop()

    # --- reading the database ---

    def scalar(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params))

    def logs(self) -> str:
        """Everything every web instance and sender has logged, restarted ones included."""
        return "\n".join(
            path.read_text(errors="replace")
            for path in sorted(self.directory.glob("*.log"))
            if not path.name.startswith(("mailbox.", "redis."))
        )


@contextmanager
def running_stack(
    directory: Path,
    webs: tuple[str, ...] = ("a", "b"),
    senders: tuple[str, ...] = ("sender-1", "sender-2"),
    redis_url: str = REDIS_URL,
    **settings: str | None,
) -> Iterator[Stack]:
    """The shape up and ready: a database of its own (migrated), the Redis database `redis_url` flushed,
    the mailbox, the web instances and the senders; all of it stopped, dropped and flushed afterwards."""
    stack = Stack(directory, redis_url, **settings)
    limits = redis.Redis.from_url(redis_url, socket_timeout=5)
    limits.flushdb()  # fails, loudly, when Redis is not there
    with stack.admin() as admin:  # likewise PostgreSQL
        admin.execute(f'CREATE DATABASE "{stack.database}"')
    try:
        stack.migrate()
        stack.mailbox.start()
        # All start at once: each takes seconds of CPU to import the portal.
        launched = [stack.launch_web(name) for name in webs]
        started = [stack.launch_sender(name) for name in senders]
        for web in launched:
            stack.wait_for_web(web)
        for sender in started:
            stack.wait_for_sender(sender)
        yield stack
    finally:
        stack.stop()
        stack.drop_database()
        limits.flushdb()
        limits.close()
