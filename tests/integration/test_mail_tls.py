"""The sender talks TLS only to the relay it was told to trust: over STARTTLS and implicit TLS, against a
real aiosmtpd server with trustme certificates, an unverified relay gets neither MAIL_PASSWORD nor the
message (with its one-time link), and the message waits in the outbox."""

import asyncio
import smtplib
import ssl
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword

from tests.conftest import outbox_messages
from webapp.extensions import db
from webapp.mailed_links import send_application_link
from webapp.models import OutboxMessage
from webapp.outbox import deliver_due

pytestmark = pytest.mark.smtp

RECIPIENT = "mari@example.ee"
USERNAME = "portal"
PASSWORD = "Relay-Secret-Kask-2026"
MODES = {
    "starttls": {"MAIL_USE_TLS": True, "MAIL_USE_SSL": False},
    "implicit": {"MAIL_USE_TLS": False, "MAIL_USE_SSL": True},
}


@dataclass
class Relay:
    """An aiosmtpd server on 127.0.0.1 and a free port, on its own event loop in a thread, that offers
    AUTH only over TLS and records the credentials and the messages it receives."""

    certificate: trustme.LeafCert
    implicit_tls: bool
    credentials: list[tuple[str, str, bool]] = field(default_factory=list)
    received: list[Envelope] = field(default_factory=list)
    port: int = 0

    def __enter__(self) -> "Relay":
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.certificate.configure_cert(self._tls)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        listening = self._loop.create_server(
            self._session, "127.0.0.1", 0, ssl=self._tls if self.implicit_tls else None
        )
        self._server = asyncio.run_coroutine_threadsafe(listening, self._loop).result(timeout=5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *_exc) -> None:
        # Closed on its own loop's thread: closed from this one, it raced a session ending there (both
        # woke the server's waiters; the second found none and raised TypeError in teardown).
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _close(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def _session(self) -> SMTP:
        if self.implicit_tls:
            # The whole connection is TLS, but aiosmtpd's auth_require_tls counts only STARTTLS.
            return SMTP(
                self,
                hostname="relay.test",
                loop=self._loop,
                auth_require_tls=False,
                authenticator=self._authenticate,
            )
        return SMTP(
            self,
            hostname="relay.test",
            loop=self._loop,
            tls_context=self._tls,
            require_starttls=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
        )

    def _authenticate(self, server, _session, _envelope, _mechanism, login: LoginPassword) -> AuthResult:
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.credentials.append((login.login.decode(), login.password.decode(), over_tls))
        return AuthResult(success=login.password.decode() == PASSWORD)

    async def handle_DATA(self, _server, _session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def trusted_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(tmp_path, trusted_ca) -> str:
    path = tmp_path / "relay-ca.pem"
    trusted_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def validated_certificates(monkeypatch) -> list[dict]:
    """The relay certificate the client validated on each connection that sent a message: an empty
    dict when it validated none (`getpeercert()` on a socket that does not verify)."""
    validated = []
    sendmail = smtplib.SMTP.sendmail

    def record(smtp, *args, **kwargs):
        validated.append(smtp.sock.getpeercert())
        return sendmail(smtp, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "sendmail", record)
    return validated


@pytest.fixture
def start_relay() -> Iterator:
    """Start relays on demand; each is stopped after the test."""
    with ExitStack() as relays:
        yield lambda certificate, mode: relays.enter_context(Relay(certificate, mode == "implicit"))


def queue_and_deliver(
    make_app, relay: Relay, mode: str, child_code: str, ca_file: str | None, password: str = PASSWORD
) -> OutboxMessage:
    """An application link in the outbox, one delivery round; returns the outbox row afterwards."""
    app = make_app(
        MAIL_PORT=relay.port,
        MAIL_TLS_CA_FILE=ca_file,
        MAIL_USERNAME=USERNAME,
        MAIL_PASSWORD=password,
        MAIL_TIMEOUT=2.0,
        **MODES[mode],
    )
    with app.app_context():
        send_application_link(RECIPIENT, child_code, "et")
        db.session.commit()
        assert deliver_due() == 1
    [message] = outbox_messages(app)
    return message


def assert_refused_and_waiting(message: OutboxMessage, relay: Relay, reason: str) -> None:
    assert relay.credentials == []
    assert relay.received == []
    assert (message.status, message.attempts, message.sent_at) == ("pending", 1, None)
    assert "CERTIFICATE_VERIFY_FAILED" in message.last_error
    assert reason in message.last_error


@pytest.mark.parametrize("mode", MODES)
def test_relay_signed_by_an_unknown_ca_gets_neither_the_password_nor_the_message(
    make_app, start_relay, child_code, mode
):
    relay = start_relay(trustme.CA().issue_cert("127.0.0.1", "localhost"), mode)
    message = queue_and_deliver(make_app, relay, mode, child_code, ca_file=None)  # the system's CAs
    assert_refused_and_waiting(message, relay, "unable to get local issuer certificate")


@pytest.mark.parametrize("mode", MODES)
def test_relay_signed_by_the_configured_ca_gets_both_over_a_verified_connection(
    make_app, start_relay, trusted_ca, ca_file, validated_certificates, child_code, mode
):
    relay = start_relay(trusted_ca.issue_cert("127.0.0.1", "localhost"), mode)
    message = queue_and_deliver(make_app, relay, mode, child_code, ca_file)

    assert (message.status, message.last_error) == ("sent", None)
    assert relay.credentials == [(USERNAME, PASSWORD, True)]
    [envelope] = relay.received
    assert envelope.rcpt_tos == [RECIPIENT]
    assert message.message_id.encode() in envelope.original_content
    [certificate] = validated_certificates
    assert ("IP Address", "127.0.0.1") in certificate["subjectAltName"]


@pytest.mark.parametrize("mode", MODES)
def test_certificate_for_another_host_is_refused_even_from_the_configured_ca(
    make_app, start_relay, trusted_ca, ca_file, child_code, mode
):
    relay = start_relay(trusted_ca.issue_cert("other.example"), mode)
    message = queue_and_deliver(make_app, relay, mode, child_code, ca_file)
    assert_refused_and_waiting(message, relay, "mismatch")


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_login_is_the_relays_problem_not_a_bounce(
    make_app, start_relay, trusted_ca, ca_file, child_code, mode
):
    """535 at AUTH says our MAIL_PASSWORD is wrong: the e-mail waits and is retried; staff never see
    the parent's address as undeliverable."""
    relay = start_relay(trusted_ca.issue_cert("127.0.0.1", "localhost"), mode)
    message = queue_and_deliver(make_app, relay, mode, child_code, ca_file, password="not-the-password")
    assert relay.received == []
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error  # the relay's refusal (or its hang-up), kept for the staff's log
