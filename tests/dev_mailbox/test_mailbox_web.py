"""The web inbox over real HTTP: listing, filters, message view, forms with CSRF, languages."""

import re
import smtplib
from http.cookies import SimpleCookie

import pytest
from mailbox_helpers import call, make_message, send

pytestmark = pytest.mark.smtp


def page(mailbox, path: str, **headers) -> tuple[int, str]:
    status, body, _ = call(mailbox, "GET", path, headers=headers)
    return status, body.decode()


def test_inbox_lists_newest_first_and_filters_by_recipient(mailbox):
    send(mailbox, to="anna@example.com", subject="Anna first")
    send(mailbox, to="boris@example.com", subject="Boris second")
    status, html = page(mailbox, "/?lang=en")
    assert status == 200
    assert html.index("Boris second") < html.index("Anna first")
    _, html = page(mailbox, "/?to=anna@example.com")
    assert "Anna first" in html and "Boris second" not in html


def test_spam_folder_is_separate(mailbox):
    mailbox.add_rule("*@gmial.com", "spam")
    send(mailbox, to="x@gmial.com", subject="Lost in spam")
    assert "Lost in spam" not in page(mailbox, "/")[1]
    assert "Lost in spam" in page(mailbox, "/?folder=spam")[1]


def test_message_page_shows_clickable_decoded_links_and_sandboxed_html(mailbox):
    send(
        mailbox,
        make_message(
            subject="Kinnita",
            text="Ava https://kool.example/apply?token=a%2Bb&lang=et",
            html='<p><a href="https://kool.example/h?x=1&amp;y=2">Ava</a><script>alert(1)</script>'
            '<img src="https://tracker.example/p.gif"></p>',
        ),
    )
    message = mailbox.wait_for(subject="Kinnita")
    status, html = page(mailbox, f"/message/{message.id}")
    assert status == 200
    assert 'href="https://kool.example/apply?token=a%2Bb&amp;lang=et"' in html
    assert 'href="https://kool.example/h?x=1&amp;y=2"' in html
    assert re.search(r'<iframe[^>]+sandbox="allow-popups allow-popups-to-escape-sandbox"', html)
    assert "<script>alert" not in html
    status, body, headers = call(mailbox, "GET", f"/message/{message.id}/html")
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src data: cid:" in policy
    assert "sandbox" in policy and "allow-scripts" not in policy


def test_unknown_message_page_is_404_in_the_readers_language(mailbox):
    status, html = page(mailbox, "/message/nope", **{"Accept-Language": "ru"})
    assert status == 404 and "Такой страницы или письма нет" in html


def test_language_from_query_cookie_header_then_estonian(mailbox):
    assert '<html lang="et">' in page(mailbox, "/")[1]
    assert "Входящие" in page(mailbox, "/", **{"Accept-Language": "ru,en;q=0.5"})[1]
    status, body, headers = call(mailbox, "GET", "/?lang=en")
    assert "Inbox" in body.decode()
    cookie = SimpleCookie(headers["Set-Cookie"])
    assert cookie["dev_mailbox_lang"].value == "en"
    _, html = page(mailbox, "/log", Cookie="dev_mailbox_lang=en", **{"Accept-Language": "ru"})
    assert "Delivery log" in html


