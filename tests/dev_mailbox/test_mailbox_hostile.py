"""Hostile and broken input over real sockets: the mailbox stores what it can, never crashes."""

import smtplib
import socket

import pytest
from mailbox_helpers import call, make_message, nested_parts, send

from dev_mailbox.testing import MailboxHandle

pytestmark = pytest.mark.smtp


@pytest.fixture
def strict_mailbox(tmp_path):
    """A mailbox with a small size limit and a short idle timeout."""
    handle = MailboxHandle(tmp_path / "strict.sqlite3", max_size=100_000, smtp_timeout=1.0)
    handle.start()
    yield handle
    handle.stop()


class RawSession:
    """A bare socket SMTP session, for input smtplib would repair or refuse to send."""

    def __init__(self, mailbox) -> None:
        self.socket = socket.create_connection((mailbox.smtp_host, mailbox.smtp_port), timeout=10)
        self.reader = self.socket.makefile("rb")
        assert self.reply().startswith(b"220")

    def reply(self) -> bytes:
        lines = [self.reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(self.reader.readline())
        return b"".join(lines)

    def command(self, line: bytes) -> bytes:
        self.socket.sendall(line + b"\r\n")
        return self.reply()

    def transaction(self, body: bytes, to: bytes = b"raw@example.com") -> bytes:
        assert self.command(b"EHLO tester").startswith(b"250")
        assert self.command(b"MAIL FROM:<tester@example.com>").startswith(b"250")
        assert self.command(b"RCPT TO:<" + to + b">").startswith(b"250")
        assert self.command(b"DATA").startswith(b"354")
        self.socket.sendall(body + b"\r\n.\r\n")
        return self.reply()

    def close(self) -> None:
        self.reader.close()
        self.socket.close()


@pytest.fixture
def raw_session(mailbox):
    session = RawSession(mailbox)
    yield session
    session.close()


def api_message(mailbox, message_id: str = "latest") -> dict:
    status, body, _ = call(mailbox, "GET", f"/api/v1/message/{message_id}")
    assert status == 200
    return body


def test_oversized_message_declared_with_size_gets_552_at_mail(strict_mailbox):
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(strict_mailbox, make_message(text="x" * 200_000))
    assert refused.value.smtp_code == 552


def test_oversized_message_without_size_gets_552_after_data(strict_mailbox):
    with smtplib.SMTP(strict_mailbox.smtp_host, strict_mailbox.smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("a@example.com")
        client.rcpt("b@example.com")
        code, _ = client.data(b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 3_000)
        assert code == 552
        client.rset()
        assert client.sendmail("a@example.com", ["b@example.com"], b"Subject: ok\r\n\r\nok") == {}
    assert [m.subject for m in strict_mailbox.messages()] == ["ok"]


def test_line_over_1000_chars_is_refused_and_the_session_goes_on(raw_session, mailbox):
    assert raw_session.transaction(b"Subject: long\r\n\r\n" + b"z" * 5000).startswith(b"500")
    assert raw_session.transaction(b"Subject: short\r\n\r\nfine").startswith(b"250")
    assert [m.subject for m in mailbox.messages()] == ["short"]


def test_bare_lf_message_is_stored_and_parsed(raw_session, mailbox):
    body = b"From: A <a@example.com>\nSubject: bare lf\nTo: raw@example.com\n\nline one\nline two"
    assert raw_session.transaction(body).startswith(b"250")
    message = mailbox.wait_for(subject="bare lf", timeout=0)
    assert "line two" in message.text and message.sender == "a@example.com"


def test_eight_bit_headers_are_read_as_utf8_or_replaced(raw_session, mailbox):
    body = (
        "Subject: Õpetaja kiri\r\nFrom: Jüri <jyri@example.com>\r\n".encode()
        + b"X-Latin: caf\xe9\r\n\r\nt\xc3\xa4na"
    )
    assert raw_session.transaction(body).startswith(b"250")
    message = api_message(mailbox)
    assert message["Subject"] == "Õpetaja kiri"
    assert message["From"] == {"Name": "Jüri", "Address": "jyri@example.com"}
    status, headers, _ = call(mailbox, "GET", f"/api/v1/message/{message['ID']}/headers")
    assert status == 200 and headers["X-Latin"] == ["caf\ufffd"]


def test_encoded_word_headers_are_decoded(raw_session, mailbox):
    body = (
        b"Subject: =?utf-8?B?0J/RgNC40LLQtdGC?= =?iso-8859-1?q?_caf=E9?=\r\n"
        b"From: =?utf-8?q?Kool_=C3=95?= <kool@example.com>\r\n\r\nbody"
    )
    assert raw_session.transaction(body).startswith(b"250")
    message = api_message(mailbox)
    assert message["Subject"] == "Привет café"
    assert message["From"]["Name"] == "Kool Õ"


def test_no_date_and_no_message_id(raw_session, mailbox):
    assert raw_session.transaction(b"Subject: bare\r\n\r\nbody").startswith(b"250")
    message = api_message(mailbox)
    assert message["MessageID"] == "" and message["Date"].endswith("Z")
    assert message["From"] == {"Name": "", "Address": ""}


@pytest.mark.parametrize(
    "body",
    [
        # A multipart whose closing boundary never comes.
        b'Content-Type: multipart/mixed; boundary="b"\r\nSubject: broken\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nhalf",
        # Base64 that is not base64, in a charset that does not exist.
        b"Subject: broken\r\nContent-Type: text/plain; charset=no-such-charset\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not*base64!!!",
        # Header garbage: no colon, empty name, unterminated encoded word, broken address.
        b"Subject: broken =?utf-8?q?unterminated\r\nnot a header\r\n: empty\r\n"
        b'To: <<<@@>>>, "unclosed\r\n\r\nbody',
        # Nothing at all after DATA.
        b"",
    ],
)
def test_invalid_mime_is_stored_and_viewable(raw_session, mailbox, body):
    assert raw_session.transaction(body).startswith(b"250")
    message = api_message(mailbox)
    for part in ("headers", "raw"):
        assert call(mailbox, "GET", f"/api/v1/message/{message['ID']}/{part}")[0] == 200
    assert call(mailbox, "GET", f"/message/{message['ID']}")[0] == 200
    assert call(mailbox, "GET", "/api/v1/messages")[0] == 200


def test_parts_nested_a_thousand_deep_are_shown_as_text(raw_session, mailbox):
    """The standard parser would run out of stack; the mailbox shows the headers and the body
    as text, and goes on indexing what comes after it."""
    assert raw_session.transaction(nested_parts(1000, subject="Deep nest")).startswith(b"250")
    send(mailbox, subject="After")
    deep = api_message(mailbox, mailbox.wait_for(subject="Deep nest", timeout=0).id)
    assert deep["Subject"] == "Deep nest" and deep["Attachments"] == []
    assert "boundary" in deep["Text"]
    assert [m.subject for m in mailbox.messages()] == ["Deep nest", "After"]
    assert call(mailbox, "GET", f"/message/{deep['ID']}")[0] == 200
    # A hundred levels are still parsed as parts: the text is the innermost body.
    assert raw_session.transaction(nested_parts(100)).startswith(b"250")
    assert api_message(mailbox)["Text"].strip() == "sees"


def test_thousand_recipients_one_message(mailbox):
    recipients = [f"parent{number}@example.com" for number in range(1000)]
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=30) as client:
        refused = client.sendmail(
            "kool@example.com", recipients, b"To: undisclosed-recipients:;\r\nSubject: all\r\n\r\nx"
        )
    assert refused == {}
    [message] = mailbox.messages()
    assert len(message.recipients) == 1000
    assert mailbox.messages(to="parent999@example.com")[0].id == message.id
    assert len(api_message(mailbox)["Bcc"]) == 1000


def open_idle(mailbox, count: int) -> list[socket.socket]:
    return [
        socket.create_connection((mailbox.smtp_host, mailbox.smtp_port), timeout=10) for _ in range(count)
    ]


def still_open(connection: socket.socket) -> bool:
    """After its banner, the server has neither written nor closed: a read would wait."""
    connection.settimeout(10)
    assert connection.recv(4096).startswith(b"220")
    connection.setblocking(False)
    try:
        connection.recv(4096)
    except BlockingIOError:
        return True
    return False


def test_200_idle_connections_do_not_stop_others_being_served(tmp_path):
    """A message is served while 200 idle connections are held open (none has timed out yet: the idle
    timeout is a minute), so they hold no worker the message needs."""
    handle = MailboxHandle(tmp_path / "idle.sqlite3", smtp_timeout=60.0)
    handle.start()
    idle = open_idle(handle, 200)
    try:
        send(handle, subject="still served")
        assert handle.wait_for(subject="still served", timeout=10)
        assert all(still_open(connection) for connection in idle)
    finally:
        for connection in idle:
            connection.close()
        handle.stop()


def test_idle_connections_are_closed_after_the_timeout(strict_mailbox):
    idle = open_idle(strict_mailbox, 20)
    try:
        # The server closes idle sessions after its 1 s timeout: the banner, then end of stream.
        for connection in idle:
            connection.settimeout(10)
            received = b""
            while chunk := connection.recv(4096):
                received += chunk
            assert received.startswith(b"220")
    finally:
        for connection in idle:
            connection.close()
