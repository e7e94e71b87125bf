"""The application flow with a real SMTP server: the dev mailbox on free ports."""

import random
import threading
import time

import pytest
import sqlalchemy as sa
import time_machine

from tests.conftest import outbox_messages, page_text
from tests.integration.test_apply_pages import APPLICATION
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import Application, OutboxMessage
from webapp.outbox import deliver_due

pytestmark = pytest.mark.smtp


@pytest.fixture
def app(make_app, mailbox):
    return make_app(MAIL_PORT=mailbox.smtp_port)


def deliver(app) -> int:
    with app.app_context():
        return deliver_due()


def portal_path(link: str) -> str:
    assert link.startswith("http://portal.test/"), link
    return link.removeprefix("http://portal.test")


def test_whole_flow_reading_the_link_from_the_received_email(app, client, mailbox, child_code):
    client.post("/taotlus/", data={"email": "mari@example.ee", "child_personal_code": child_code})
    assert deliver(app) == 1
    message = mailbox.wait_for(to="mari@example.ee", subject="Sinu link konto taotlemiseks")
    assert "Ava taotlusvorm" in message.html and "Tere!" in message.text
    assert message.headers["Message-ID"] == outbox_messages(app)[0].message_id
    assert message.headers["Date"].endswith("+0000")  # a real zone, not "-0000" (unknown)
    links = [link for link in message.links if "/taotlus/vorm/" in link]
    assert len(links) == 1
    path = portal_path(links[0])
    assert "mari@example.ee" in client.get(path).get_data(as_text=True)
    assert client.post(path, data=APPLICATION).headers["Location"] == "/taotlus/valmis"
    assert "VALMIS!" in page_text(client.get("/taotlus/valmis"))
    with app.app_context():
        assert db.session.scalar(sa.select(Application.email)) == "mari@example.ee"


def test_mailbox_down_at_submit_time_then_the_email_arrives_exactly_once(app, client, mailbox, child_code):
    mailbox.stop()
    response = client.post("/taotlus/", data={"email": "mari@example.ee", "child_personal_code": child_code})
    assert response.headers["Location"] == "/taotlus/saadetud"  # the parent sees nothing wrong
    assert deliver(app) == 1
    [waiting] = outbox_messages(app)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "Connection" in waiting.last_error or "refused" in waiting.last_error.lower()

    mailbox.start()
    assert deliver(app) == 1
    assert deliver(app) == 0
    mailbox.wait_for(to="mari@example.ee")
    assert len(mailbox.messages(to="mari@example.ee")) == 1
    [sent] = outbox_messages(app)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)


def test_sender_thread_delivers_without_being_asked(make_app, mailbox, child_code):
    app = make_app(MAIL_PORT=mailbox.smtp_port, OUTBOX_THREAD=True, OUTBOX_POLL_SECONDS=30.0)
    try:
        app.test_client().post(
            "/taotlus/", data={"email": "isa@example.ee", "child_personal_code": child_code}
        )
        # The poll interval is 30 s: arriving within 5 s shows the commit woke the sender.
        assert mailbox.wait_for(to="isa@example.ee", timeout=5.0).subject.startswith("Sinu link")
        assert wait_for_status(app, "sent")
    finally:
        app.extensions["outbox_sender"].stop()


def wait_for_status(app, status: str, timeout: float = 5.0) -> bool:
    """The sender commits its bookkeeping just after the server's 250: give it that moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if db.session.scalar(sa.select(OutboxMessage.status)) == status:
                return True
            db.session.remove()
        time.sleep(0.05)
    return False


def test_message_ids_stay_unique_whatever_the_random_module_was_set_to(app, child_code):
    """The fuzz test found two e-mails with one Message-ID (a 500 on the unique column): the
    random module's state is anyone's to set, as hypothesis does for each example."""
    client = app.test_client()
    with time_machine.travel(utcnow(), tick=False):
        for address in ("esimene@example.ee", "teine@example.ee"):
            random.seed(7)
            answer = client.post("/taotlus/", data={"email": address, "child_personal_code": child_code})
            assert answer.status_code == 303
    ids = {message.message_id for message in outbox_messages(app)}
    assert len(ids) == 2


def test_a_message_sent_by_another_sender_meanwhile_is_not_claimed_again(app, mailbox, child_code):
    """Between a sender's look for due messages and its claim, another sender sends one and frees it
    (claimed_until back to NULL): the claim must see it is no longer pending, or it goes out twice."""
    app.test_client().post("/taotlus/", data={"email": "vanem@example.ee", "child_personal_code": child_code})
    sent_meanwhile = []

    def another_sender_finishes_first(connection, _cursor, statement, _parameters, _context, _many):
        if (
            statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGE SET CLAIMED_UNTIL")
            and not sent_meanwhile
        ):
            sent_meanwhile.append(True)
            connection.exec_driver_sql("UPDATE outbox_message SET status = 'sent', claimed_until = NULL")

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", another_sender_finishes_first)
        try:
            assert deliver_due() == 0
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", another_sender_finishes_first)
    assert sent_meanwhile and mailbox.messages() == []


def test_two_senders_at_once_deliver_each_message_exactly_once(app, mailbox, child_code):
    """Several sender processes may run (`flask outbox run` on more hosts): claims never overlap."""
    client = app.test_client()
    addresses = [f"vanem{number}@example.ee" for number in range(20)]
    for address in addresses:
        client.post("/taotlus/", data={"email": address, "child_personal_code": child_code})
    attempted = []

    def sender() -> None:
        with app.app_context():
            while count := deliver_due():
                attempted.append(count)
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(attempted) == 20
    assert sorted(recipient for m in mailbox.messages() for recipient in m.to) == sorted(addresses)
    assert {m.status for m in outbox_messages(app)} == {"sent"}
