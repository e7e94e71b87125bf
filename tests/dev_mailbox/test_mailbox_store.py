"""Storing in two steps: a message is on disk when the client hears 250, and parsed into the
list and the search index afterwards. Whatever the timing, a reader sees every message that was
acknowledged before it asked, fully parsed."""

import sqlite3
import threading
import time
from concurrent.futures import Future

import pytest
from mailbox_helpers import call, make_message, send

from dev_mailbox.search import parse_query
from dev_mailbox.server import Mailbox
from dev_mailbox.store import Delivery, Store, indexing

pytestmark = pytest.mark.smtp


@pytest.fixture
def no_idle_indexing(monkeypatch):
    """Indexing only when someone reads: as if mail never stopped arriving."""
    monkeypatch.setattr(indexing, "INDEX_IDLE", 3600.0)


def deliver(store: Store, number: int) -> str:
    raw = make_message(to=f"r{number}@example.com", subject=f"Kiri {number}", text=f"jõehobu n{number}")
    [message_id] = store.deliver(
        Delivery(raw.as_bytes(), "a@example.com", {"inbox": [f"r{number}@example.com"]}), []
    ).result()
    return message_id


def test_a_reader_sees_acknowledged_mail_parsed_though_indexing_was_put_off(tmp_path, no_idle_indexing):
    store = Store(tmp_path / "s.sqlite3")
    try:
        ids = [deliver(store, number) for number in range(3)]
        assert store.backlog == 3  # stored, not parsed yet
        found, matched = store.find(parse_query("jõehobu"))
        assert matched == 3
        assert [summary.id for summary in found] == ids[::-1]
        assert [summary.subject for summary in found] == ["Kiri 2", "Kiri 1", "Kiri 0"]
        assert found[0].to == [{"Name": "", "Address": "r2@example.com"}]
        assert store.backlog == 0
    finally:
        store.close()


