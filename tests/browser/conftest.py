"""End-to-end fixtures: the portal on a real port, the dev mailbox, Debian's Chromium via Playwright, and
axe-core on every page the browser shows (`axe_audit`)."""

import contextlib
import functools
import hashlib
import json
import re
import shutil
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Response
from playwright.sync_api import Error as PlaywrightError

from webapp.live import serve_portal

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def portal(make_app, mailbox, app_config):
    """The portal served on a free port, sending through its sender thread to the dev mailbox.
    A test changes its configuration through `app_config` (e.g. parametrized)."""
    app = make_app(
        **{
            "MAIL_PORT": mailbox.smtp_port,
            "OUTBOX_THREAD": True,
            "OUTBOX_POLL_SECONDS": 0.5,
            "WTF_CSRF_ENABLED": True,
            **app_config,
        }
    )
    with serve_portal(app) as url:
        yield app, url


@pytest.fixture
def page(browser) -> Page:
    """A phone-sized page (360 px wide). Its CSP is on, so an inline script would be an error."""
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="et-EE")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []

    def on_console(message) -> None:
        # A page answered with 4xx on purpose (a form with errors is 422) logs its own status: that is
        # the document itself, not a broken script or stylesheet.
        if message.type == "error" and message.location.get("url") != page.url:
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    # A script error or a CSP violation on any page fails the test.
    assert errors == [], errors


@pytest.fixture
def screenshot(request, page):
    """screenshot("name"): a numbered full-page PNG in test-output/<test name>/."""
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = iter(range(1, 100))

    def take(name: str) -> Path:
        path = folder / f"{next(count):02d}-{name}.png"
        # caret="initial": hiding the caret would inject a <style>, which our CSP rightly blocks.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take


def api_get(mailbox, path: str) -> dict:
    with urllib.request.urlopen(mailbox.api_url + path, timeout=5) as response:  # noqa: S310 - our own mailbox
        return json.loads(response.read())


def latest_link_to(mailbox, address: str, contains: str, timeout: float = 10.0) -> str:
    """Wait for a message to `address` with a link containing `contains`, reading the mailbox's
    JSON API as a QA tool would; return that link."""
    query = urllib.parse.quote(f"to:{address}")
    deadline = time.monotonic() + timeout
    while True:
        for summary in api_get(mailbox, f"/api/v1/search?query={query}")["messages"]:  # newest first
            text = api_get(mailbox, f"/api/v1/message/{summary['ID']}")["Text"]
            links = [link for link in re.findall(r"https?://\S+", text) if contains in link]
            if links:
                return links[0]
        assert time.monotonic() < deadline, f"no message to {address} with a {contains} link"
        time.sleep(0.1)


@pytest.fixture
def audit_page(browser) -> Page:
    """A second phone-sized page, for tests that call assert_accessible at states of their choosing
    (every page is audited anyway, see `axe_audit`)."""
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="et-EE")
    yield context.new_page()
    context.close()


def assert_accessible(page: Page) -> None:
    """axe-core finds no violation on the page as it is now."""
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"


# Frames are left out: the only ones are the dev mailbox's e-mail bodies (sandboxed, without script, not
# ours to audit), and axe-core waits for each frame's answer with a timer that a page without script
# never runs.
AXE_OPTIONS = 'const AXE_OPTIONS = {resultTypes: ["violations"], iframes: false};'

# Every top-level document of a page with JavaScript gets axe-core (an init script: exempt from the
# page's CSP, and compiled once) and audits itself, once loaded and after every htmx swap, telling
# Python through the `axeAudit` binding. It runs in the page because DevTools holds back every command
# to a document while a navigation away from it is pending: Python could not evaluate there and then,
# nor answer a binding. So the page asks whether a state is new, but does not wait long for the answer.
AXE_IN_PAGE = """(() => {
  if (window !== window.top || !location.protocol.startsWith("http")) return;
  %(axe)s
  %(options)s
  const state = %(state)s;
  const documentId = performance.timeOrigin;
  const report = (kind, detail) => window.axeAudit(kind, documentId, detail ?? null);
  const run = async () => (await axe.run(document, AXE_OPTIONS)).violations.map(
    v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(" ")).join(", ")}`
  ).concat(%(overflow)s());
  let queue = Promise.resolve();
  const enqueue = task => {
    const done = queue.then(task);
    queue = done.catch(() => {});
    return done;
  };
  // One axe-core run at a time in a document: assert_accessible queues here too.
  window.axeViolations = () => enqueue(run);
  const settled = async () => {
    for (let tries = 0; document.querySelector(".htmx-swapping, .htmx-settling") && tries < 100; tries++) {
      await new Promise(done => setTimeout(done, 50));
    }
  };
  const audit = () => {
    report("queued");
    enqueue(async () => {
      await settled();
      const now = state();
      const unanswered = new Promise(done => setTimeout(done, 500, true));
      const fresh = await Promise.race([report("state", now), unanswered]);
      report("done", {...now, violations: fresh ? await run() : []});
    }).catch(error => report("failed", String(error)));
  };
  report("begun", location.href);
  addEventListener("load", audit);
  // Queued as the swap happens, before a test can see its result and act on it.
  addEventListener("htmx:afterSwap", audit);
})();"""

