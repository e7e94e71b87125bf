"""Every form of every POST route, fuzzed with hypothesis: hostile values in every field, unknown and
missing fields, files where text belongs and bodies that are not UTF-8, as an anonymous visitor, a
logged-in parent and an administrator. Never a 5xx; a refused post (4xx) commits no write, whatever the
table (the session's aside); no stored row breaks the rules (an application's link is used; an e-mail
goes to an address, with no CR/LF in its headers).

The routes come from `app.url_map`; their fields from the FlaskForm classes each view names (itself or
through the webapp functions it calls) and the `request.form` keys it reads. A new route is fuzzed
without a change here; `test_every_post_route_is_fuzzed` asks for an entry when its URL has a parameter
URL_VALUES does not know, or when no form is found in its view and it is not in FORMLESS.
"""

import dis
import inspect
import itertools
import logging
import math
import re
import traceback
import types
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from tests.conftest import APPLICATION_FORM, STAFF_PASSWORD, School, log_in_staff, populate_school
from tests.integration.fuzz_strategies import HOSTILE_TEXT_SMALL, Body, either, form_bodies
from webapp import passwords
from webapp.extensions import db
from webapp.models import Application, LinkToken, OutboxMessage, Parent, SchoolClass, Student

MIN_INPUTS = 10_000  # generated values posted per run, asserted at the end
POSTS_PER_RUN = 1500  # shared by the routes and visitors: the run's bound in time
FIRST_LOOK = 4  # posts for each route and visitor, before the rest are shared among those not refused
REFUSED = {302, 401, 403}  # sent to log in, or forbidden: the form is never read
VISITORS = ("anonymous", "parent", "admin")
# POST routes that read no form: a button, with the URL as their only input. They get unknown fields.
FORMLESS = {"auth.use_login_link", "auth.renew_login_link"}
# Saved on a connection of its own whatever the answer: the visit, not the form.
SESSION_TABLES = {"web_session"}
# A statement that changes rows, and its table.
WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\W?(\w+)", re.IGNORECASE)
# Attributes of a form class that are not fields: a field name in a URL must not reach them.
FORM_ATTRIBUTES = (
    "__doc__",
    "__module__",
    "__class__",
    "_fields",
    "_unbound_fields",
    "meta",
    "data",
    "errors",
)
# The e-mailed links, by their path: applying, logging in, confirming a new address, undoing a change.
LINK_PATHS = ("/taotlus/vorm/", "/sisene/", "/profiil/e-post/", "/profiil/tagasi/")
PARENT_PASSWORD = "Sinine-Meri-Laulab-7"
ROOT = str(Path(__file__).resolve().parents[2]) + "/"
URL_PARAMETER = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")  # <int:class_id> → class_id


@dataclass(frozen=True)
class Pointer:
    """A URL value looked up when the post is made: a link that still works, the pending application."""

    description: str
    resolve: Callable[["Portal"], str | int]

    def __repr__(self) -> str:
        return self.description


def _links(rule: str) -> list[Pointer]:
    """Mostly a working link of the kind the rule takes (its path starts the same way), also a dead one
    of that kind and working ones of other kinds."""
    links = []
    for path in LINK_PATHS:
        working = Pointer(f"a working {path} link", lambda portal, p=path: portal.link_secret(p, "working"))
        dead = Pointer(f"a dead {path} link", lambda portal, p=path: portal.link_secret(p, "dead"))
        links += [working, working, working, dead] if rule.startswith(path) else [working]
    return links


# Each URL parameter of a POST rule: the real values it can take (besides the generated ones), as often
# as each is wanted.
URL_VALUES: dict[str, Callable[["Portal", str], list]] = {
    "token": lambda _portal, rule: _links(rule),
    "slug": lambda _portal, _rule: ["smart-id", "id-kaart"],
    "form_name": lambda _portal, _rule: ["start", "application"],
    "field_name": lambda portal, _rule: portal.field_names + list(FORM_ATTRIBUTES),
    "application_id": lambda _portal, _rule: [
        *[Pointer("a pending application", lambda portal: portal.pending_application())] * 3,
        Pointer("a decided application", lambda portal: portal.decided_application),
    ],
    "class_id": lambda portal, _rule: portal.class_ids,
    "parent_id": lambda _portal, _rule: [Pointer("a parent of 5A", lambda portal: portal.newest_parent)],
    "student_id": lambda portal, _rule: portal.student_ids,
    "message_id": lambda portal, _rule: portal.bounce_ids,
}


