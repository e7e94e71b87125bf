"""Tags (from the X-Tags header) and the read status, in Mailpit's shapes; tag: searches; the subject
of every delivery log line."""

import sqlite3
from urllib.parse import quote

import pytest
from mailbox_helpers import make_message, send

from dev_mailbox.mime import parse_message
from dev_mailbox.search import parse_query
from dev_mailbox.store import Delivery, Store

pytestmark = pytest.mark.smtp


def tagged(subject: str, tags: str | None, to: str = "parent@example.com"):
    message = make_message(subject=subject, to=to)
    if tags is not None:
        message["X-Tags"] = tags
    return message


def search(api, query: str) -> list[str]:
    status, found, _ = api("GET", f"/api/v1/search?query={quote(query)}")
    assert status == 200, found
    return [summary["Subject"] for summary in found["messages"]]


def test_x_tags_become_mailpits_tags(mailbox, api):
    """Mailpit's Tags: an array of strings, cleaned as Mailpit cleans them, each once, sorted; the list
    answer's "tags" holds every tag in use."""
    mailbox.add_rule("*@gmial.com", "spam")
    send(mailbox, tagged("Sisselogimine", "login link"))
    send(mailbox, tagged("Kinnitus", " Approved ,login link, LOGIN LINK,, e-mail  change!"))
    send(mailbox, tagged("Rämps", "login link", to="x@gmial.com"))
    send(mailbox, tagged("Sildita", None))
    _, listing, _ = api("GET", "/api/v1/messages")
    by_subject = {summary["Subject"]: summary for summary in listing["messages"]}
    assert by_subject["Sisselogimine"]["Tags"] == ["login link"]
    assert by_subject["Kinnitus"]["Tags"] == ["Approved", "e-mail change", "login link"]
    assert by_subject["Rämps"]["Tags"] == ["login link", "spam"]
    assert by_subject["Sildita"]["Tags"] == []
    assert listing["tags"] == ["Approved", "e-mail change", "login link", "spam"]
    for summary in listing["messages"]:
        assert isinstance(summary["Tags"], list) and all(isinstance(tag, str) for tag in summary["Tags"])
    _, message, _ = api("GET", f"/api/v1/message/{by_subject['Kinnitus']['ID']}")
    assert message["Tags"] == ["Approved", "e-mail change", "login link"]


def test_tag_search_as_in_mailpit(mailbox, api):
    mailbox.add_rule("*@gmial.com", "spam")
    send(mailbox, tagged("Sisselogimine", "login link"))
    send(mailbox, tagged("Kinnitus", "approved, login link"))
    send(mailbox, tagged("Rämps", None, to="x@gmial.com"))
    assert search(api, 'tag:"login link"') == ["Kinnitus", "Sisselogimine"]
    assert search(api, "tag:'Login Link'") == ["Kinnitus", "Sisselogimine"]  # any case
    assert search(api, "tag:APPROVED") == ["Kinnitus"]
    assert search(api, 'tag:"login link" tag:approved') == ["Kinnitus"]
    assert search(api, "tag:spam") == ["Rämps"]
    assert search(api, 'tag:"login" is:unread') == []  # a whole tag, not a part of one
    assert search(api, 'Kinnitus tag:"login link"') == ["Kinnitus"]  # with the full-text index
    status, deleted, _ = api("DELETE", f"/api/v1/search?query={quote('tag:approved')}")
    assert status == 200 and deleted == {"Deleted": 1}
    assert search(api, 'tag:"login link"') == ["Sisselogimine"]
    assert api("GET", "/api/v1/messages")[1]["tags"] == ["login link", "spam"]


def test_the_inbox_filters_by_tag(mailbox, api):
    send(mailbox, tagged("Sisselogimine", "login link"))
    send(mailbox, tagged("Kinnitus", "approved"))
    status, body, _ = api("GET", "/?lang=en&q=" + quote('tag:"login link"'))
    html = body.decode()
    assert status == 200 and "Sisselogimine" in html and "Kinnitus" not in html
    assert 'aria-current="true"><span class="visually-hidden">Showing only: </span>login link</a>' in html


