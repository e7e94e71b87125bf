"""The one door for mail: e-mails are written to the outbox table with the change that caused them,
and the sender delivers them later over SMTP, retrying temporary failures with back-off."""

import logging
import re
import secrets
import smtplib
import ssl
import threading
from datetime import UTC, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp import mail_identity
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import LinkToken, OutboxMessage, OutboxStatus

BATCH_SIZE = 50
# Temporary failures are retried this long; after that the message counts as undeliverable.
GIVE_UP_AFTER = timedelta(days=3)

# Set when a transaction that wrote an e-mail commits, so an in-process sender wakes at once.
new_mail = threading.Event()
# Each kind of e-mail (its template) is tagged in an X-Tags header, comma-separated as Mailpit reads it,
# so that a mailbox can sort and filter them. Short and stable: QA's tools and searches use them.
TAGS = {
    "apply_link": "application link",
    "application_received": "application received",
    "approved": "approved",
    "rejected": "rejected",
    "login_link": "login link",
    "password_changed": "password changed",
    "email_change": "e-mail change",
    "email_changed": "e-mail changed",
}
# Bodies are quoted-printable or base64, never raw 8-bit: a relay that re-encodes 8-bit text for a
# server without 8BITMIME would break the DKIM signature.
_POLICY = policy.SMTP.clone(cte_type="7bit")
_POLICY_SMTPUTF8 = policy.SMTPUTF8.clone(cte_type="7bit")

# One line per delivery attempt: the outbox id, the recipient's domain and the server's reply. Never
# the address or the body: the body carries the recipient's secret link.
log = logging.getLogger(__name__)


def send_email(
    recipient: str, template: str, subject: str, locale: str, link_token: LinkToken | None = None, **context
) -> OutboxMessage:
    """Render `templates/email/<template>.{txt,html}` in `locale` and add it to the outbox.

    `subject` is a lazy string, so it is translated here, in the recipient's language; the
    school's name follows it in every subject. Nothing is sent now: the caller's commit makes the
    e-mail and the change that caused it durable together.
    """
    with force_locale(locale):
        subject = f"{subject} – {current_app.config['SCHOOL_NAME']}"
        message = OutboxMessage(
            recipient=recipient,
            subject=subject,
            text_body=render_template(f"email/{template}.txt", **context),
            html_body=render_template(f"email/{template}.html", subject=subject, **context),
            # From the operating system's randomness: make_msgid draws on the random module, whose state
            # a test library (or anything else in the process) may set, and then repeats an id.
            message_id=f"<{secrets.token_hex(16)}@{mail_identity.sending_domain(current_app.config)}>",
            kind=template,
            link_token=link_token,
        )
    db.session.add(message)
    wake_sender_on_commit()
    return message


def wake_sender_on_commit() -> None:
    """Wake an in-process sender as soon as the caller's transaction commits."""
    db.session.info["outbox_written"] = True


def mark_bounces_handled(address: str) -> None:
    """The address was corrected: its undeliverable e-mails are dealt with."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.recipient == address,
            OutboxMessage.status == OutboxStatus.UNDELIVERABLE,
            OutboxMessage.handled_at.is_(None),
        )
        .values(handled_at=utcnow())
        .execution_options(synchronize_session=False)
    )


@event.listens_for(Session, "after_commit")
def _wake_sender(session: Session) -> None:
    if session.info.pop("outbox_written", False):
        new_mail.set()


def _composed(message: OutboxMessage, identity: mail_identity.MailIdentity) -> tuple[bytes, list[str]]:
    """The message as sent (DKIM-signed when a key is set), and the MAIL FROM options it needs."""
    # An address with non-ASCII letters (mari@näide.ee) needs a server that speaks SMTPUTF8.
    international = not (message.recipient + identity.envelope_sender).isascii()
    email = EmailMessage(policy=_POLICY_SMTPUTF8 if international else _POLICY)
    email["From"] = identity.sender
    email["To"] = message.recipient
    if identity.reply_to:
        email["Reply-To"] = identity.reply_to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow().replace(tzinfo=UTC))  # when it goes out, retried or not
    email["Message-ID"] = message.message_id
    # From a machine: out-of-office replies and other robots leave it unanswered (RFC 3834).
    email["Auto-Submitted"] = "auto-generated"
    if message.kind in TAGS:
        email["X-Tags"] = TAGS[message.kind]
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    raw = email.as_bytes()
    if identity.dkim_key is not None:
        raw = identity.dkim_key.sign(raw)
    return raw, (["SMTPUTF8", "BODY=8BITMIME"] if international else [])


def _claim_due() -> list[OutboxMessage]:
    """Claim due messages for this sender; other senders (processes, hosts) skip them."""
    now = utcnow()
    free = sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    candidates = db.session.scalars(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now, free)
        .order_by(OutboxMessage.id)
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for message_id in candidates:
        # Compare-and-set, so that SQLite (which has no row locks) is as safe as PostgreSQL: still
        # pending too, since a message another sender has sent meanwhile is free again (unclaimed).
        taken = db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING, free)
            .values(claimed_until=now + timedelta(seconds=current_app.config["OUTBOX_CLAIM_SECONDS"]))
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            claimed.append(message_id)
    db.session.commit()
    if not claimed:
        return []
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(claimed))))


def _tls_context() -> ssl.SSLContext:
    """Verifies the relay's certificate and host name: without that, anyone on the path could read
    MAIL_PASSWORD and every login link."""
    return ssl.create_default_context(cafile=current_app.config["MAIL_TLS_CA_FILE"])


class _KeepsReply:
    """Keeps the server's answer to a message ("250 2.0.0 Ok: queued as 4F1A9"), for the log: with
    it a relay's own log finds the message. smtplib returns nothing of it."""

    last_reply = ""

    def data(self, msg):
        code, reply = super().data(msg)
        self.last_reply = f"{code} {reply.decode(errors='replace')}"
        return code, reply


