"""Search (UI and API), retention, live updates and attachments."""

import http.client
import time
from email.message import EmailMessage

import pytest
from mailbox_helpers import call, make_message, send

from dev_mailbox.search import SearchError, parse_query
from dev_mailbox.testing import MailboxHandle

pytestmark = pytest.mark.smtp


def subjects(mailbox, query: str) -> list[str]:
    status, body, _ = call(mailbox, "GET", f"/api/v1/search?query={query}")
    assert status == 200, body
    return [message["Subject"] for message in body["messages"]]


@pytest.fixture
def corpus(mailbox):
    send(
        mailbox,
        sender="Kool <noreply@kool.example>",
        to="anna@example.com",
        subject="Konto taotlus",
        text="Palun kinnita taotlus",
    )
    send(
        mailbox,
        sender="IT <it@kool.example>",
        to="boris@example.com",
        subject="Parool muudetud",
        text="Your password changed",
    )
    mailbox.add_rule("*@gmial.com", "spam")
    send(
        mailbox,
        sender="Kool <noreply@kool.example>",
        to="carl@gmial.com",
        subject="Konto kinnitus",
        text="Link inside",
    )
    return mailbox


def test_free_text_matches_subject_and_body(corpus):
    assert subjects(corpus, "taotlus") == ["Konto taotlus"]
    assert subjects(corpus, "password") == ["Parool muudetud"]
    assert subjects(corpus, "kont") == ["Konto kinnitus", "Konto taotlus"]  # prefix match


def test_field_searches(corpus):
    assert subjects(corpus, "from:it@kool.example") == ["Parool muudetud"]
    assert subjects(corpus, "to:anna@example.com") == ["Konto taotlus"]
    assert subjects(corpus, "subject:kinnitus") == ["Konto kinnitus"]
    assert subjects(corpus, "is:spam") == ["Konto kinnitus"]
    assert subjects(corpus, "konto%20is:inbox") == ["Konto taotlus"]
    assert subjects(corpus, '"Konto%20taotlus"') == ["Konto taotlus"]


def test_dates(corpus):
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(subjects(corpus, f"after:{today}")) == 3
    assert subjects(corpus, f"before:{today}") == []


def test_search_cannot_inject_fts_syntax(corpus):
    for hostile in ['"', "NEAR(", "*", "a%20OR%20b", "subject:%22%22", "from:*"]:
        assert call(corpus, "GET", f"/api/v1/search?query={hostile}")[0] == 200


def test_unknown_flag_and_bad_date_are_errors():
    with pytest.raises(SearchError):
        parse_query("is:flagged")
    with pytest.raises(SearchError):
        parse_query("after:2024-13-45")


def test_delete_search_deletes_only_matches(corpus):
    status, body, _ = call(corpus, "DELETE", "/api/v1/search?query=is:spam")
    assert status == 200 and body["Deleted"] == 1
    assert sorted(m.subject for m in corpus.messages()) == ["Konto taotlus", "Parool muudetud"]


def test_ui_search(corpus):
    _, html, _ = call(corpus, "GET", "/?q=from:it@kool.example")
    assert "Parool muudetud" in html.decode() and "Konto taotlus" not in html.decode()
    _, html, _ = call(corpus, "GET", "/?q=is:nonsense&lang=en")
    assert "The search was not understood" in html.decode()


def test_attachment_download(mailbox):
    message = make_message(subject="with file")
    message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="tõend.pdf")
    send(mailbox, message)
    _, detail, _ = call(mailbox, "GET", "/api/v1/message/latest")
    [attachment] = detail["Attachments"]
    assert attachment["FileName"] == "tõend.pdf" and attachment["ContentType"] == "application/pdf"
    status, content, headers = call(
        mailbox, "GET", f"/api/v1/message/{detail['ID']}/part/{attachment['PartID']}"
    )
    assert status == 200 and content == b"%PDF-1.4 fake"
    assert headers["Content-Disposition"].startswith("attachment")
    assert call(mailbox, "GET", f"/api/v1/message/{detail['ID']}/part/9.9")[0] == 404


def test_quoted_printable_and_base64_links_are_decoded(mailbox):
    message = EmailMessage()
    message["Subject"] = "encoded"
    message["To"] = "qp@example.com"
    long_link = "https://kool.example/apply?token=" + "x" * 90 + "&lang=et"
    message.set_content(f"Ava see link:\n{long_link}\n", cte="quoted-printable")
    message.add_alternative(f'<a href="{long_link}">ava</a>', subtype="html", cte="base64")
    send(mailbox, message)
    assert b"=\r\n" in mailbox.wait_for(to="qp@example.com").raw  # really QP-folded on the wire
    assert mailbox.wait_for(to="qp@example.com").links == [long_link]