@dataclass
class Route:
    rule: str
    endpoint: str
    fields: list[str]
    parameters: list[str]
    reads_form: bool  # a FlaskForm or request.form keys found in its view


def _code_objects(code: types.CodeType):
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


def _form_keys(code: types.CodeType) -> set[str]:
    """The literal keys of `request.form.get("…")` and `request.form["…"]` in the code."""
    keys, instructions = set(), list(dis.get_instructions(code))
    for index, instruction in enumerate(instructions):
        if instruction.argval != "form" or "ATTR" not in instruction.opname:
            continue
        following = instructions[index + 1 : index + 3]
        if following and following[0].argval == "get":
            following = following[1:]
        if following and following[0].opname == "LOAD_CONST" and isinstance(following[0].argval, str):
            keys.add(following[0].argval)
    return keys


def form_inputs(view: Callable) -> tuple[set[type[FlaskForm]], set[str]]:
    """The FlaskForm classes a view names (a dict of them too), and the form keys it reads, followed
    through the webapp functions it calls."""
    forms, keys, seen = set(), set(), set()

    def visit(function: Callable) -> None:
        function = inspect.unwrap(function)
        if function in seen:
            return
        seen.add(function)
        for code in _code_objects(function.__code__):
            keys.update(_form_keys(code))
            for name in code.co_names:
                value = function.__globals__.get(name)
                for candidate in value.values() if isinstance(value, dict) else [value]:
                    if isinstance(candidate, type) and issubclass(candidate, FlaskForm):
                        forms.add(candidate)
                    elif inspect.isfunction(candidate) and candidate.__module__.startswith("webapp"):
                        visit(candidate)

    visit(view)
    return forms, keys


def field_names(form_class: type[FlaskForm]) -> set[str]:
    return {name for name in dir(form_class) if isinstance(getattr(form_class, name), UnboundField)}


def post_routes(app: Flask) -> list[Route]:
    """Every POST rule, with the fields its view reads."""
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "POST" in rule.methods:
            forms, keys = form_inputs(app.view_functions[rule.endpoint])
            fields = sorted(keys.union(*(field_names(form) for form in forms)))
            routes.append(
                Route(rule.rule, rule.endpoint, fields, sorted(rule.arguments), bool(forms or keys))
            )
    return routes


def _log_in_admin(visitor: "Visitor") -> None:
    log_in_staff(visitor.client, School.admin)


def home_of(client) -> str:
    """Who the app thinks this browser is: where its home page sends it (or 200, the login page)."""
    response = client.get("/")
    return response.headers.get("Location", str(response.status_code))


class Visitor:
    """One browser of one kind of person, logged in again whenever a post ended its login or logged it
    in as someone else (a login link, the staff login with plausible values, logging out)."""

    def __init__(self, app: Flask, log_in: Callable[["Visitor"], None]) -> None:
        self.app, self._log_in = app, log_in
        self.parent_id: int | None = None  # a parent visitor's account, once it has one
        self.log_in_again()

    def log_in_again(self) -> None:
        self.client = self.app.test_client()
        self._log_in(self)
        self.home = home_of(self.client)

    def session_id(self) -> str | None:
        cookie = self.client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        return cookie.value if cookie else None

    def keeps_identity(self) -> bool:
        """True when the browser is still who it was; else it logs in again (and returns False)."""
        if home_of(self.client) == self.home:
            return True
        self.log_in_again()
        return False


class WriteLog:
    """The tables written to by the transactions that committed, as the app's engine saw them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.committed: set[str] = set()
        self._open: dict[sa.Connection, set[str]] = {}
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine, "rollback", self._rollback)

    def _statement(self, connection: sa.Connection, _cursor, statement: str, *_args) -> None:
        if written := WRITE.match(statement):
            self._open.setdefault(connection, set()).add(written[1].lower())

    def _commit(self, connection: sa.Connection) -> None:
        self.committed |= self._open.pop(connection, set())

    def _rollback(self, connection: sa.Connection) -> None:
        self._open.pop(connection, None)

    def clear(self) -> None:
        self.committed.clear()
        self._open.clear()


class LastError(logging.Handler):
    """The exception the app's error handler logs with its 500 page."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.error: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.error = record.exc_info[1]


def _where(frame: traceback.FrameSummary) -> str:
    return f"{frame.filename.split('/site-packages/')[-1].removeprefix(ROOT)}:{frame.lineno} {frame.name}"