def _form_session(mailbox, path: str) -> tuple[str, str]:
    status, body, headers = call(mailbox, "GET", path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', body.decode()).group(1)
    cookie = SimpleCookie(headers["Set-Cookie"])
    return token, f"dev_mailbox_session={cookie['dev_mailbox_session'].value}"


def _post(mailbox, path: str, fields: list[tuple[str, str]], cookie: str = ""):
    from urllib.parse import urlencode

    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    return call(mailbox, "POST", path, urlencode(fields).encode(), headers=headers)


def chaos_fields(probability: str = "0") -> list[tuple[str, str]]:
    fields = []
    for stage in ("Sender", "Recipient", "Data", "Authentication"):
        fields += [(f"probability_{stage}", probability), (f"code_{stage}", "451")]
    return fields


def test_scenarios_form_needs_csrf_token(mailbox):
    status, body, _ = _post(
        mailbox, "/scenarios", [("match", "a@b.c"), ("action", "spam"), ("seconds", "")] + chaos_fields()
    )
    assert status == 400
    assert mailbox.log() == [] and call(mailbox, "GET", "/api/v1/rules")[1] == []


def test_scenarios_form_saves_rules_and_chaos(mailbox):
    token, cookie = _form_session(mailbox, "/scenarios")
    fields = [
        ("csrf_token", token),
        ("match", "*@gmial.com"),
        ("action", "spam"),
        ("seconds", ""),
        ("match", "slow@x.ee"),
        ("action", "delay"),
        ("seconds", "2"),
        ("match", ""),
        ("action", "deliver"),
        ("seconds", ""),
    ] + chaos_fields("7")
    status, _, headers = _post(mailbox, "/scenarios", fields, cookie)
    assert status == 303 and "/scenarios" in headers["Location"]
    assert call(mailbox, "GET", "/api/v1/rules")[1] == [
        {"match": "*@gmial.com", "action": "spam"},
        {"match": "slow@x.ee", "action": "delay", "seconds": 2.0},
    ]
    assert call(mailbox, "GET", "/api/v1/chaos")[1]["Recipient"]["Probability"] == 7


def test_scenarios_form_error_is_translated_and_saves_nothing(mailbox):
    token, cookie = _form_session(mailbox, "/scenarios")
    fields = [("csrf_token", token), ("match", "re:(("), ("action", "spam"), ("seconds", "")]
    status, body, _ = _post(mailbox, "/scenarios?lang=et", fields + chaos_fields(), cookie)
    assert status == 400
    html = body.decode()
    # In the reader's language, Python's own words for the fault too, and next to the field at fault.
    assert "reegel 1: vigane regulaaravaldis, märk 2: sulg ( on sulgemata" in html
    assert "missing" not in html and "subpattern" not in html
    assert re.search(
        r'id="match-1"[^>]*aria-invalid="true" aria-describedby="match-1-error match-help"', html
    )
    assert re.search(r'<strong id="match-1-error" class="error field-error">reegel 1: vigane', html)
    assert 'value="re:(("' in html  # what was typed stays in the form
    assert call(mailbox, "GET", "/api/v1/rules")[1] == []


def test_delete_folder_form(mailbox):
    send(mailbox)
    token, cookie = _form_session(mailbox, "/")
    status, _, _ = _post(mailbox, "/delete", [("csrf_token", token), ("folder", "inbox")], cookie)
    assert status == 303
    assert mailbox.messages() == []


def test_log_page_lists_outcomes(mailbox):
    mailbox.add_rule("lost@example.com", "drop")
    send(mailbox, to="lost@example.com")
    _, html = page(mailbox, "/log?lang=en")
    assert "Dropped" in html and "lost@example.com" in html


def test_inline_cid_image_is_shown_as_data_uri(mailbox):
    message = make_message(subject="Logo", html='<img src="cid:logo@kool" alt="logo">')
    html_part = message.get_payload()[1]
    html_part.add_related(b"GIF89a-fake", maintype="image", subtype="gif", cid="<logo@kool>")
    send(mailbox, message)
    found = mailbox.wait_for(subject="Logo")
    _, body, _ = call(mailbox, "GET", f"/message/{found.id}/html")
    assert 'src="data:image/gif;base64,R0lGODlhLWZha2U="' in body.decode()


def test_uneven_scenarios_form_is_400_not_500(mailbox):
    token, cookie = _form_session(mailbox, "/scenarios")
    fields = [("csrf_token", token), ("match", "a@b.c"), ("match", "d@e.f"), ("action", "spam")]
    status, _, _ = _post(mailbox, "/scenarios", fields + chaos_fields(), cookie)
    assert status == 400
    assert call(mailbox, "GET", "/api/v1/rules")[1] == []


def test_garbled_attachment_type_is_served_as_octet_stream(mailbox):
    raw = (
        b'Content-Type: multipart/mixed; boundary="b"\r\nSubject: odd part\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nbody\r\n--b\r\n"
        b'Content-Type: weird\x7f/ty pe; name="x.bin"\r\nContent-Disposition: attachment\r\n\r\n'
        b"data\r\n--b--\r\n"
    )
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client:
        client.sendmail("a@example.com", ["b@example.com"], raw)
    _, detail, _ = call(mailbox, "GET", "/api/v1/message/latest")
    [attachment] = detail["Attachments"]
    status, content, headers = call(
        mailbox, "GET", f"/api/v1/message/{detail['ID']}/part/{attachment['PartID']}"
    )
    assert status == 200 and content == b"data"
    assert headers.get_content_type() == "application/octet-stream"


def test_mailpit_view_addresses(mailbox):
    send(mailbox, make_message(subject="Vaade", text="Tekst =C3=A4 üks", html="<p>HTML</p>"))
    found = mailbox.wait_for(subject="Vaade")
    status, html = page(mailbox, "/view/latest?lang=en")
    assert status == 200 and '<h1 id="message-subject" tabindex="-1">Vaade</h1>' in html
    status, body, headers = call(mailbox, "GET", f"/view/{found.id}.txt")
    assert status == 200 and headers.get_content_type() == "text/plain"
    assert body.decode().startswith("Tekst =C3=A4 üks")
    status, body, headers = call(mailbox, "GET", "/view/latest.html")
    assert status == 200 and "<p>HTML</p>" in body.decode()
    assert "sandbox" in headers["Content-Security-Policy"]
    assert call(mailbox, "GET", "/view/nope.txt")[0] == 404


def language_links(html: str) -> dict[str, str]:
    found = re.findall(r'<a href="([^"]*)" lang="(\w+)" hreflang', html)
    return {code: href.replace("&amp;", "&") for href, code in found}


@pytest.mark.parametrize(
    ("path", "english"),
    [
        ("/?_method=PUT", "/?lang=en"),
        ("/?_external=1", "/?lang=en"),
        ("/?_anchor=x", "/?lang=en"),
        ("/?_scheme=javascript", "/?lang=en"),
        ("/?_external=1&_scheme=javascript&_anchor=a", "/?lang=en"),
        ("/log?_method=POST&_external=true", "/log?lang=en"),
        ("/scenarios?saved=1&_anchor=x", "/scenarios?lang=en"),
        (
            "/?folder=spam&q=kool&to=a@b.ee&start=0&_external=1&extra=1",
            "/?folder=spam&to=a@b.ee&q=kool&start=0&lang=en",
        ),
        ("/view/nope?_external=1", "/message/nope?lang=en"),  # Mailpit's address; links use the inbox's
    ],
)
def test_language_links_keep_only_the_pages_own_parameters(mailbox, path, english):
    """Flask reads _external, _scheme, _anchor and _method in url_for: never from the query string."""
    status, html = page(mailbox, path, Host="localhost:1")
    assert status in (200, 404)
    links = language_links(html)
    assert links["en"] == english
    assert links["ru"] == english.replace("lang=en", "lang=ru")


def test_language_links_after_a_refused_form_lead_to_a_page(mailbox):
    """A POST-only address would answer a link with 405: the links go to the inbox instead."""
    status, body, _ = _post(mailbox, "/delete", [("folder", "inbox")])
    assert status == 400
    assert language_links(body.decode())["en"] == "/?lang=en"


def test_error_page_keeps_the_allow_header(mailbox):
    status, _, headers = call(mailbox, "GET", "/delete")
    assert status == 405 and "POST" in headers["Allow"]
