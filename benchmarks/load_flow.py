"""The load test's locustfile: virtual parents walk the whole flow against the production shape while
staff approve their applications. Used by `make bench` (benchmarks/load.py: 200 parents, 5 minutes) and
by CI (tests/production/test_load.py: 20 parents, 30 seconds); both start the shape and run

    locust -f benchmarks/load_flow.py --headless --host http://127.0.0.1:PORT --portal-ports PORT[,PORT]
        --mailbox-api http://127.0.0.1:PORT --roster ROSTER.csv --staff a@kool,b@kool --staff-password ...

in a process of their own (locust's gevent patches the whole process it runs in).

A parent: step 1 (an address of its own, a child of the roster that no other parent has taken) → the
link in the e-mail, read through the dev mailbox's Mailpit-style API → the application form → VALMIS →
(a staff member approves) → the approval e-mail's login link → the button → Muuda profiili → the
password twice → Salvesta. Then the next parent: a new address, a new child, new cookies, a new client
address. Each step is one row in locust's statistics (benchmarks/load_steps.py); a status other than
the one the portal answers a person with, or a page without its text, is a failure, and that parent
stops there (the next one starts). The e-mail steps are the delivery: from Edasi's answer (or the
staff member's approval's) until the dev mailbox took the e-mail (its "Created"): the outbox, the
senders, SMTP. A shared watcher lists the mailbox's new messages every 0.1 s through the API, as a QA
tool on Mailpit's API would; each parent then reads its own message there (GET /api/v1/message/ID).

The portal runs as production behind a pretend HTTPS proxy (TRUSTED_PROXIES=1): every request carries
`X-Forwarded-Proto: https` and the parent's own `X-Forwarded-For`, so that the rate limits count each
parent by its own address, as the school's proxy would make them. The client keeps the cookies itself:
a cookie jar does not send the Secure `__Host-` session cookie over plain http.
"""

import csv
import html
import itertools
import json
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path

import gevent
from babel.support import Translations
from gevent.event import Event
from geventhttpclient import HTTPClient
from locust import FastHttpUser, constant, events, task
from locust.exception import RescheduleTask, StopUser

from benchmarks.load_steps import STEPS

ROOT = Path(__file__).resolve().parents[1]
PORTAL_HOST = "portal.test"
DOMAIN = "koormus.example.ee"  # every parent's address is at this domain (no typo suggestion for it)
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
APPLICATION_LINK = re.compile(rf"https://{re.escape(PORTAL_HOST)}(/taotlus/vorm/[\w-]+)")
LOGIN_LINK = re.compile(rf"https://{re.escape(PORTAL_HOST)}(/sisene/[\w-]+)")
QUEUE_ENTRY = re.compile(r'href="/kool/taotlus/(\d+)"')
PARENT_EMAIL = re.compile(rf"[\w.+-]+@{re.escape(DOMAIN)}")
ERROR_TEXT = re.compile(r'class="error"[^>]*>\s*(?:<[^>]+>)*([^<]+)')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
LANGUAGES = ("et", "ru", "en")
WATCH_EVERY = 0.1  # seconds between two looks at the mailbox's newest messages

PARENT_NAMES = [("Mari-Liis", "Mägi"), ("Jüri", "Tamm"), ("Олеся", "Смирнова"), ("Kadri", "Õunapuu")]


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    group = parser.add_argument_group("the portal's flow")
    group.add_argument("--portal-ports", default="", help="the web instances' ports, comma-separated")
    group.add_argument("--mailbox-api", default="", help="the dev mailbox's web address")
    group.add_argument("--roster", default="", help="the roster CSV the portal imported (children)")
    group.add_argument("--staff", default="", help="administrators' addresses, comma-separated")
    group.add_argument("--staff-password", default="", help="their password")
    group.add_argument("--think", default="1,4", help="a parent's pause between steps: MIN,MAX seconds")
    group.add_argument("--mail-timeout", type=float, default=60, help="seconds an e-mail may take")
    group.add_argument("--decision-timeout", type=float, default=180, help="seconds to wait for approval")


@dataclass
class Child:
    personal_code: str
    first_name: str
    last_name: str


@dataclass
class Shared:
    """What the virtual people of one locust process share."""

    ports: list[int] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    approved_at: dict[str, float] = field(default_factory=dict)  # parent's address → when approved
    parents: itertools.count = field(default_factory=itertools.count)
    staff_members: itertools.count = field(default_factory=itertools.count)
    texts: dict[str, Translations] = field(default_factory=dict)
    watcher: "MailWatcher | None" = None


SHARED = Shared()