class _SMTP(_KeepsReply, smtplib.SMTP):
    pass


class _SMTP_SSL(_KeepsReply, smtplib.SMTP_SSL):
    pass


def _connect() -> smtplib.SMTP:
    config = current_app.config
    address, timeout = (config["MAIL_SERVER"], config["MAIL_PORT"]), config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        smtp = _SMTP_SSL(*address, timeout=timeout, context=_tls_context())
    else:
        smtp = _SMTP(*address, timeout=timeout)
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=_tls_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except (smtplib.SMTPException, OSError):
        _close(smtp)  # a half-set-up connection would otherwise be left to the garbage collector
        raise
    return smtp


def _smtp_failure(error: Exception) -> tuple[bool, str]:
    """(permanent?, what the server said) for an exception from smtplib or the socket."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()))
        return code >= 500, f"{code} {reply.decode(errors='replace')}"
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return error.smtp_code >= 500, f"{error.smtp_code} {text}"
    return False, f"{type(error).__name__}: {error}"


def _record_failure(message: OutboxMessage, permanent: bool, reply: str) -> None:
    config = current_app.config
    now = utcnow()
    message.attempts += 1
    message.last_error = reply
    message.claimed_until = None
    if permanent or now - message.created_at > GIVE_UP_AFTER:
        message.status = OutboxStatus.UNDELIVERABLE
        return
    delay = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (message.attempts - 1)
    message.next_attempt_at = now + timedelta(seconds=min(delay, config["OUTBOX_RETRY_MAX_SECONDS"]))


def deliver_due() -> int:
    """Send what is due; returns how many messages were attempted."""
    messages = _claim_due()
    if not messages:
        return 0
    try:
        # Read for every batch: a new key or address applies to the e-mail already waiting.
        identity = mail_identity.read(current_app.config)
    except mail_identity.MailSettingsError as refused:
        # Fail closed: with DKIM half set up, nothing goes out unsigned; the e-mail waits for the fix.
        log.error("Outbox: the mail settings are unusable: %s", refused)
        _postpone(messages, f"mail settings: {refused}")
        return len(messages)
    smtp: smtplib.SMTP | None = None
    for index, message in enumerate(messages):
        try:
            smtp = smtp or _connect()
        except (smtplib.SMTPException, OSError) as error:
            # The relay or our settings failed (down, TLS, login), not the recipient: never a bounce.
            _postpone(messages[index:], _smtp_failure(error)[1])
            break
        try:
            raw, options = _composed(message, identity)
            smtp.sendmail(identity.envelope_sender, [message.recipient], raw, mail_options=options)
        except (smtplib.SMTPException, OSError) as error:
            permanent, reply = _smtp_failure(error)
            _record_failure(message, permanent, reply)
            if not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                smtp = _close(smtp)  # the connection itself failed: start afresh for the next one
        else:
            message.status = OutboxStatus.SENT
            message.attempts += 1
            message.sent_at = utcnow()
            message.claimed_until = None
            message.last_error = None
            reply = smtp.last_reply
        _log_attempt(message, reply)
        db.session.commit()
    _close(smtp)
    return len(messages)


def _postpone(messages: list[OutboxMessage], reply: str) -> None:
    """A failure that is not these e-mails' own: each is tried again later, none is a bounce."""
    for waiting in messages:
        _record_failure(waiting, False, reply)
        _log_attempt(waiting, reply)
    db.session.commit()


def _log_attempt(message: OutboxMessage, reply: str) -> None:
    domain = message.recipient.rpartition("@")[2]
    # Relays often repeat the address in a refusal ("550 5.1.1 <mari@example.ee>: ..."): the log keeps
    # only its domain.
    reply = re.sub(re.escape(message.recipient), f"…@{domain}", reply, flags=re.IGNORECASE)
    log.info(
        "delivery outbox_id=%s domain=%s attempt=%s status=%s reply=%r",
        message.id,
        domain,
        message.attempts,
        message.status,
        reply,
    )


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return None
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
    return None
