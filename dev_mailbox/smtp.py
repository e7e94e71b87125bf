"""The SMTP side: an aiosmtpd server in its own thread that applies the scenarios and stores mail."""

import asyncio
import logging
import time
import weakref

from aiosmtpd.smtp import SMTP, AuthResult, Envelope

from dev_mailbox import scenarios
from dev_mailbox.mime import subject_of
from dev_mailbox.store import Delivery, LogEntry, Store

log = logging.getLogger(__name__)

BANNER_HOSTNAME = "dev-mailbox"
# Rule actions as they read in the delivery log.
OUTCOMES = {
    "deliver": "delivered",
    "spam": "spam",
    "drop": "dropped",
    "delay": "delayed",
    "reject": "rejected",
    "tempfail": "tempfailed",
    "disconnect": "disconnected",
}
STORE_FAILED_REPLY = "451 4.3.0 Could not store the message, try again later"


class ScenarioEnvelope(Envelope):
    """An envelope that remembers the rule decided for each recipient at RCPT time."""

    def __init__(self) -> None:
        super().__init__()
        self.decisions: dict[str, scenarios.Decision] = {}


class MailboxSMTP(SMTP):
    def _create_envelope(self) -> Envelope:
        return ScenarioEnvelope()


def _chaos_outcome(reply: str) -> str:
    return "tempfailed" if reply.startswith("4") else "rejected"


class MailboxHandler:
    """aiosmtpd hooks: chaos and rules at MAIL, RCPT and DATA; a 250 only once stored."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._load_scenarios()
        store.watch_scenarios(self._load_scenarios)

    def _load_scenarios(self) -> None:
        """The rules and chaos in force, kept at hand (every command consults them) and read
        again whenever they are saved."""
        self.rules, self.chaos = self.store.rules, self.store.chaos

    def _use(self, rule: scenarios.Rule) -> None:
        """Count one use of a rule that applies a number of times. Decisions are taken on this loop
        only, so the rules in memory change at once (the next recipient sees it); saving them waits
        for the store's writer, which runs on this same loop: it is done from another thread."""
        self.rules = scenarios.used_once(self.rules, rule)
        asyncio.get_running_loop().run_in_executor(None, self._save_rules)

    def _save_rules(self) -> None:
        try:
            self.store.save_rules(self.rules)
        except Exception:  # the store closed meanwhile: the rules in memory went with it
            log.exception("saving the rules after a use failed")

    async def _record(
        self, action: str, sender: str, recipients: list[str], reason: str, subject: str | None = None
    ) -> None:
        """Log one outcome for these recipients, in one write."""
        now = time.time()
        entries = [
            LogEntry(now, action, sender, recipient, reason, subject=subject) for recipient in recipients
        ]
        await asyncio.wrap_future(self.store.record(entries))

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        """Any login is accepted (as Mailpit does by default) unless chaos strikes."""
        reply = scenarios.chaos_reply(self.chaos, "Authentication")
        if reply:
            return AuthResult(success=False, handled=False, message=reply)
        return AuthResult(success=True)

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        reply = scenarios.chaos_reply(self.chaos, "Sender")
        if reply:
            await self._record(_chaos_outcome(reply), address, [""], "chaos: sender")
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        reply = scenarios.chaos_reply(self.chaos, "Recipient")
        if reply:
            await self._record(_chaos_outcome(reply), envelope.mail_from, [address], "chaos: recipient")
            return reply
        decision = scenarios.decide(self.rules, address)
        if decision.rule is not None and decision.rule.times is not None:
            self._use(decision.rule)
        if decision.action in {"reject", "tempfail", "disconnect"}:
            await self._record(OUTCOMES[decision.action], envelope.mail_from, [address], decision.reason)
            if decision.action == "reject":
                return scenarios.REJECT_REPLY
            if decision.action == "tempfail":
                return scenarios.TEMPFAIL_REPLY
            # Close without a reply, as a crashed or overloaded server would.
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        envelope.decisions[address] = decision
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: ScenarioEnvelope) -> str:
        sender = envelope.mail_from or ""
        reply = scenarios.chaos_reply(self.chaos, "Data")
        if reply:
            subject = subject_of(envelope.original_content or b"")
            await self._record(_chaos_outcome(reply), sender, envelope.rcpt_tos, "chaos: data", subject)
            return reply
        folders: dict[str, list[str]] = {}
        entries = []
        delay = 0.0
        raw = envelope.original_content or b""
        # What is not stored keeps its subject in the log (a stored message's is read from it).
        subject = None
        for recipient in envelope.rcpt_tos:
            decision = envelope.decisions.get(recipient, scenarios.DEFAULT_DECISION)
            if decision.action != "drop":
                folder = "spam" if decision.action == "spam" else "inbox"
                folders.setdefault(folder, []).append(recipient)
            delay = max(delay, decision.seconds)
            if decision.action == "drop" and subject is None:
                subject = subject_of(raw)
            entries.append(
                LogEntry(
                    time.time(),
                    OUTCOMES[decision.action],
                    sender,
                    recipient,
                    decision.reason,
                    subject=subject if decision.action == "drop" else None,
                )
            )
        if delay:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                # The client hung up while waiting: like a real server, nothing was accepted.
                said = subject_of(raw)
                self.store.record(
                    [
                        LogEntry(time.time(), "disconnected", sender, e.recipient, e.reason, subject=said)
                        for e in entries
                    ]
                )
                raise
        try:
            ids = await asyncio.wrap_future(self.store.deliver(Delivery(raw, sender, folders), entries))
        except Exception:
            log.exception("storing a message failed")
            return STORE_FAILED_REPLY
        return f"250 2.0.0 Ok: queued as {' '.join(ids) or 'nothing'}"


class SMTPServer:
    """An aiosmtpd server on `loop` (the loop the store writes on); start() returns the bound port."""

    def __init__(
        self,
        store: Store,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        max_size: int,
        timeout: float,
    ) -> None:
        self.handler = MailboxHandler(store)
        self.host = host
        self.port = port
        self.max_size = max_size
        self.timeout = timeout
        self._loop = loop
        self._server: asyncio.Server | None = None
        # Weak: a session leaves the set by itself once its connection is gone.
        self._sessions: weakref.WeakSet[MailboxSMTP] = weakref.WeakSet()

    def _session(self) -> MailboxSMTP:
        session = MailboxSMTP(
            self.handler,
            loop=self._loop,
            hostname=BANNER_HOSTNAME,
            ident="dev_mailbox ESMTP",
            data_size_limit=self.max_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=self.timeout,
            authenticator=self.handler.authenticate,
            # Senders configured with a login must be able to log in without TLS, as with Mailpit.
            auth_require_tls=False,
        )
        self._sessions.add(session)
        return session

    def start(self) -> int:
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result()
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _listen(self) -> asyncio.Server:
        return await self._loop.create_server(self._session, self.host, self.port, reuse_address=True)

    async def _shutdown(self) -> None:
        self._server.close()
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        await self._server.wait_closed()
        # The store schedules plain callbacks, never tasks: every task here is an SMTP session.
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        """Stop listening and end every session; the loop itself belongs to the Mailbox."""
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result()
            self._server = None