# What a page shows, told apart from its other states by URL, viewport and DOM (without the CSRF token,
# the same page in two contexts is one state); with the HTTP status of its document.
STATE = """() => {
  const token = document.querySelector("input[name=csrf_token]")?.value;
  const html = document.documentElement.outerHTML;
  return {
    url: location.href,
    lang: document.documentElement.lang,
    status: performance.getEntriesByType("navigation")[0]?.responseStatus ?? 0,
    dom: `${innerWidth}x${innerHeight} ${token ? html.replaceAll(token, "") : html}`,
  };
}"""

# A document loaded without JavaScript runs no timer, microtask or message callback, only promise jobs;
# axe-core yields with setTimeout(..., 0) between rules, so there that becomes a promise job. A longer
# timer (a cache's expiry, a frame's time-out) would never come in such a document anyway.
AXE_WITHOUT_SCRIPT = """() => {
  window.setTimeout = (callback, delay, ...args) => {
    if (!delay) Promise.resolve().then(() => callback(...args));
    return 0;
  };
  window.clearTimeout = () => {};
  %(axe)s
  %(options)s
  return (async () => (await axe.run(document, AXE_OPTIONS)).violations.map(
    v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(" ")).join(", ")}`
  ).concat(%(overflow)s()))();
}"""

# Checked with axe-core on every state: nothing is wider than the window (a phone's 360 px included).
OVERFLOW = """(() => {
  const wide = document.documentElement.scrollWidth;
  return wide > innerWidth ? [`overflow: the page is ${wide} px wide in a ${innerWidth} px window`] : [];
})"""


