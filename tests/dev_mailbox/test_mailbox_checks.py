"""The message checks over real SMTP and HTTP: SpamAssassin's score (sa-check), the link check and the
HTML check, in the shapes of Mailpit's API reference (field names and JSON types); their pages."""

import json
import socket
import threading
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mailbox_helpers import call, make_message, send

from dev_mailbox import htmlcheck, linkcheck
from dev_mailbox.testing import MailboxHandle

pytestmark = pytest.mark.smtp

NUMBER = (int, float)  # a JSON number: Mailpit's float fields may come as 0 or 7.2


def api_json(mailbox, path: str, headers: dict | None = None, timeout: float = 180) -> tuple[int, dict]:
    """GET with time to spare: the first spam check waits for spamd to start."""
    request = urllib.request.Request(mailbox.api_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own mailbox
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_shape(value, shape, where="") -> None:
    """`value` has exactly the fields of `shape`, each of its JSON type ([type]: a list of them)."""
    if isinstance(shape, dict):
        assert isinstance(value, dict), where
        assert set(value) == set(shape), f"{where}: {sorted(value)}"
        for name, kind in shape.items():
            assert_shape(value[name], kind, f"{where}.{name}")
    elif isinstance(shape, list):
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            assert_shape(item, shape[0], f"{where}[{index}]")
    else:
        assert isinstance(value, shape) and not (shape is NUMBER and isinstance(value, bool)), (
            f"{where}: {value!r}"
        )


# Mailpit's swagger definitions: SpamAssassinResponse, LinkCheckResponse, HTMLCheckResponse.
SPAM_SHAPE = {
    "IsSpam": bool,
    "Error": str,
    "Score": NUMBER,
    "Rules": [{"Score": NUMBER, "Name": str, "Description": str}],
}
LINK_SHAPE = {"Errors": int, "Links": [{"URL": str, "StatusCode": int, "Status": str}]}
HTML_RESULT = {"Name": str, "Platform": str, "Family": str, "Version": str, "Support": str, "NoteNumber": str}
HTML_WARNING = {
    "Slug": str,
    "Title": str,
    "Description": str,
    "URL": str,
    "Category": str,
    "Tags": [str],
    "Keywords": str,
    "Results": [HTML_RESULT],
    "NotesByNumber": dict,
    "Score": {"Found": int, "Supported": NUMBER, "Partial": NUMBER, "Unsupported": NUMBER},
}
HTML_SHAPE = {
    "Warnings": [HTML_WARNING],
    "Platforms": dict,
    "Total": {"Tests": int, "Nodes": int, "Supported": NUMBER, "Partial": NUMBER, "Unsupported": NUMBER},
}


def proper_message(subject: str, text: str, html: str | None = None) -> EmailMessage:
    message = make_message(subject=subject, text=text, html=html)
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(domain="kool.example")
    return message


# --- sa-check ---------------------------------------------------------------------------------------


def test_spam_check_scores_a_message_and_names_every_rule(mailbox):
    # No Date, no Message-ID, and an HTML part that says something else than the text: spam signs.
    send(mailbox, make_message(subject="Odav", text="Tere", html="<p>Osta kohe <img src='x.gif'></p>"))
    message = mailbox.wait_for(subject="Odav")
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/sa-check")
    assert status == 200
    assert_shape(result, SPAM_SHAPE, "sa-check")
    assert result["Error"] == ""
    rules = {rule["Name"]: rule for rule in result["Rules"]}
    assert {"MISSING_DATE", "MISSING_MID"} <= set(rules)
    assert rules["MISSING_DATE"]["Score"] > 0
    assert rules["MISSING_DATE"]["Description"] == "Missing Date: header"
    assert result["Score"] >= 1.0
    # The total is spamd's sum of the unrounded scores; each rule's is shown to one decimal.
    rounding = 0.05 * (len(result["Rules"]) + 1)
    assert result["Score"] == pytest.approx(sum(rule["Score"] for rule in result["Rules"]), abs=rounding)
    assert result["IsSpam"] is (result["Score"] >= 5.0)

    status, latest = api_json(mailbox, "/api/v1/message/latest/sa-check")
    assert (status, latest) == (200, result)


def test_a_plain_message_is_not_spam(mailbox):
    send(mailbox, proper_message("Koosolek", "Tere! Koosolek on neljapäeval kell 18 aulas."))
    message = mailbox.wait_for(subject="Koosolek")
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/sa-check")
    assert status == 200 and result["Error"] == ""
    assert result["IsSpam"] is False
    assert result["Score"] < 1.0


def test_spam_check_of_an_unknown_message_is_404(mailbox):
    status, result = api_json(mailbox, "/api/v1/message/nope/sa-check")
    assert status == 404 and "Error" in result


@pytest.fixture
def mailbox_without_spamassassin(tmp_path):
    handle = MailboxHandle(tmp_path / "mail.sqlite3", spamd=None)
    handle.start()
    yield handle
    handle.stop()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("et", "SpamAssassin pole paigaldatud"),
        ("ru", "SpamAssassin не установлен"),
        ("en", "SpamAssassin is not installed"),
    ],
)
def test_without_spamassassin_the_check_says_how_to_turn_it_on(mailbox_without_spamassassin, language, words):
    mailbox = mailbox_without_spamassassin
    send(mailbox, subject="Ilma")
    message = mailbox.wait_for(subject="Ilma")
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/sa-check?lang={language}")
    assert status == 200
    assert_shape(result, SPAM_SHAPE, "sa-check")
    assert (result["IsSpam"], result["Score"], result["Rules"]) == (False, 0, [])
    assert words in result["Error"] and "apt-get install spamd" in result["Error"]
    status, page, _ = call(mailbox, "GET", f"/message/{message.id}/spam-check?lang={language}")
    assert status == 200 and words in page.decode()