def summarise(error: BaseException | None) -> tuple[str, str]:
    """(what and where, for telling findings apart; the message and the innermost frames)."""
    if error is None:
        return "no exception logged", ""
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if "/webapp/" in frame.filename] or frames
    where = " ← ".join(_where(frame) for frame in reversed(frames[-4:]))
    message = (str(error).splitlines() or [""])[0][:300]  # a database error's first line; its SQL follows
    return f"{type(error).__name__} at {_where(own[-1])}", f"{message} | at {where}"


@dataclass
class Finding:
    """The first post that showed one problem at one route, and how often it came back, for whom."""

    route: str
    kind: str
    what: str
    path: str
    body: Body
    detail: str
    visitors: set[str]
    times: int = 1

    def __str__(self) -> str:
        path = self.path if len(self.path) <= 160 else f"{self.path[:120]}… ({len(self.path)} long)"
        return (
            f"[{self.kind}] POST {self.route}: {self.what}\n"
            f"    {self.times}×, as {', '.join(sorted(self.visitors))}; first:\n"
            f"    path: {path}\n    body: {self.body!r}\n    {self.detail}"
        )


class Portal:
    """The app under fuzz: its visitors, the records and links its URLs point at, what was posted and
    what went wrong."""

    def __init__(self, app: Flask, school: School, routes: list[Route]) -> None:
        self.app, self.school, self.routes = app, school, routes
        self.field_names = sorted({name for route in routes for name in route.fields})
        self._numbers = itertools.count(1)
        self.working_links: dict[str, str] = {}  # LINK_PATHS entry → the newest link of that kind
        self.dead_links: dict[str, str] = {}  # … → one that no longer works
        self.inputs = Counter()  # generated values posted: in form fields, unknown fields, URLs
        self.answers: defaultdict[tuple[str, str], Counter] = defaultdict(
            Counter
        )  # (rule, visitor) → statuses
        self.findings: dict[tuple[str, str, str], Finding] = {}  # (rule, kind, what) → the first
        self._examined: set[tuple[str, str]] = set()  # (row, address) and (problem, row) seen already
        self._outbox_checked = 0
        self._last_error = LastError()
        app.logger.addHandler(self._last_error)
        self._probe = app.test_client()
        with app.app_context():
            self.writes = WriteLog(db.engine)
        self.decided_application: int | None = None  # both set by approved_parent_link
        self.newest_parent: int | None = None
        self.helper_admin = Visitor(app, _log_in_admin)
        self.helper_parent = Visitor(app, self._log_in_parent)
        self._pending: int | None = None
        with app.app_context():
            self.class_ids = list(db.session.scalars(sa.select(SchoolClass.id).order_by(SchoolClass.name)))
            self.student_ids = list(db.session.scalars(sa.select(Student.id).order_by(Student.id)))
        self.bounce_ids = [
            self._bounce(self.apply_link(self.new_address())),
            self._bounce(self.approved_parent_link()),
        ]
        self.visitors = {
            "anonymous": Visitor(app, lambda _visitor: None),
            "parent": Visitor(app, self._log_in_parent),
            "admin": Visitor(app, _log_in_admin),
        }
        self.plausible = self._plausible_values()

    # Records and links, made through the real pages.

    def new_address(self) -> str:
        return f"fuzz.{next(self._numbers)}@example.ee"

    def _newest_mail(self, fragment: str) -> tuple[int, str]:
        with self.app.app_context():
            message = db.session.execute(
                sa.select(OutboxMessage.id, OutboxMessage.text_body)
                .where(OutboxMessage.text_body.contains(fragment))
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            ).one()
        path = re.search(rf"https?://[^/\s]+({re.escape(fragment)}[^\s<>\"']+)", message.text_body)
        assert path, f"no {fragment} link in: {message.text_body!r}"
        return message.id, path.group(1)

    def apply_link(self, email: str) -> tuple[int, str]:
        step_one = {"email": email, "child_personal_code": self.school.child_5a, "keep_email": email}
        assert self.app.test_client().post("/taotlus/", data=step_one).status_code == 303
        return self._newest_mail("/taotlus/vorm/")

    def submit_application(self, email: str) -> int:
        _message, path = self.apply_link(email)
        assert self.app.test_client().post(path, data=APPLICATION_FORM).status_code == 303
        with self.app.app_context():
            return db.session.scalar(sa.select(Application.id).where(Application.email == email))

    def approved_parent_link(self) -> tuple[int, str]:
        """A new parent of a 5A child, approved by the administrator: the approval's login link."""
        email = self.new_address()
        application = self.submit_application(email)
        self.helper_admin.keeps_identity()
        assert self.helper_admin.client.post(f"/kool/taotlus/{application}/kinnita").status_code == 303
        self.decided_application = application
        with self.app.app_context():
            self.newest_parent = db.session.scalar(sa.select(Parent.id).where(Parent.email == email))
        return self._newest_mail("/sisene/")

    def _log_in_parent(self, visitor: Visitor) -> None:
        """With the password while the visitor's parent has it; else as a new parent, by the approval's
        link, who sets the password then."""
        if visitor.parent_id is not None:
            with self.app.app_context():
                email = db.session.get(Parent, visitor.parent_id).email
            login = {"email": email, "password": PARENT_PASSWORD}
            if visitor.client.post("/logi-sisse", data=login).status_code == 303:
                return
        _message, path = self.approved_parent_link()
        assert visitor.client.post(path).status_code == 303
        visitor.parent_id = self.newest_parent
        password = dict.fromkeys(["new_password", "repeat_password", "current_password"], PARENT_PASSWORD)
        assert visitor.client.post("/profiil/muuda", data=password).status_code == 303

    def _email_change_link(self) -> tuple[int, str]:
        self.helper_parent.keeps_identity()
        change = {"email": self.new_address(), "current_password": PARENT_PASSWORD}
        assert self.helper_parent.client.post("/profiil/e-post", data=change).status_code == 303
        return self._newest_mail("/profiil/e-post/")

    def _undo_link(self) -> tuple[int, str]:
        """A new password: the notice to the parent's address carries the link that undoes it."""
        self.helper_parent.keeps_identity()
        new_password = dict.fromkeys(["new_password", "repeat_password", "current_password"], PARENT_PASSWORD)
        assert self.helper_parent.client.post("/profiil/muuda", data=new_password).status_code == 303
        return self._newest_mail("/profiil/tagasi/")

    def _bounce(self, mail: tuple[int, str]) -> int:
        """The e-mail came back: the mail server refused the address."""
        message_id, _path = mail
        with self.app.app_context():
            db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(status="undeliverable", last_error="550 5.1.1 no such user")
            )
            db.session.commit()
        return message_id

    def link_secret(self, fragment: str, state: str) -> str:
        """The secret of a working link (a fresh one once the last is used), or of a dead one."""
        path = self.working_links.get(fragment)
        if path is None or self._probe.get(path).status_code != 200:
            if path is not None:
                self.dead_links[fragment] = path
            make = {
                "/taotlus/vorm/": lambda: self.apply_link(self.new_address()),
                "/sisene/": self.approved_parent_link,
                "/profiil/e-post/": self._email_change_link,
                "/profiil/tagasi/": self._undo_link,
            }[fragment]
            path = self.working_links[fragment] = make()[1]
        if state == "dead":
            path = self.dead_links.get(fragment, path + "x")
        return path.rsplit("/", 1)[1]

    def pending_application(self) -> int:
        with self.app.app_context():
            status = db.session.scalar(sa.select(Application.status).where(Application.id == self._pending))
        if status != "pending":
            self._pending = self.submit_application(self.new_address())
        return self._pending

    def _plausible_values(self) -> dict[str, st.SearchStrategy[str]]:
        """Values each field accepts, so that one hostile field among them gets past the validators."""
        first_names = st.sampled_from(["Mari-Liis", "Jüri", "O'Neill", "Šarlota"])
        last_names = st.sampled_from(["Mägi", "Smirnova", "Tamm"])
        emails = st.one_of(
            st.sampled_from([School.admin, "mari@example.ee", "mari@gmial.com"]),
            st.integers(0, 10**6).map(lambda n: f"uus.{n}@example.ee"),
        )
        codes = st.sampled_from([self.school.child_5a, self.school.child_6b, self.school.child_outside])
        return {
            "email": emails,
            "keep_email": emails,
            "use_suggestion": st.just("mari@gmail.com"),
            "password": st.sampled_from([STAFF_PASSWORD, PARENT_PASSWORD]),
            "new_password": st.just(PARENT_PASSWORD),
            "repeat_password": st.just(PARENT_PASSWORD),
            "current_password": st.just(PARENT_PASSWORD),
            "child_personal_code": codes,
            "personal_code": codes,
            "pin": st.just("1234"),
            "first_name": first_names,
            "parent_first_name": first_names,
            "child_first_name": first_names,
            "last_name": last_names,
            "parent_last_name": last_names,
            "child_last_name": last_names,
            "phone": st.just("+372 5555 1234"),
            "relation": st.sampled_from(["ema", "isa", "eestkostja", "muu"]),
            "consent": st.just("y"),
            "message": st.just("Tere!"),
            "reason": st.just("Laps ei õpi meie koolis."),
            "lang": st.sampled_from(["et", "ru", "en"]),
            "next": st.just("/abi"),
        }

    # Posting, and what must hold after each post.

    def url_strategy(self, parameter: str, rule: str) -> st.SearchStrategy[tuple[object, bool]]:
        """(value, generated?) for a URL parameter: three times in four a real value, else a generated one."""
        surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=4)
        if f"<int:{parameter}>" in rule:  # digits only: within and beyond 32 and 64 bits, or no match
            value = either(
                st.integers(0, 2**31 - 1),
                st.integers(2**31, 2**63 - 1),
                st.integers(min_value=2**63),
                HOSTILE_TEXT_SMALL,
            )
        else:
            value = either(HOSTILE_TEXT_SMALL, surrogates, st.integers(min_value=0))
        generated = value.map(lambda drawn: (drawn, True))
        if parameter not in URL_VALUES:  # a new route's: test_every_post_route_is_fuzzed asks for values
            return generated
        real = st.sampled_from(URL_VALUES[parameter](self, rule)).map(lambda value: (value, False))
        return st.sampled_from([real, real, real, generated]).flatmap(lambda strategy: strategy)

    def post(self, route: Route, visitor_name: str, url_values: dict, body: Body, htmx: bool) -> None:
        values = {
            name: value.resolve(self) if isinstance(value, Pointer) else value
            for name, (value, _generated) in url_values.items()
        }
        # Lone surrogates pass as the invalid UTF-8 they would be on the wire.
        path = URL_PARAMETER.sub(
            lambda match: quote(str(values[match[1]]), safe="", errors="surrogatepass"), route.rule
        )
        visitor = self.visitors[visitor_name]
        self._last_error.error = None
        self.inputs.update(
            {
                "form fields": body.in_fields,
                "unknown fields": body.in_unknown_fields,
                "URL parts": sum(generated for _value, generated in url_values.values()),
            }
        )
        session_before = visitor.session_id()
        self.writes.clear()
        try:
            response = visitor.client.post(
                path, headers={"HX-Request": "true"} if htmx else {}, **body.client_kwargs
            )
        except Exception as error:  # not even an error page: it went through the app's error handlers
            if not any("/webapp/" in frame.filename for frame in traceback.extract_tb(error.__traceback__)):
                raise  # the test client's or this test's own
            self.found(route, visitor_name, "exception", path, body, *summarise(error))
            self.answers[route.rule, visitor_name]["exception"] += 1
            visitor.log_in_again()
            return
        written = self.writes.committed - SESSION_TABLES
        status = response.status_code
        self.answers[route.rule, visitor_name][status] += 1
        if status >= 500:
            what, detail = summarise(self._last_error.error)
            self.found(route, visitor_name, "5xx", path, body, f"{status} {what}", detail)
        elif 400 <= status < 500 and written:
            what = f"refused, yet committed writes to {', '.join(sorted(written))}"
            self.found(route, visitor_name, "half-saved", path, body, what, f"first answered {status}")
        if written:  # rows change only with a commit
            for problem, row in self.broken_rows():
                self.found(route, visitor_name, "integrity", path, body, problem, row)
        # Logging in, out or as someone else gives the browser a new session id, or takes it away.
        if visitor.session_id() != session_before:
            visitor.keeps_identity()

    def found(
        self, route: Route, visitor: str, kind: str, path: str, body: Body, what: str, detail: str
    ) -> None:
        finding = self.findings.get((route.rule, kind, what))
        if finding is None:
            self.findings[route.rule, kind, what] = Finding(
                route.rule, kind, what, path, body, detail, {visitor}
            )
        else:
            finding.times += 1
            finding.visitors.add(visitor)

    def broken_rows(self) -> list[tuple[str, str]]:
        """(rule broken, the row) for rows that break the rules, each reported once: after the post
        that made (or changed) them."""
        with self.app.app_context():
            return self._broken_rows()

    def _broken_rows(self) -> list[tuple[str, str]]:
        unused = db.session.scalars(
            sa.select(Application.id)
            .join(LinkToken, Application.link_token_id == LinkToken.id)
            .where(LinkToken.used_at.is_(None))
        )
        rows = [("an application's link is not used", f"application {id_}") for id_ in unused]
        messages = db.session.execute(
            sa.select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject).where(
                OutboxMessage.id > self._outbox_checked
            )
        ).all()
        addresses = [
            (f"parent {id_}", email) for id_, email in db.session.execute(sa.select(Parent.id, Parent.email))
        ]
        for message in messages:
            self._outbox_checked = max(self._outbox_checked, message.id)
            addresses.append((f"outbox_message {message.id}", message.recipient))
            if _has_line_break(message.subject):
                rows.append(
                    ("CR/LF in an e-mail's subject", f"outbox_message {message.id}: {message.subject!r}")
                )
        for row, address in addresses:
            # Once per row and value: a parent's address changes when staff correct it.
            if (row, address) not in self._examined:
                self._examined.add((row, address))
                if problem := _not_an_address(address):
                    rows.append((problem, f"{row}: {address!r}"))
        new = [row for row in rows if row not in self._examined]
        self._examined.update(new)
        return new

    def report(self) -> str:
        findings = sorted(
            self.findings.values(), key=lambda finding: (finding.kind, finding.route, finding.what)
        )
        return (
            f"{len(findings)} finding(s) over {self.inputs.total()} inputs {dict(self.inputs)}:\n"
            + "\n".join(map(str, findings))
        )