@functools.cache
def _with_axe(script: str) -> str:
    return script % {
        "axe": AXE.read_text(encoding="utf-8"),
        "options": AXE_OPTIONS,
        "state": STATE,
        "overflow": OVERFLOW,
    }


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each: rule, impact, help, elements."""
    if page.evaluate("() => 'axeViolations' in window"):
        return page.evaluate("() => axeViolations()")
    return page.evaluate(_with_axe(AXE_WITHOUT_SCRIPT))  # a page without JavaScript


# What changes a page: a navigation, and an htmx request (XHR).
HELD_REQUESTS = ["Document", "XHR", "Fetch"]


@dataclass
class _Document:
    url: str
    audits_under_way: int = 0
    audited: bool = False


class AxeAudit:
    """axe-core on every page a browser test opens, in every context: a page with JavaScript once loaded
    and after every htmx swap (a navigation or an htmx request waits for the audit under way, so that
    it sees the state it was started on); a page without JavaScript as its server's HTML, reloaded in a
    page of its own (its DOM is that HTML). Each (URL, viewport, DOM) state is audited once a test."""

    def __init__(self, new_context: Callable[..., BrowserContext]) -> None:
        self.states: list[tuple[str, str, int]] = []  # (url, lang, HTTP status) of each state audited
        self.violations: dict[str, None] = {}  # one report line each, in order
        self.problems: list[str] = []
        self._new_context = new_context  # Browser.new_context itself: the contexts that replay HTML
        self._seen: set[str] = set()
        self._documents: dict[float, _Document] = {}  # by performance.timeOrigin
        self._current: dict[Page, float] = {}
        self._committed: Counter[Page] = Counter()  # top-level http(s) documents, as DevTools saw them
        self._top_frames: dict[Page, str] = {}  # each page's top frame, by its DevTools id
        self._begun: Counter[Page] = Counter()  # ... and as they told (a little later)
        self._loaded: list[str] = []  # every http(s) document loaded, counted apart from the audits
        self._replays: dict[BrowserContext, BrowserContext] = {}  # a test's context → its replays'
        self._replaying: Counter[Page] = Counter()
        self._replayed = 0
        self._open: list[BrowserContext] = []
        self._scripted: dict[BrowserContext, bool] = {}
        self.abandoned = False  # the test failed: close its pages as they are

    def watch(self, context: BrowserContext, options: dict) -> BrowserContext:
        self._open.append(context)
        context.on("close", self._forget)
        scripted = options.get("java_script_enabled", True)
        if scripted:
            context.expose_binding("axeAudit", self._on_report)
            context.add_init_script(_with_axe(AXE_IN_PAGE))
        else:
            context.on("response", lambda response: self._replay(response, options))
        self._scripted[context] = scripted
        context.on("page", self._watch_popup)
        for page in context.pages:  # Browser.new_page opens its context with the page
            self.watch_page(page)
        return context

    def _forget(self, context: BrowserContext) -> None:
        self._open.remove(context)

    def _watch_popup(self, page: Page) -> None:
        if page.opener():  # BrowserContext.new_page watches its page before a test can navigate it
            self.watch_page(page)

    def watch_page(self, page: Page) -> None:
        if page.context not in self._scripted:
            return  # a page that replays HTML
        page.on("domcontentloaded", self._count_document)
        if self._scripted[page.context]:
            # Held through DevTools rather than page.route, which would turn the HTTP cache off. The same
            # session counts the documents committed, which it tells before a request that leaves one.
            session = page.context.new_cdp_session(page)
            session.on("Page.frameNavigated", lambda event: self._count_commit(page, event["frame"]))
            session.on("Fetch.requestPaused", lambda event: self._before_request(page, session, event))
            session.send("Page.enable")
            session.send("Fetch.enable", {"patterns": [{"resourceType": kind} for kind in HELD_REQUESTS]})

    def _count_commit(self, page: Page, frame: dict) -> None:
        if "parentId" not in frame:
            self._top_frames[page] = frame["id"]
            if frame["url"].startswith("http"):
                self._committed[page] += 1

    def _count_document(self, page: Page) -> None:
        if page.url.startswith("http"):
            self._loaded.append(page.url)

    def _on_report(self, source: dict, kind: str, document_id: float, detail):
        """What a document's audit tells: begun, queued, state (answered: is it new?), done, failed."""
        document = self._documents.setdefault(document_id, _Document(source["page"].url))
        if kind == "begun":
            self._current[source["page"]] = document_id
            self._begun[source["page"]] += 1
        elif kind == "queued":
            document.audits_under_way += 1
        elif kind == "state":
            return self._is_new(detail)
        elif kind == "done":
            document.audits_under_way -= 1
            document.audited = True
            self._record(detail["url"], detail["lang"], detail["violations"])
        elif kind == "failed":
            document.audits_under_way -= 1
            self.problems.append(f"{document.url}: axe-core could not run: {detail}")
        return None

    def _is_new(self, state: dict) -> bool:
        key = hashlib.sha256(f"{state['url']} {state['dom']}".encode()).hexdigest()
        if key in self._seen:
            return False
        self._seen.add(key)
        self.states.append((state["url"], state["lang"], state["status"]))
        return True

    def _record(self, url: str, lang: str, violations: list[str]) -> None:
        for line in violations:
            self.violations[f"{url} [{lang}] {line}"] = None

    def _before_request(self, page: Page, session: CDPSession, event: dict) -> None:
        """A navigation, or an htmx request, waits until the page it will change has been audited. A frame's
        requests do not: the page's load, and so its audit, waits for its frames (the dev mailbox's HTML)."""
        try:
            top_frame = self._top_frames.get(page)
            if top_frame is None or event.get("frameId", top_frame) == top_frame:
                self.settle(page)
        finally:
            with contextlib.suppress(PlaywrightError):  # the page closed meanwhile
                session.send("Fetch.continueRequest", {"requestId": event["requestId"]})

    def settle(self, page: Page) -> None:
        """Wait until the page's document has been audited and no audit or replay is under way."""
        deadline = time.monotonic() + 60
        while not self.abandoned and not page.is_closed() and (self._replaying[page] or self._auditing(page)):
            if time.monotonic() > deadline:
                self.problems.append(f"{page.url}: the audit did not finish in 60 s")
                return
            page.wait_for_timeout(20)

    def settle_all(self) -> None:
        for context in self._open:
            for page in context.pages:
                self.settle(page)

    def _auditing(self, page: Page) -> bool:
        if self._begun[page] < self._committed[page]:
            return True  # a document has come that has not told of itself yet
        document = self._documents.get(self._current.get(page))
        return (
            page.url.startswith("http")
            and document is not None
            and (not document.audited or document.audits_under_way > 0)
        )

    def _replay(self, response: Response, options: dict) -> None:
        """Audit the HTML a page without JavaScript got, served again to a page of the same options."""
        request = response.request
        if request.frame.parent_frame is not None or not request.is_navigation_request():
            return
        if 300 <= response.status < 400:
            return
        page = request.frame.page
        self._replaying[page] += 1
        try:
            html = response.body()
            if page.context not in self._replays:
                self._replays[page.context] = self._new_context(page.context.browser, **options)
            replay = self._replays[page.context].new_page()
            replay.route(
                lambda url: url == response.url,
                lambda route: route.fulfill(status=response.status, content_type="text/html", body=html),
                times=1,
            )
            replay.goto(response.url)
            self._audit_now(replay)
            self._replayed += 1
            replay.close()
        except PlaywrightError as error:
            self.problems.append(f"{response.url}: axe-core could not run: {error.message}")
        finally:
            self._replaying[page] -= 1

    def _audit_now(self, page: Page) -> dict:
        state = page.evaluate(STATE)
        if self._is_new(state):
            self._record(state["url"], state["lang"], axe_violations(page))
        return state

    def check(self, page: Page) -> dict:
        """Make sure the page as it is now has been audited (also a state that no load or htmx swap
        made, such as an open menu); its url, lang and HTTP status."""
        self.settle(page)
        state = self._audit_now(page)
        return {name: state[name] for name in ("url", "lang", "status")}

    def close_all(self) -> None:
        """Close what the test left open (auditing its pages first), and the pages that replay HTML."""
        for context in [*self._open, *self._replays.values()]:
            context.close()

    def failures(self) -> list[str]:
        if self.abandoned:
            return list(self.violations)
        audited = self._replayed + sum(document.audited for document in self._documents.values())
        unaudited = [
            f"{document.url} was never audited"
            for document in self._documents.values()
            if not document.audited
        ]
        if len(self._loaded) > audited and not unaudited:
            unaudited = [f"{len(self._loaded)} pages loaded, {audited} audited: {self._loaded}"]
        return [*self.violations, *self.problems, *unaudited]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """When a test is over its pages finish their audits, while the portal they load from still runs."""
    audit = item.funcargs.get("axe_audit")
    try:
        result = yield
    except BaseException:
        audit.abandoned = True
        raise
    audit.settle_all()
    return result


