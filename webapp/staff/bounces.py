"""E-mails that could not be delivered (a 5xx reply: the mistyped address), shown to the staff who can
put them right: a class teacher sees those about children of their classes, an administrator all."""

from dataclasses import dataclass

import sqlalchemy as sa

from webapp import changes, credentials, tokens
from webapp.access import can_see_class
from webapp.extensions import db
from webapp.mailed_links import send_after_correction, send_application_link
from webapp.models import OutboxMessage, OutboxStatus, Parent, Staff, Student
from webapp.outbox import mark_bounces_handled
from webapp.tokens import Purpose


@dataclass
class Bounce:
    message: OutboxMessage
    student: Student | None  # the child the e-mail was about, when the roster knows them
    parent: Parent | None  # the account whose e-mail it was, for login links

    @property
    def purpose(self) -> str | None:
        return self.message.link_token.purpose if self.message.link_token else None


def _bounce(message: OutboxMessage) -> Bounce:
    token = message.link_token
    parent = db.session.get(Parent, token.parent_id) if token and token.parent_id else None
    student = None
    if token and token.child_personal_code:
        student = db.session.scalar(sa.select(Student).filter_by(personal_code=token.child_personal_code))
    elif parent and parent.children:
        student = parent.children[0]
    return Bounce(message, student, parent)


def visible_to(staff: Staff, bounce: Bounce) -> bool:
    if staff.is_admin:
        return True
    children = [bounce.student] if bounce.student else []
    if bounce.parent:
        children += bounce.parent.children
    return any(can_see_class(staff, child.school_class) for child in children)


def open_bounces(staff: Staff) -> list[Bounce]:
    """Undeliverable e-mails nobody has dealt with yet, newest first, that `staff` may see."""
    messages = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.UNDELIVERABLE, OutboxMessage.handled_at.is_(None))
        .order_by(OutboxMessage.id.desc())
    )
    return [bounce for bounce in map(_bounce, messages) if visible_to(staff, bounce)]


def find(staff: Staff, message_id: int) -> Bounce | None:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != OutboxStatus.UNDELIVERABLE:
        return None
    bounce = _bounce(message)
    return bounce if visible_to(staff, bounce) else None


def bounced_addresses() -> dict[str, str]:
    """Each address with an open bounce, and the server's reply: to flag parents and applications."""
    rows = db.session.execute(
        sa.select(OutboxMessage.recipient, OutboxMessage.last_error)
        .where(OutboxMessage.status == OutboxStatus.UNDELIVERABLE, OutboxMessage.handled_at.is_(None))
        .order_by(OutboxMessage.id)
    )
    return {recipient: reply for recipient, reply in rows}


def correct_and_resend(bounce: Bounce, new_email: str, staff: Staff) -> None:
    """A fresh link to the corrected address; the old link dies; recorded with who and when (the
    caller commits). Raises changes.EmailTaken when another parent's account has the address."""
    token = bounce.message.link_token
    if bounce.parent is not None:  # a login link (the approval e-mail, or one asked for)
        credentials.change_email(bounce.parent, new_email, staff=staff)
        send_after_correction(bounce.parent)
    elif token is not None and token.purpose == Purpose.APPLY.value:  # the step-1 link
        tokens.revoke((Purpose.APPLY,), email=token.email, child_personal_code=token.child_personal_code)
        changes.record("application_email", token.email, new_email, staff=staff, student=bounce.student)
        send_application_link(new_email, token.child_personal_code, token.locale)
    else:
        raise ValueError("only e-mails with a link can be resent")
    mark_bounces_handled(bounce.message.recipient)