def _has_line_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def _not_an_address(address: str) -> str | None:
    if _has_line_break(address):
        return "CR/LF in an e-mail address"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return "not an e-mail address"
    return None


@pytest.fixture
def cheap_password_hashing(monkeypatch):
    """argon2 at its cheapest: at full strength each login post costs 0.2 s, and the fuzz makes hundreds."""
    hasher = PasswordHasher.from_parameters(CHEAPEST)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("not a real password, only for timing"))


@pytest.fixture
def portal(app, cheap_password_hashing) -> Portal:
    school = populate_school(app)
    return Portal(app, school, post_routes(app))


def test_every_post_route_is_fuzzed(app):
    """Each POST route's URL gets real values besides generated ones, and its view a form this test
    finds, unless it is in FORMLESS. (The fuzz runs anyway: generated URL values, unknown fields.)"""
    routes = post_routes(app)
    problems = [
        f"{route.rule}: add <{name}> to URL_VALUES"
        for route in routes
        for name in route.parameters
        if name not in URL_VALUES
    ]
    formless = {route.endpoint for route in routes if not route.reads_form}
    problems += [f"{endpoint}: no form found; add it to FORMLESS" for endpoint in sorted(formless - FORMLESS)]
    problems += [f"{endpoint} in FORMLESS: gone, or reads a form" for endpoint in sorted(FORMLESS - formless)]
    assert problems == []