def test_read_status_follows_mailpit(mailbox, api):
    """Read on every summary; opening a message reads it; PUT /api/v1/messages answers "ok" (text),
    with Read left out meaning unread, as in Mailpit, and takes IDs or a Search."""
    send(mailbox, tagged("Üks", "login link"))
    send(mailbox, tagged("Kaks", "approved"))
    _, listing, _ = api("GET", "/api/v1/messages")
    assert [summary["Read"] for summary in listing["messages"]] == [False, False]
    assert listing["unread"] == 2
    first = listing["messages"][1]["ID"]
    api("GET", f"/api/v1/message/{first}")
    _, listing, _ = api("GET", "/api/v1/messages")
    assert {s["Subject"]: s["Read"] for s in listing["messages"]} == {"Üks": True, "Kaks": False}
    assert listing["unread"] == 1

    status, answer, headers = api("PUT", "/api/v1/messages", {"IDs": [first]})
    assert (status, answer, headers.get_content_type()) == (200, b"ok", "text/plain")
    assert api("GET", "/api/v1/messages")[1]["unread"] == 2
    status, answer, _ = api("PUT", "/api/v1/messages", {"Search": "tag:approved", "Read": True})
    assert (status, answer) == (200, b"ok")
    _, listing, _ = api("GET", "/api/v1/messages")
    assert {s["Subject"]: s["Read"] for s in listing["messages"]} == {"Üks": False, "Kaks": True}
    assert api("PUT", "/api/v1/messages", {"Search": "tag:nothing", "Read": True})[:2] == (200, b"ok")
    api("PUT", "/api/v1/messages", {"Read": True})  # neither: every message
    assert api("GET", "/api/v1/messages")[1]["unread"] == 0
    assert search(api, "is:unread") == []


def test_the_delivery_log_has_each_messages_subject(mailbox, api):
    mailbox.add_rule("lost@example.com", "drop")
    mailbox.add_rule("nobody@example.com", "reject")
    send(mailbox, make_message(subject="Kohale", to="parent@example.com"))
    send(mailbox, make_message(subject="Kadunud", to="lost@example.com"))
    send(mailbox, make_message(subject="Tagasi lükatud", to="nobody@example.com, parent@example.com"))
    entries = {
        (entry["Recipient"], entry["Action"]): entry for entry in api("GET", "/api/v1/log")[1]["entries"]
    }
    assert entries["parent@example.com", "delivered"]["Subject"] in ("Kohale", "Tagasi lükatud")
    assert entries["lost@example.com", "dropped"]["Subject"] == "Kadunud"
    assert entries["nobody@example.com", "rejected"]["Subject"] is None  # refused before the message came
    delivered = mailbox.wait_for(subject="Kohale")
    mailbox._store.delete([delivered.id])
    lines = [line for line in mailbox.log() if line.message == delivered.id]
    assert [(line.subject, line.stored) for line in lines] == [(None, False)]


def test_tags_of_mail_stored_by_an_older_version_are_read_on_upgrade(tmp_path):
    """Version 6 kept no tags: the upgrade indexes every message again, reading its X-Tags."""
    path = tmp_path / "old.sqlite3"
    store = Store(path)
    raw = tagged("Vana", "login link").as_bytes()
    store.deliver(Delivery(raw, "a@example.com", {"inbox": ["b@example.com"]}), []).result()
    store.catch_up()
    store.close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE message_tags")
        connection.execute("ALTER TABLE messages DROP COLUMN tags")
        connection.execute("ALTER TABLE delivery_log DROP COLUMN subject")
        connection.execute("PRAGMA user_version = 6")
    connection.close()
    store = Store(path)
    try:
        found, matched = store.find(parse_query('tag:"login link"'))
        assert matched == 1 and found[0].tags == ["login link"]
        assert store.tags() == ["login link"]
        store.delete(ids=[found[0].id])
        assert store.tags() == []
    finally:
        store.close()


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("login link", ["login link"]),
        ("a,b , ,c", ["a", "b", "c"]),
        ("Tõend, tõend", ["T end"]),  # Mailpit's characters only, each tag once
        ("=?utf-8?q?t=C3=B5end?=", ["t end"]),  # encoded words decoded first
        ("Login_Link.v2-x", ["Login_Link.v2-x"]),
    ],
)
def test_x_tags_are_cleaned_as_mailpit_cleans_them(header, tags):
    assert parse_message(f"X-Tags: {header}\r\n\r\nbody".encode()).tags == tags