# --- link-check -------------------------------------------------------------------------------------


@pytest.fixture
def site():
    """A web server whose paths answer as their names say; it records every (method, path)."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            seen.append((self.command, self.path))
            if self.path.startswith("/no-head") and self.command == "HEAD":
                self.send_response(405)
                self.send_header("Allow", "GET")
            elif self.path.startswith("/missing"):
                self.send_response(404)
            elif self.path.startswith("/moved"):
                self.send_response(302)
                self.send_header("Location", "/ok")
            elif self.path.startswith("/to-ftp"):
                self.send_response(302)
                self.send_header("Location", "ftp://files.example/secret")
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_link_check_gives_each_links_status_with_head_then_get(mailbox, site):
    base, seen = site
    text = f"Ava {base}/ok ja {base}/no-head ning {base}/missing.\nKatki: http://127.0.0.1:9/closed"
    html = (
        f'<p><a href="{base}/ok">ok</a> <a href="{base}/moved">moved</a>'
        f' <a href="mailto:x@kool.example">kiri</a> <a href="{base}/to-ftp">ftp</a>'
        f' <a href="{base}/ok">again</a></p>'
    )
    send(mailbox, proper_message("Lingid", text, html))
    message = mailbox.wait_for(subject="Lingid")
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/link-check")
    assert status == 200
    assert_shape(result, LINK_SHAPE, "link-check")
    statuses = {link["URL"]: (link["StatusCode"], link["Status"]) for link in result["Links"]}
    assert list(statuses) == [  # text links, then HTML hrefs; each once; mailto: is not http
        f"{base}/ok",
        f"{base}/no-head",
        f"{base}/missing",
        "http://127.0.0.1:9/closed",
        f"{base}/moved",
        f"{base}/to-ftp",
    ]
    assert statuses[f"{base}/ok"] == (200, "OK")
    assert statuses[f"{base}/no-head"] == (200, "OK")  # HEAD 405, then GET
    assert statuses[f"{base}/missing"] == (404, "Not Found")
    assert statuses[f"{base}/moved"] == (302, "Found")  # not followed unless asked
    assert statuses[f"{base}/to-ftp"] == (302, "Found")
    assert statuses["http://127.0.0.1:9/closed"][0] == 0
    assert result["Errors"] == 2
    assert ("GET", "/no-head") in seen and ("GET", "/ok") not in seen
    assert not [request for request in seen if request[0] == "POST"]

    status, followed = api_json(mailbox, f"/api/v1/message/{message.id}/link-check?follow=true")
    statuses = {link["URL"]: (link["StatusCode"], link["Status"]) for link in followed["Links"]}
    assert statuses[f"{base}/moved"] == (200, "OK")
    code, reason = statuses[f"{base}/to-ftp"]
    assert code == 0 and "ftp://files.example/secret" in reason  # an ftp: redirect is not followed
    assert followed["Errors"] == 3


def test_link_check_page_shows_each_status_in_the_readers_language(mailbox, site):
    base, _ = site
    send(mailbox, proper_message("Lehel", f"{base}/ok {base}/missing"))
    message = mailbox.wait_for(subject="Lehel")
    status, page, _ = call(mailbox, "GET", f"/message/{message.id}/link-check?lang=en")
    text = page.decode()
    assert status == 200
    assert "2 links checked" in text and "1 does not work." in text
    assert "Works" in text and "Broken" in text and "404" in text


def test_link_check_checks_at_most_its_limit(mailbox, site, monkeypatch):
    base, seen = site
    monkeypatch.setattr(linkcheck, "MAX_LINKS", 5)
    send(mailbox, proper_message("Palju", " ".join(f"{base}/ok/{n}" for n in range(12))))
    message = mailbox.wait_for(subject="Palju")
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/link-check")
    assert status == 200 and len(result["Links"]) == 5 and len(seen) == 5


def test_a_link_that_does_not_answer_times_out(site):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
        result = linkcheck.check_link(url, timeout=0.5)
    finally:
        listener.close()
    assert result.status_code == 0 and "timed out" in result.status
    assert linkcheck.check_link("javascript:alert(1)").status_code == 0
    assert linkcheck.check_link("http://user:pw@127.0.0.1/").status_code == 0


# --- html-check -------------------------------------------------------------------------------------

HTML = """<!doctype html><html><head><style>
a:hover { color: red } @media (max-width: 600px) { .x { display: none } }
</style></head><body>
<div style="display:flex; border-radius:4px"><p style="margin:0">Tere</p>
<img src="pilt.webp" alt="pilt"></div>
<form action="https://kool.example/"><input type="text" name="q"></form>
</body></html>"""


def test_html_check_lists_unsupported_features_in_mailpits_shape(mailbox):
    send(mailbox, proper_message("Kujundus", "Tere", HTML))
    message = mailbox.wait_for(subject="Kujundus")
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/html-check")
    assert status == 200
    assert_shape(result, HTML_SHAPE, "html-check")
    found = {warning["Slug"]: warning for warning in result["Warnings"]}
    assert {
        "css-display-flex",
        "css-border-radius",
        "html-form",
        "image-webp",
        "css-pseudo-class-hover",
    } <= set(found)
    assert {"css-at-media", "css-display-none", "html-input-text", "html-style", "html-body"} <= set(found)
    assert found["css-display-flex"]["Score"]["Found"] == 1
    for warning in result["Warnings"]:
        score = warning["Score"]
        assert score["Supported"] + score["Partial"] + score["Unsupported"] == pytest.approx(100, abs=0.1)
        assert {result["Support"] for result in warning["Results"]} <= {"yes", "no", "partial"}
        assert all(isinstance(note, str) for note in warning["NotesByNumber"].values())
    flex = found["css-display-flex"]["Results"]
    assert any(r["Family"] == "outlook" and r["Platform"] == "windows" and r["Support"] == "no" for r in flex)
    assert all(
        isinstance(names, list) and all(isinstance(n, str) for n in names)
        for names in result["Platforms"].values()
    )
    assert "Gmail" in result["Platforms"]["android"]
    total = result["Total"]
    assert total["Supported"] + total["Partial"] + total["Unsupported"] == pytest.approx(100, abs=0.1)
    assert total["Unsupported"] > 0 and total["Nodes"] == 7  # style, body, div, p, img, form, input
    # The features that reach the fewest readers come first.
    worst = [
        (w["Score"]["Partial"] + w["Score"]["Unsupported"]) * w["Score"]["Found"] for w in result["Warnings"]
    ]
    assert worst == sorted(worst, reverse=True)


def test_html_check_without_html_or_without_data_says_why(mailbox, monkeypatch, tmp_path):
    send(mailbox, proper_message("Tekst", "Ainult tekst"))
    message = mailbox.wait_for(subject="Tekst")
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/html-check?lang=en")
    assert (status, result) == (400, {"Error": "The message has no HTML version to check."})

    send(mailbox, proper_message("Andmeteta", "Tere", "<p>Tere</p>"))
    message = mailbox.wait_for(subject="Andmeteta")
    monkeypatch.setenv(htmlcheck.DATA_VARIABLE, str(tmp_path / "missing.json"))
    status, result = api_json(mailbox, f"/api/v1/message/{message.id}/html-check?lang=en")
    assert status == 503 and "make install" in result["Error"]
    status, page, _ = call(mailbox, "GET", f"/message/{message.id}/html-check?lang=en")
    assert status == 200 and "make install" in page.decode()


def test_check_pages_of_an_unknown_message_are_404(mailbox):
    for check in ("spam-check", "link-check", "html-check"):
        assert call(mailbox, "GET", f"/message/nope/{check}")[0] == 404
        assert call(mailbox, "GET", f"/api/v1/message/nope/{check.replace('spam', 'sa')}")[0] == 404