@events.init.add_listener
def _set_up(environment, **_kwargs) -> None:
    options = environment.parsed_options
    if options is None or not options.portal_ports:
        return  # `locust --help`, or a run without the flow's options: nothing to set up
    SHARED.ports = [int(port) for port in options.portal_ports.split(",")]
    with open(options.roster, newline="", encoding="utf-8") as file:
        SHARED.children = [
            Child(row["student_personal_code"], row["student_first_name"], row["student_last_name"])
            for row in csv.DictReader(file)
        ]
    SHARED.staff = [address for address in options.staff.split(",") if address]
    StaffMember.fixed_count = len(SHARED.staff)
    SHARED.texts = {
        language: Translations.load(str(ROOT / "translations"), [language]) for language in LANGUAGES
    }
    SHARED.watcher = MailWatcher(options.mailbox_api)


@events.test_start.add_listener
def _start_watching(**_kwargs) -> None:
    if SHARED.watcher is not None:
        SHARED.watcher.start()


@events.test_stop.add_listener
def _stop_watching(**_kwargs) -> None:
    if SHARED.watcher is not None:
        SHARED.watcher.stop()


def page_errors(text: str) -> str:
    """What a page says is wrong (its form errors), else its title: for a failure's message."""
    errors = [" ".join(error.split()) for error in ERROR_TEXT.findall(text)]
    if errors:
        return "; ".join(dict.fromkeys(errors))
    title = TITLE.search(text)
    return " ".join(title.group(1).split()) if title else repr(text[:200])


