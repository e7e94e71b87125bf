"""The Mailpit-shaped JSON API, over real SMTP and real HTTP."""

import pytest
from mailbox_helpers import make_message, send

pytestmark = pytest.mark.smtp

SUMMARY_FIELDS = {
    "ID",
    "MessageID",
    "Read",
    "From",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "Subject",
    "Created",
    "Tags",
    "Size",
    "Attachments",
    "Snippet",
}
MESSAGE_FIELDS = {
    "ID",
    "MessageID",
    "From",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "ReturnPath",
    "Subject",
    "Date",
    "Tags",
    "Text",
    "HTML",
    "Size",
    "Inline",
    "Attachments",
}


def test_list_has_mailpit_shape_newest_first(mailbox, api):
    send(mailbox, subject="first")
    send(mailbox, subject="second", to="other@example.com")
    status, body, _ = api("GET", "/api/v1/messages")
    assert status == 200
    assert set(body) >= {"total", "unread", "count", "messages_count", "start", "tags", "messages"}
    assert body["total"] == 2 and body["unread"] == 2 and body["count"] == 2
    assert [m["Subject"] for m in body["messages"]] == ["second", "first"]
    first = body["messages"][1]
    assert set(first) == SUMMARY_FIELDS
    assert first["From"] == {"Name": "Kool", "Address": "noreply@kool.example"}
    assert first["To"] == [{"Name": "", "Address": "parent@example.com"}]
    assert first["Snippet"] == "Hello"


def test_start_and_limit_page_the_list(mailbox, api):
    for number in range(5):
        send(mailbox, subject=f"m{number}")
    _, body, _ = api("GET", "/api/v1/messages?start=1&limit=2")
    assert [m["Subject"] for m in body["messages"]] == ["m3", "m2"]
    assert body["start"] == 1 and body["count"] == 2 and body["messages_count"] == 5


def test_message_by_id_and_latest_mark_read(mailbox, api):
    send(
        mailbox,
        make_message(
            subject="Konto",
            text="Link: https://kool.example/a?t=1",
            html='<a href="https://kool.example/b">b</a>',
        ),
    )
    _, listing, _ = api("GET", "/api/v1/messages")
    message_id = listing["messages"][0]["ID"]
    status, message, _ = api("GET", f"/api/v1/message/{message_id}")
    assert status == 200 and set(message) == MESSAGE_FIELDS
    assert message["Subject"] == "Konto"
    assert "https://kool.example/a?t=1" in message["Text"]
    assert 'href="https://kool.example/b"' in message["HTML"]
    status, latest, _ = api("GET", "/api/v1/message/latest")
    assert status == 200 and latest["ID"] == message_id
    _, listing, _ = api("GET", "/api/v1/messages")
    assert listing["unread"] == 0 and listing["messages"][0]["Read"] is True


def test_unknown_message_is_404_json(mailbox, api):
    for path in (
        "/api/v1/message/nope",
        "/api/v1/message/nope/raw",
        "/api/v1/message/nope/headers",
        "/api/v1/message/latest",
    ):
        status, body, _ = api("GET", path)
        assert status == 404, path
        assert "not found" in body["Error"]


def test_delete_by_ids_and_all(mailbox, api):
    for number in range(3):
        send(mailbox, subject=f"m{number}")
    _, listing, _ = api("GET", "/api/v1/messages")
    keep, *gone = [m["ID"] for m in listing["messages"]]
    status, _, _ = api("DELETE", "/api/v1/messages", {"IDs": gone})
    assert status == 200
    _, listing, _ = api("GET", "/api/v1/messages")
    assert [m["ID"] for m in listing["messages"]] == [keep]
    api("DELETE", "/api/v1/messages")
    _, listing, _ = api("GET", "/api/v1/messages")
    assert listing["total"] == 0 and listing["messages"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("DELETE", "/api/v1/messages", b"{not json"),
        ("DELETE", "/api/v1/messages", b'{"IDs": "abc"}'),
        ("PUT", "/api/v1/messages", b'{"IDs": [], "Read": "yes"}'),
        ("PUT", "/api/v1/messages", b'{"IDs": ["x"], "Search": "kool"}'),
        ("PUT", "/api/v1/messages", b"\xff\xfe"),
        ("GET", "/api/v1/messages?limit=abc", None),
        ("GET", "/api/v1/messages?start=-1", None),
        ("GET", "/api/v1/search", None),
        ("GET", "/api/v1/search?query=before:yesterday", None),
    ],
)
def test_bad_input_is_400_json(mailbox, api, method, path, body):
    status, answer, _ = api(method, path, body)
    assert status == 400
    assert isinstance(answer["Error"], str) and answer["Error"]


def test_mark_read_and_unread(mailbox, api):
    send(mailbox)
    _, listing, _ = api("GET", "/api/v1/messages")
    ids = [listing["messages"][0]["ID"]]
    api("PUT", "/api/v1/messages", {"IDs": ids, "Read": True})
    assert api("GET", "/api/v1/messages")[1]["unread"] == 0
    api("PUT", "/api/v1/messages", {"Read": False})
    assert api("GET", "/api/v1/messages")[1]["unread"] == 1


def test_headers_and_raw(mailbox, api):
    send(mailbox, subject="=?utf-8?q?T=C3=B5end?= hidden")
    message_id = api("GET", "/api/v1/messages")[1]["messages"][0]["ID"]
    status, headers, _ = api("GET", f"/api/v1/message/{message_id}/headers")
    assert status == 200 and headers["To"] == ["parent@example.com"]
    status, raw, response_headers = api("GET", f"/api/v1/message/{message_id}/raw")
    assert status == 200 and response_headers.get_content_type() == "text/plain"
    assert b"Subject:" in raw and b"Hello" in raw


def test_date_comes_from_the_header_in_utc(mailbox, api):
    message = make_message(subject="dated")
    message["Date"] = "Mon, 06 Jan 2025 08:00:00 +0200"
    send(mailbox, message)
    assert api("GET", "/api/v1/message/latest")[1]["Date"] == "2025-01-06T06:00:00.000Z"