def test_retention_by_count_keeps_the_newest(tmp_path):
    handle = MailboxHandle(tmp_path / "r.sqlite3", max_messages=3)
    handle.start()
    try:
        for number in range(6):
            send(handle, subject=f"m{number}")
        deadline = time.monotonic() + 5
        while len(handle.messages()) > 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert [m.subject for m in handle.messages()] == ["m3", "m4", "m5"]
    finally:
        handle.stop()


def test_retention_by_age(tmp_path):
    handle = MailboxHandle(tmp_path / "a.sqlite3", max_age_days=1)
    handle.start()
    try:
        send(handle, subject="old")
        store = handle._mailbox.store
        store.write(lambda db: db.execute("UPDATE messages SET created = created - 2 * 86400"))
        send(handle, subject="new")
        deadline = time.monotonic() + 5
        while [m.subject for m in handle.messages()] != ["new"]:
            assert time.monotonic() < deadline, [m.subject for m in handle.messages()]
            time.sleep(0.1)
    finally:
        handle.stop()


def test_server_sent_events_announce_new_mail_within_a_second(mailbox):
    host, port = mailbox.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/api/events")
        response = connection.getresponse()
        assert response.headers.get_content_type() == "text/event-stream"
        assert response.readline() == b"retry: 1000\n"
        response.readline()
        started = time.monotonic()
        send(mailbox)
        assert response.readline() == b"event: change\n"
        assert time.monotonic() - started < 1.0
    finally:
        connection.close()


# How older versions kept the sources, the search index and whether indexing came after arrival.
OLD_SCHEMAS = {
    0: (False, "CREATE VIRTUAL TABLE message_search USING fts5 (subject, sender, recipients, body)", False),
    3: (
        True,
        "CREATE VIRTUAL TABLE message_search USING fts5 (subject, sender, recipients, body, folder,"
        " tokenize = 'unicode61 remove_diacritics 2')",
        False,
    ),
    4: (True, None, False),
    5: (True, None, True),
}


@pytest.mark.parametrize("version", sorted(OLD_SCHEMAS))
def test_database_from_an_older_version_is_brought_up_to_date(tmp_path, version):
    import sqlite3
    import zlib

    from dev_mailbox.store import Delivery, Store

    path = tmp_path / "old.sqlite3"
    store = Store(path)
    raw = make_message(subject="Vana kiri", text="arhiiv").as_bytes()
    store.deliver(Delivery(raw, "a@example.com", {"inbox": ["b@example.com"]}), []).result()
    store.catch_up()
    store.close()
    compressed, index_table, indexed_column = OLD_SCHEMAS[version]
    with sqlite3.connect(path) as connection:
        if not indexed_column:
            connection.execute("DROP INDEX messages_unindexed")
            connection.execute("ALTER TABLE messages DROP COLUMN indexed")
        if not compressed:
            [(raw_stored,)] = connection.execute("SELECT raw FROM message_sources").fetchall()
            connection.execute("UPDATE message_sources SET raw = ?", (zlib.decompress(raw_stored),))
        if index_table:
            connection.execute("DROP TABLE message_search")
            connection.execute(index_table)
        connection.execute(f"PRAGMA user_version = {version}")
    connection.close()
    store = Store(path)
    try:
        found, matched = store.find(parse_query("arhiiv is:inbox"))
        assert matched == 1 and found[0].subject == "Vana kiri"
        assert store.get(found[0].id)[1] == raw
        store.delete(ids=[found[0].id])
        assert store.find(parse_query("arhiiv"))[1] == 0
    finally:
        store.close()
    with sqlite3.connect(path) as connection:
        sql = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'message_search'").fetchone()[0]
    connection.close()
    assert "content = ''" in sql


def test_deleted_messages_leave_nothing_in_the_contentless_index(tmp_path):
    """The index keeps no text; a deletion removes exactly the words the message went in with,
    so counting inside the index alone stays right after deletes, delete-all and retention."""
    from dev_mailbox.store import Delivery, Store

    store = Store(tmp_path / "i.sqlite3")
    try:
        for number in range(4):
            raw = make_message(subject=f"Kiri {number}", text=f"jõehobu number{number}").as_bytes()
            store.deliver(Delivery(raw, "a@example.com", {"inbox": [f"r{number}@example.com"]}), []).result()
        found, matched = store.find(parse_query("jõehobu"))
        assert matched == 4
        store.delete(ids=[found[0].id, found[1].id])
        assert store.find(parse_query("jõehobu"))[1] == 2
        assert store.find(parse_query("number3"))[1] == 0  # the newest two went
        assert store.find(parse_query("number0"))[1] == 1
        store.delete()  # delete all
        assert store.find(parse_query("jõehobu"))[1] == 0
        raw = make_message(subject="Uus", text="jõehobu tagasi").as_bytes()
        store.deliver(Delivery(raw, "a@example.com", {"inbox": ["x@example.com"]}), []).result()
        assert store.find(parse_query("jõehobu"))[1] == 1
    finally:
        store.close()
