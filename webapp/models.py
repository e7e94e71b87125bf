"""Database models (SQLAlchemy 2.0, typed)."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.clock import utcnow
from webapp.extensions import db

EMAIL_LENGTH = 254
NAME_LENGTH = 100


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


class LinkRequestKind(StrEnum):
    """A link a parent asked for by address: what the sender looks up and sends (or not)."""

    APPLY = "apply"  # step 1: written and sent at once, for any address
    LOGIN_LINK = "login_link"  # "send me a login link"
    SEND_AGAIN = "send_again"  # "I didn't get the e-mail"


class LinkToken(db.Model):
    """A secret link sent by e-mail: only its SHA-256 is stored; one purpose, expiring, single use."""

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(EMAIL_LENGTH), index=True)
    child_personal_code: Mapped[str | None] = mapped_column(sa.String(11))
    locale: Mapped[str] = mapped_column(sa.String(5))
    # A login link works for this account only, whatever its address is by the time it is used.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parent.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Ended before its time: a newer link, a corrected address, a new password.
    revoked_at: Mapped[datetime | None]


class LinkRequest(db.Model):
    """A link e-mail asked for by address. Recorded the same way whether or not the address is known,
    so that the answer and its timing tell nothing; the sender decides what, if anything, to send.
    Also what the per-address cap counts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    email: Mapped[str] = mapped_column(sa.String(EMAIL_LENGTH))
    locale: Mapped[str] = mapped_column(sa.String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (sa.Index("ix_link_request_email_created_at", "email", "created_at"),)


class WebSession(db.Model):
    """A browser's session, kept here so that its contents never travel in the cookie, any host can
    serve it, and logging out ends it. The cookie holds a random id; this table only its SHA-256."""

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account: Mapped[str | None] = mapped_column(sa.String(40), index=True)  # "parent:12", "staff:3"
    data: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Application(db.Model):
    """A parent's request for an account, waiting for the school's decision."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # The link it was submitted with: unique, so a double submit cannot make a second application.
    link_token_id: Mapped[int] = mapped_column(sa.ForeignKey("link_token.id"), unique=True)
    email: Mapped[str] = mapped_column(sa.String(EMAIL_LENGTH), index=True)
    child_personal_code: Mapped[str] = mapped_column(sa.String(11), index=True)
    parent_first_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    parent_last_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    relation: Mapped[str] = mapped_column(sa.String(20))
    child_first_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    child_last_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    message: Mapped[str | None] = mapped_column(sa.Text)
    locale: Mapped[str] = mapped_column(sa.String(5))
    consent_given_at: Mapped[datetime]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(20), default=ApplicationStatus.PENDING, index=True)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parent.id"))

    link_token: Mapped[LinkToken] = relationship()
    decided_by: Mapped["Staff | None"] = relationship()


class OutboxMessage(db.Model):
    """An e-mail written in the same transaction as the change that caused it; the sender delivers it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(EMAIL_LENGTH), index=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    text_body: Mapped[str] = mapped_column(sa.Text)
    html_body: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # Which kind of e-mail (its template, e.g. "login_link"): the sender tags it with that (X-Tags).
    kind: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # The link the e-mail carries, if any: it tells staff whose e-mail bounced, and for which child.
    link_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("link_token.id", ondelete="SET NULL"))
    # A bounce is dealt with once staff have corrected the address and sent a fresh link.
    handled_at: Mapped[datetime | None]

    link_token: Mapped[LinkToken | None] = relationship()


class Account(UserMixin):
    """What parents and staff share: a login (password optional)."""

    kind: str  # "parent" or "staff": part of the session id, so the two tables never mix

    email: Mapped[str] = mapped_column(sa.String(EMAIL_LENGTH), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    last_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    last_login_at: Mapped[datetime | None]
    locale: Mapped[str] = mapped_column(sa.String(5), default="et")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def get_id(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Staff(Account, db.Model):
    kind = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "admin", "teacher", or (in a demo database) "trainer"
    role: Mapped[str] = mapped_column(sa.String(10))

    classes: Mapped[list["SchoolClass"]] = relationship(back_populates="teacher")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_trainer(self) -> bool:
        return self.role == "trainer"

    @property
    def home_endpoint(self) -> str:
        # The trainer's page exists in demo mode only (see webapp.training).
        if self.is_trainer and "training" in current_app.blueprints:
            return "training.index"
        return "staff.queue"


parent_child = sa.Table(
    "parent_child",
    db.metadata,
    sa.Column("parent_id", sa.ForeignKey("parent.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("student_id", sa.ForeignKey("student.id", ondelete="CASCADE"), primary_key=True),
)


class Parent(Account, db.Model):
    """A parent the school knows: from the roster, or from an approved application."""

    kind = "parent"
    home_endpoint = "profile.show"

    id: Mapped[int] = mapped_column(primary_key=True)
    personal_code: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    phone: Mapped[str | None] = mapped_column(sa.String(30))

    children: Mapped[list["Student"]] = relationship(
        secondary=parent_child, back_populates="parents", order_by="Student.last_name"
    )


class SchoolClass(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(20), unique=True)
    teacher_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))

    teacher: Mapped[Staff | None] = relationship(back_populates="classes")
    students: Mapped[list["Student"]] = relationship(back_populates="school_class")


class Student(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    personal_code: Mapped[str] = mapped_column(sa.String(11), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    last_name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id"))

    school_class: Mapped[SchoolClass] = relationship(back_populates="students")
    parents: Mapped[list[Parent]] = relationship(secondary=parent_child, back_populates="children")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Change(db.Model):
    """One change of a parent's or a student's data by staff or by the parent: who, when, what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parent.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(sa.String(40))
    old_value: Mapped[str | None] = mapped_column(sa.String(EMAIL_LENGTH))
    new_value: Mapped[str | None] = mapped_column(sa.String(EMAIL_LENGTH))

    staff: Mapped[Staff | None] = relationship()