class MailWatcher:
    """Lists the dev mailbox's newest messages every WATCH_EVERY seconds (one look for everyone, as a
    QA tool on Mailpit's API would) and wakes the parents whose e-mail came; each parent then reads its
    own message through the API."""

    def __init__(self, api: str) -> None:
        self.client = HTTPClient.from_url(api, concurrency=8, network_timeout=30, connection_timeout=10)
        self.seen: set[str] = set()
        self.arrived: dict[str, list[str]] = {}  # address → message ids, oldest first
        self.created: dict[str, float] = {}  # message id → when the mailbox took it (its "Created")
        self.waiting: dict[str, Event] = {}
        self.problem: str | None = None
        self.greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self.greenlet = gevent.spawn(self._watch)

    def stop(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill()

    def api(self, path: str) -> dict:
        response = self.client.get(path)
        body = response.read()
        if response.status_code != 200:
            raise OSError(f"mailbox API {path}: {response.status_code} {body[:200]!r}")
        return json.loads(body)

    def _watch(self) -> None:
        while True:
            try:
                self._look()
                self.problem = None
            except (OSError, ValueError) as error:
                self.problem = f"the mailbox API failed: {error}"
            gevent.sleep(WATCH_EVERY)

    def _look(self) -> None:
        new, start = [], 0
        while True:  # newest first, until a message seen before
            page = self.api(f"/api/v1/messages?start={start}&limit=100")
            fresh = [message for message in page["messages"] if message["ID"] not in self.seen]
            new += fresh
            if len(fresh) < len(page["messages"]) or not page["messages"]:
                break
            start += len(page["messages"])
        for message in reversed(new):
            self.seen.add(message["ID"])
            self.created[message["ID"]] = datetime.fromisoformat(message["Created"]).timestamp()
            for recipient in message["To"]:
                address = recipient["Address"].lower()
                self.arrived.setdefault(address, []).append(message["ID"])
                if address in self.waiting:
                    self.waiting[address].set()

    def link(self, address: str, pattern: re.Pattern, skip: set[str], seconds: float) -> tuple[str, float]:
        """The first link matching `pattern` in an e-mail to `address` not in `skip` (ids read before,
        added to it), and when the mailbox took that e-mail; waits up to `seconds`. TimeoutError when
        none came, OSError when the API failed."""
        deadline = time.monotonic() + seconds
        while True:
            for message_id in self.arrived.get(address, []):
                if message_id in skip:
                    continue
                skip.add(message_id)
                found = pattern.search(self.api(f"/api/v1/message/{message_id}")["Text"])
                if found:
                    return found.group(1), self.created[message_id]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(self.problem or f"no such e-mail within {seconds:g}s")
            event = self.waiting.setdefault(address, Event())
            event.clear()
            event.wait(left)


class Visitor(FastHttpUser):
    """Someone's browser behind the school's HTTPS proxy: its own address, its own cookies."""

    abstract = True
    wait_time = constant(0)  # the pauses are the flow's own
    network_timeout = 60.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        self.client.client.cookiejar = None  # the cookies are kept below, Secure ones included
        self.cookies: dict[str, str] = {}
        self.address = "127.0.0.1"
        self.language = "et"

    def request(
        self, method: str, path: str, step: str, form: dict | None = None, headers: dict | None = None
    ):
        """One request as the browser sends it, with catch_response: the caller judges the answer."""
        sent = {
            "Host": PORTAL_HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "Accept-Language": self.language,
            **(headers or {}),
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Referer"] = f"https://{PORTAL_HOST}{path}"  # Flask-WTF checks it on https
        return self.client.request(
            method,
            path,
            name=STEPS[step],
            data=body,
            headers=sent,
            catch_response=True,
            allow_redirects=False,
        )

    def keep_cookies(self, response) -> None:
        for header in (response.headers.get_all("Set-Cookie") or []) if response.headers else []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def expect(
        self,
        method: str,
        path: str,
        step: str,
        status: int,
        form: dict | None = None,
        headers: dict | None = None,
        **checks: str,
    ) -> tuple[str, str]:
        """The request; (page text, Location) when it answers `status` with every check of `checks`
        (`location`: the start of the redirect's path; `text`: a text on the page). Otherwise a
        failure of this step, and this visitor stops (RescheduleTask: a parent's next one starts)."""
        with self.request(method, path, step, form, headers) as response:
            self.keep_cookies(response)
            text = html.unescape(response.text or "")
            location = urllib.parse.urlsplit(
                response.headers.get("Location", "") if response.headers else ""
            ).path
            problem = None
            if getattr(response, "error", None) and not response.status_code:  # no answer at all
                problem = f"{type(response.error).__name__}: {response.error}"
            elif response.status_code != status:
                problem = f"{response.status_code}, expected {status}: {page_errors(text)}"
            elif "location" in checks and not location.startswith(checks["location"]):
                problem = f"redirected to {location!r}, expected {checks['location']}"
            elif "text" in checks and checks["text"] not in text:
                problem = f"no {checks['text']!r} on the page"
            if problem:
                response.failure(problem)
            else:
                response.success()
        if problem:
            raise RescheduleTask()
        return text, location

    def record(
        self, step: str, started: float, problem: str | None = None, ended: float | None = None
    ) -> None:
        """A step that is no single request (an e-mail, a wait), from `started` until `ended` (now
        unless given; both time.time())."""
        self.environment.events.request.fire(
            request_type="MAIL" if "e-mail" in STEPS[step] else "WAIT",
            name=STEPS[step],
            response_time=max(0.0, ((ended or time.time()) - started) * 1000),
            response_length=0,
            exception=RuntimeError(problem) if problem else None,
            context={},
        )

    @staticmethod
    def csrf(text: str) -> str:
        found = CSRF_FIELD.search(text)
        return found.group(1) if found else ""


class Parent(Visitor):
    """One parent after another, each walking the whole flow once."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        low, high = (float(value) for value in self.environment.parsed_options.think.split(","))
        self.think_range = (low, high)

    def think(self) -> None:
        low, high = self.think_range
        gevent.sleep(low + (high - low) * secrets.randbelow(1001) / 1000)

    def new_parent(self) -> None:
        number = next(SHARED.parents)
        self.cookies = {}
        self.port = SHARED.ports[number % len(SHARED.ports)]  # the proxy's pick
        self.client.base_url = f"http://127.0.0.1:{self.port}"
        # A client address of its own: 10.x.y.z from the parent's number (only a header, never a target).
        self.address = f"10.{number // 62500 % 250 + 1}.{number // 250 % 250}.{number % 250 + 1}"
        self.language = LANGUAGES[number % len(LANGUAGES)]
        self.email = f"vanem{number}.{secrets.token_hex(3)}@{DOMAIN}"
        # A child of the roster no parent of this run has taken (a long run wraps round: a second parent).
        self.child = SHARED.children[number % len(SHARED.children)]
        self.first_name, self.last_name = PARENT_NAMES[number % len(PARENT_NAMES)]
        self.read_mail: set[str] = set()

    def text(self, message: str) -> str:
        return SHARED.texts[self.language].gettext(message)

    def wait_for_link(self, step: str, pattern: re.Pattern, started: float, seconds: float) -> str:
        try:
            link, arrived = SHARED.watcher.link(self.email, pattern, self.read_mail, seconds)
        except (TimeoutError, OSError, ValueError) as error:
            self.record(step, started, f"{type(error).__name__}: {error}")
            raise RescheduleTask() from None
        self.record(step, started, ended=arrived)
        return link

    @task
    def walk(self) -> None:
        options = self.environment.parsed_options
        self.new_parent()

        page, _ = self.expect("GET", "/taotlus/", "page", 200)
        self.think()
        form = {
            "email": self.email,
            "child_personal_code": self.child.personal_code,
            "csrf_token": self.csrf(page),
        }
        self.expect("POST", "/taotlus/", "edasi", 303, form, location="/taotlus/saadetud")
        edasi_answered = time.time()
        self.expect("GET", "/taotlus/saadetud", "check_mail", 200, text=self.email)

        link = self.wait_for_link("application_mail", APPLICATION_LINK, edasi_answered, options.mail_timeout)
        page, _ = self.expect("GET", link, "form", 200, text=self.email)
        self.think()
        form = {
            "parent_first_name": self.first_name,
            "parent_last_name": self.last_name,
            "phone": "+372 5555 1234",
            "relation": "ema",
            "child_first_name": self.child.first_name,
            "child_last_name": self.child.last_name,
            "consent": "y",
            "csrf_token": self.csrf(page),
        }
        self.expect("POST", link, "submit", 303, form, location="/taotlus/valmis")
        self.expect("GET", "/taotlus/valmis", "done", 200, text=self.text("DONE!"))
        done_at = time.time()

        # A staff member approves; the approval e-mail brings the login link.
        deadline = time.monotonic() + options.decision_timeout
        while self.email not in SHARED.approved_at:
            if time.monotonic() > deadline:
                self.record("decision", done_at, f"not approved within {options.decision_timeout:g}s")
                raise RescheduleTask()
            gevent.sleep(0.1)
        approved_at = SHARED.approved_at.pop(self.email)
        self.record("decision", done_at)
        link = self.wait_for_link("login_mail", LOGIN_LINK, approved_at, options.mail_timeout)
        self.think()

        full_name = f"{self.first_name} {self.last_name}"
        page, _ = self.expect("GET", link, "link_page", 200, text=full_name)
        self.think()
        self.expect("POST", link, "log_in", 303, {"csrf_token": self.csrf(page)}, location="/profiil/")
        self.expect("GET", "/profiil/", "profile", 200, text=self.email)
        self.think()
        page, _ = self.expect("GET", "/profiil/muuda", "edit", 200)
        self.think()
        password = secrets.token_urlsafe(12)
        form = {"new_password": password, "repeat_password": password, "csrf_token": self.csrf(page)}
        self.expect("POST", "/profiil/muuda", "password", 303, form, location="/profiil/")
        self.expect("GET", "/profiil/", "saved", 200, text=self.text("Your password has been saved."))
        self.think()


class StaffMember(Visitor):
    """An administrator working through the queue: opens each application, presses Kinnita (with
    htmx, as in a browser with script). The staff members split the queue by application number, so
    that none of them decides one another has decided."""

    fixed_count = 0  # one per --staff address (set in _set_up)

    def on_start(self) -> None:
        super().on_start()
        self.index = next(SHARED.staff_members)
        if self.index >= len(SHARED.staff):
            raise StopUser()
        self.address = f"192.0.2.{self.index + 1}"  # the school office (only a header)
        self.approved = SHARED.texts[self.language].gettext("Approved")
        password = self.environment.parsed_options.staff_password
        try:
            page, _ = self.expect("GET", "/kool/sisene", "staff_login_page", 200)
            form = {"email": SHARED.staff[self.index], "password": password, "csrf_token": self.csrf(page)}
            self.expect("POST", "/kool/sisene", "staff_log_in", 303, form, location="/kool/")
        except RescheduleTask:
            raise StopUser() from None

    @task
    def review(self) -> None:
        page, _ = self.expect("GET", "/kool/", "staff_queue", 200)
        mine = [int(number) for number in QUEUE_ENTRY.findall(page)]
        mine = [number for number in mine if number % len(SHARED.staff) == self.index]
        if not mine:
            gevent.sleep(2)  # nothing of mine waiting: look again in a moment
            return
        for number in mine[:20]:
            page, _ = self.expect("GET", f"/kool/taotlus/{number}", "staff_application", 200)
            found = PARENT_EMAIL.search(page)
            headers = {"HX-Request": "true", "HX-Target": "decision"}
            form = {"csrf_token": self.csrf(page)}
            path = f"/kool/taotlus/{number}/kinnita"
            self.expect("POST", path, "staff_approve", 200, form, headers, text=self.approved)
            if found:  # else a parent waits in vain, and that is its failure
                SHARED.approved_at[found.group(0).lower()] = time.time()


class Hello(FastHttpUser):
    """The baseline (benchmarks/load.py): the same client, no pauses, against a bare Flask app."""

    wait_time = constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/", name="hello: GET /")
