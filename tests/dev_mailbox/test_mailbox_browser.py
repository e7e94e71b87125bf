"""The inbox in Debian Chromium: hostile HTML stays inert, live updates, narrow screens."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