def test_indexing_happens_by_itself_once_mail_stops_arriving(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    try:
        deliver(store, 1)
        deadline = time.monotonic() + 5
        while store.backlog and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.backlog == 0
    finally:
        store.close()


def test_a_restart_before_indexing_loses_nothing(tmp_path, no_idle_indexing):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    message_id = deliver(store, 7)
    store.close()  # acknowledged, never parsed
    store = Store(path)
    try:
        assert store.backlog == 1
        summary, raw = store.get(message_id)
        assert (
            summary.subject == "Kiri 7"
            and raw == make_message(to="r7@example.com", subject="Kiri 7", text="jõehobu n7").as_bytes()
        )
        assert store.find(parse_query("to:r7@example.com"))[1] == 1
    finally:
        store.close()


def test_deleting_mail_not_yet_indexed_keeps_the_index_right(tmp_path, no_idle_indexing):
    store = Store(tmp_path / "s.sqlite3")
    try:
        first = deliver(store, 0)
        store.find()  # the first one is now indexed
        ids = [deliver(store, number) for number in (1, 2, 3)]
        store.delete(ids=[first, ids[0]])  # one indexed, one not
        assert store.backlog == 2
        found, matched = store.find(parse_query("jõehobu"))
        assert matched == 2 and {summary.subject for summary in found} == {"Kiri 2", "Kiri 3"}
        deliver(store, 4)
        assert store.delete(where=parse_query("n4")) == 1  # a search delete indexes first
        store.delete()
        assert store.backlog == 0
        assert store.find(parse_query("jõehobu"))[1] == 0
    finally:
        store.close()


def test_retention_of_mail_not_yet_indexed(tmp_path, no_idle_indexing):
    store = Store(tmp_path / "s.sqlite3", max_messages=2)
    try:
        for number in range(5):
            deliver(store, number)
        deadline = time.monotonic() + 5  # retention runs every second on the writer
        while store.backlog > 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        found, matched = store.find(parse_query("jõehobu"))
        assert matched == 2 and [summary.subject for summary in found] == ["Kiri 4", "Kiri 3"]
    finally:
        store.close()


def test_every_message_is_searchable_the_moment_it_is_acknowledged(mailbox):
    """Senders in parallel, and after each 250 at once a search for that very message."""
    misses: list[str] = []

    def sender(worker: int) -> None:
        for number in range(15):
            subject = f"w{worker}x{number}"
            send(mailbox, subject=subject)
            status, body, _ = call(mailbox, "GET", f"/api/v1/search?query=subject:{subject}")
            if status != 200 or body["messages_count"] != 1:
                misses.append(subject)

    workers = [threading.Thread(target=sender, args=(worker,)) for worker in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert misses == []
    assert call(mailbox, "GET", "/api/v1/messages")[1]["total"] == 60


def test_mail_is_acknowledged_while_a_large_backlog_is_indexed(tmp_path, no_idle_indexing):
    """Indexing goes in chunks with arrivals in between, so a reader's catch-up does not hold
    up arriving mail until it is over."""
    mailbox = Mailbox(tmp_path / "m.sqlite3", smtp_port=0, http_port=0)
    mailbox.start()
    try:
        raw = make_message(subject="Vana").as_bytes()
        futures = [
            mailbox.store.deliver(Delivery(raw, "a@example.com", {"inbox": ["b@example.com"]}), [])
            for _ in range(3000)
        ]
        for future in futures:
            future.result()
        reader = threading.Thread(target=mailbox.store.find)
        reader.start()
        deadline = time.monotonic() + 30
        while mailbox.store.backlog == 3000 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert mailbox.store.backlog < 3000, "the catch-up did not start"
        send(mailbox, subject="Uus")
        assert reader.is_alive(), "the new message waited for the whole backlog"
        reader.join()
        assert mailbox.store.find(parse_query("subject:uus"))[1] == 1
    finally:
        mailbox.stop()


def test_mail_acknowledged_after_a_reader_caught_up_is_not_shown_half_stored(tmp_path, no_idle_indexing):
    """A message can commit between a reader's catch-up and its query: it is left out, never
    listed with its parsed fields still empty."""
    store = Store(tmp_path / "s.sqlite3")
    try:
        deliver(store, 0)
        caught_up = store.catch_up
        numbers = iter(range(1, 10))

        def catch_up_then_more_mail() -> None:
            caught_up()
            deliver(store, next(numbers))

        store.catch_up = catch_up_then_more_mail
        found, matched = store.find(parse_query("is:unread"))  # "Kiri 1" commits just after the catch-up
        latest = store.get("latest")  # this catch-up takes "Kiri 1"; "Kiri 2" comes after it
        counts, folders = store.counts(), store.folder_counts()  # "Kiri 3", "Kiri 4" come after
        store.catch_up = caught_up
        assert [summary.subject for summary in found] == ["Kiri 0"] and matched == 1
        assert latest[0].subject == "Kiri 1"
        assert counts == (3, 3) and folders == {"inbox": (4, 4)}
        assert [summary.subject for summary in store.find()[0]] == [f"Kiri {n}" for n in (4, 3, 2, 1, 0)]
    finally:
        store.close()


def test_a_message_that_fails_to_parse_does_not_hold_up_the_rest(tmp_path, monkeypatch, no_idle_indexing):
    derive = indexing.Parsed.derive

    def fail_on_number_one(source, *args):
        if b"Kiri 1" in source:
            raise ValueError("a bug in parsing")
        return derive(source, *args)

    monkeypatch.setattr(indexing.Parsed, "derive", staticmethod(fail_on_number_one))
    store = Store(tmp_path / "s.sqlite3")
    try:
        ids = [deliver(store, number) for number in range(3)]
        found, matched = store.find()
        assert matched == 3 and store.backlog == 0
        assert [summary.subject for summary in found] == ["Kiri 2", "", "Kiri 0"]  # envelope only
        assert found[1].envelope_to == ["r1@example.com"]
        assert store.find(parse_query("jõehobu"))[1] == 2
        store.delete(ids=[ids[1], ids[2]])  # the unparsed one never reached the search index
        assert store.find(parse_query("jõehobu"))[1] == 1
    finally:
        store.close()


def test_a_message_sqlite_refuses_to_index_does_not_hold_up_the_rest(tmp_path, monkeypatch, no_idle_indexing):
    """The chunk is written again one message at a time; only the refused one is marked."""
    derive = indexing.Parsed.derive

    def unstorable_subject_for_one(source, *args):
        parsed = derive(source, *args)
        if b"Kiri 1" in source:  # a lone surrogate: SQLite cannot take it as UTF-8
            return indexing.Parsed(parsed.columns, parsed.addresses, ("\ud800", *parsed.search_row[1:]))
        return parsed

    monkeypatch.setattr(indexing.Parsed, "derive", staticmethod(unstorable_subject_for_one))
    store = Store(tmp_path / "s.sqlite3")
    try:
        for number in range(3):
            deliver(store, number)
        found, matched = store.find()
        assert matched == 3 and store.backlog == 0
        assert [summary.subject for summary in found] == ["Kiri 2", "", "Kiri 0"]
        assert store.find(parse_query("jõehobu"))[1] == 2
    finally:
        store.close()


def test_a_job_whose_caller_gave_up_is_not_done(tmp_path):
    """An SMTP client that hangs up before its 250 gets its store future cancelled: the message
    is not stored (it will be sent again), and the rest of the batch is unaffected."""
    store = Store(tmp_path / "s.sqlite3")
    ran: list[str] = []
    futures = {}

    def on_the_writer() -> None:  # all before the batch is flushed, so the order is certain
        futures["gone"] = store.submit(lambda connection: ran.append("gone"))
        futures["gone"].cancel()
        futures["kept"] = store.submit(lambda connection: ran.append("kept") or "done")

    try:
        store.loop.call_soon_threadsafe(on_the_writer)
        deadline = time.monotonic() + 10
        while "kept" not in futures and time.monotonic() < deadline:
            time.sleep(0.001)
        assert futures["kept"].result(timeout=10) == "done"
        assert futures["gone"].cancelled() and ran == ["kept"]
    finally:
        store.close()


def test_an_index_out_of_step_is_rebuilt_instead_of_failing_every_deletion(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.sqlite3")
    try:
        ids = [deliver(store, number) for number in range(3)]
        store.catch_up()

        def out_of_step(*args):
            raise sqlite3.DatabaseError("database disk image is malformed")

        monkeypatch.setattr(indexing, "unindex", out_of_step)
        assert store.delete(ids=[ids[0]]) == 1
        monkeypatch.undo()
        found, matched = store.find(parse_query("jõehobu"))
        assert matched == 2 and [summary.subject for summary in found] == ["Kiri 2", "Kiri 1"]
        assert store.find(parse_query("to:r1@example.com"))[1] == 1
    finally:
        store.close()


def test_a_write_handed_over_while_the_store_closes_is_still_done(tmp_path):
    """A web thread can pass the closed check just before close() and hand its write to the
    loop just after the loop was told to stop: the write is done, not left waiting forever."""
    store = Store(tmp_path / "s.sqlite3")
    gate = threading.Event()
    store.loop.call_soon_threadsafe(gate.wait, 10)  # keeps the writer busy meanwhile
    closer = threading.Thread(target=store.close)
    closer.start()
    deadline = time.monotonic() + 10
    while not store.closed and time.monotonic() < deadline:
        time.sleep(0.001)
    late: Future[str] = Future()
    store.loop.call_soon_threadsafe(store._enqueue, lambda connection: "done", late)
    gate.set()
    closer.join(timeout=10)
    assert late.result(timeout=10) == "done"
