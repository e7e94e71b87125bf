"""The inbox in Debian Chromium: hostile HTML stays inert, live updates, narrow screens."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from mailbox_helpers import make_message, send

pytestmark = pytest.mark.browser


# `browser` is the session's one Chromium, from tests/conftest.py: Playwright's sync API allows one
# instance per process.


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def tracker():
    """A web server standing in for a remote image host: it records every request."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()
    thread.join()


def test_hostile_html_runs_no_script_and_loads_no_remote_image(mailbox, page, tracker):
    remote, hits = tracker
    hostile = f"""<html><head><meta http-equiv="refresh" content="0;url={remote}/refresh">
<link rel="stylesheet" href="{remote}/style.css"><style>p {{ color: green }}</style></head>
<body><p id="text">Tere!</p>
<script>top.document.title = "pwned"; fetch("{mailbox.api_url}/api/v1/messages",
  {{method: "DELETE"}}); new Image().src = "{remote}/script-beacon";</script>
<img src="{remote}/pixel.gif" alt="tracker">
<img src="x" onerror="top.document.title = 'pwned-onerror'">
<div style="background: url({remote}/bg.png)">bg</div>
<iframe src="{remote}/frame"></iframe>
<a href="https://kool.example/ok">ok</a></body></html>"""
    send(mailbox, make_message(subject="Hostile", html=hostile))
    message = mailbox.wait_for(subject="Hostile")
    answered: list[str] = []  # Chromium reports CSP-blocked requests too; responses are real
    page.on("response", lambda response: answered.append(response.url))
    page.goto(f"{mailbox.web_url}/message/{message.id}")
    frame = page.frame_locator("iframe.html-body")
    assert frame.locator("#text").inner_text() == "Tere!"
    page.wait_for_timeout(500)
    assert hits == []
    assert not [url for url in answered if url.startswith(remote)]
    assert "pwned" not in page.title()
    assert len(mailbox.messages()) == 1  # the DELETE never ran
    assert page.get_by_role("link", name="https://kool.example/ok").is_visible()


def test_new_mail_appears_without_reload(mailbox, page):
    page.goto(mailbox.web_url + "/?lang=en")
    assert page.get_by_text("No messages.").is_visible()
    send(mailbox, subject="Arrives live")
    page.get_by_text("Arrives live").wait_for(timeout=3000)


def test_narrow_screen_and_keyboard(mailbox, browser):
    send(mailbox, subject="Narrow " + "x" * 80, to="a-very-long-address-for-testing@example.com")
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        narrow = context.new_page()
        for path in ("/", "/scenarios", "/log", f"/message/{mailbox.messages()[0].id}"):
            narrow.goto(mailbox.web_url + path)
            width = narrow.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (path, width)
        narrow.goto(mailbox.web_url + "/?lang=en")
        narrow.keyboard.press("Tab")
        assert narrow.evaluate("document.activeElement.textContent") == "Skip to content"
        narrow.keyboard.press("Enter")
        assert narrow.evaluate("document.activeElement.id") == "main"
        for label in ("Recipient", "Search"):
            assert narrow.get_by_label(label).is_visible()
    finally:
        context.close()


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def test_every_inbox_page_passes_axe(mailbox, browser):
    """axe-core (installed from the npm registry at set-up) finds no violation on any page."""
    mailbox.add_rule("*@gmial.com", "spam")
    send(mailbox, make_message(subject="Kiri", html='<p><a href="https://kool.example/a">a</a></p>'))
    send(mailbox, to="x@gmial.com", subject="Rämps")
    message_id = mailbox.messages()[0].id
    # The inbox's CSP forbids injected scripts; bypassing it is only for injecting axe.
    context = browser.new_context(viewport={"width": 360, "height": 780}, bypass_csp=True)
    try:
        page = context.new_page()
        for path in (
            "/",
            "/?folder=spam&lang=ru",
            f"/message/{message_id}?lang=en",
            "/scenarios",
            "/log",
            "/message/unknown",
        ):
            page.goto(mailbox.web_url + path)
            page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            violations = page.evaluate(
                "async () => (await axe.run(document)).violations"
                ".map(v => `${v.id}: ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"
            )
            assert violations == [], (path, violations)
        # The form's error state too: the message is announced and tied to its field.
        page.goto(mailbox.web_url + "/scenarios?lang=en")
        page.get_by_label("Rule 2: recipient").fill("re:((")
        page.get_by_role("button", name="Save").click()
        assert page.get_by_role("alert").inner_text().startswith("Nothing was saved")
        assert page.get_by_label("Rule 2: recipient").get_attribute("aria-invalid") == "true"
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        assert page.evaluate("async () => (await axe.run(document)).violations.length") == 0
    finally:
        context.close()
