"""End-to-end fixtures: the portal on a real port, the dev mailbox, Debian's Chromium via Playwright."""

import json
import re
import shutil
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page
from werkzeug.serving import make_server

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


class LiveServer:
    def __init__(self, app) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def portal(make_app, mailbox, tmp_path):
    """The portal served on a free port, sending through its sender thread to the dev mailbox."""
    from webapp.extensions import db

    app = make_app(
        MAIL_PORT=mailbox.smtp_port, OUTBOX_THREAD=True, OUTBOX_POLL_SECONDS=0.5, WTF_CSRF_ENABLED=True
    )
    server = LiveServer(app)
    app.config["BASE_URL"] = server.url  # known only once the server has its port
    yield app, server.url
    app.extensions["outbox_sender"].stop()
    server.stop()
    with app.app_context():
        db.session.remove()


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
    """A page whose CSP is bypassed, only so that axe-core can be injected."""
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="et-EE", bypass_csp=True)
    yield context.new_page()
    context.close()


def assert_accessible(page: Page) -> None:
    """axe-core finds no violation on the page as it is now."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => `${v.id}: ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"
    )
    assert violations == [], f"{page.url}: {violations}"