def fuzz(portal: Portal, route: Route, visitor: str, posts: int) -> None:
    """Posts to one route by one visitor."""
    # A session can also end with no cookie of its own changing (every login of an account ends).
    portal.visitors[visitor].keeps_identity()

    @settings(
        max_examples=posts,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # every finding is collected, none shrunk: the run's time stays bounded
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(
        url_values=st.fixed_dictionaries(
            {name: portal.url_strategy(name, route.rule) for name in route.parameters}
        ),
        body=form_bodies(route.fields, portal.plausible),
        htmx=st.booleans(),
    )
    def post_one(url_values, body, htmx):
        portal.post(route, visitor, url_values, body, htmx)

    post_one()


def test_no_input_to_any_form_breaks_the_portal_or_half_saves(portal):
    everyone_everywhere = list(itertools.product(portal.routes, VISITORS))
    for route, visitor in everyone_everywhere:
        fuzz(portal, route, visitor, FIRST_LOOK)
    # A visitor whom a route refuses has seen all there is to see; the others share the rest of the posts.
    let_in = [
        (route, visitor)
        for route, visitor in everyone_everywhere
        if portal.answers[route.rule, visitor].keys() - REFUSED
    ]
    share = math.ceil((POSTS_PER_RUN - FIRST_LOOK * len(everyone_everywhere)) / len(let_in))
    for route, visitor in let_in:
        fuzz(portal, route, visitor, share)
    print(f"posted {portal.inputs.total()} generated inputs: {dict(portal.inputs)}")  # shown with -rA
    if portal.findings:
        pytest.fail(portal.report(), pytrace=False)
    assert portal.inputs.total() >= MIN_INPUTS, f"only {dict(portal.inputs)} generated inputs were posted"