@pytest.fixture(autouse=True)
def axe_audit(monkeypatch) -> Iterator[AxeAudit]:
    """Every page a browser test opens, through any context, is audited with axe-core; the test fails
    on any violation, on an audit that could not run and on a page that was never audited."""
    new_context, new_page, new_page_in_context = (
        Browser.new_context,
        Browser.new_page,
        BrowserContext.new_page,
    )
    close_context, close_page = BrowserContext.close, Page.close
    audit = AxeAudit(new_context)

    # Patched on the classes rather than wrapped in a fixture: tests also open contexts from
    # page.context.browser, and close their contexts themselves.
    def audited_new_context(browser: Browser, **options) -> BrowserContext:
        return audit.watch(new_context(browser, **options), options)

    def audited_new_page(browser: Browser, **options) -> Page:
        page = new_page(browser, **options)
        audit.watch(page.context, options)
        return page

    def audited_new_page_in_context(context: BrowserContext) -> Page:
        page = new_page_in_context(context)
        audit.watch_page(page)
        return page

    def audited_close_context(context: BrowserContext, **options) -> None:
        for page in context.pages:
            audit.settle(page)
        close_context(context, **options)

    def audited_close_page(page: Page, **options) -> None:
        audit.settle(page)
        close_page(page, **options)

    monkeypatch.setattr(Browser, "new_context", audited_new_context)
    monkeypatch.setattr(Browser, "new_page", audited_new_page)
    monkeypatch.setattr(BrowserContext, "new_page", audited_new_page_in_context)
    monkeypatch.setattr(BrowserContext, "close", audited_close_context)
    monkeypatch.setattr(Page, "close", audited_close_page)
    yield audit
    audit.close_all()
    if failures := audit.failures():
        pytest.fail("axe-core:\n" + "\n".join(failures), pytrace=False)
