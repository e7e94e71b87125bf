"""How far each participant got: applied, approved, logged in, password set."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from webapp.demo_mailbox import Preset
from webapp.extensions import db
from webapp.models import Application, ApplicationStatus, LinkRequest, LinkRequestKind, Parent


@dataclass
class Participant:
    """Someone in the room, known by the address they typed at step 1."""

    email: str
    started_at: datetime
    application: Application | None = None
    parent: Parent | None = None
    scenario: tuple[Preset, int | None] | None = None

    @property
    def applied(self) -> bool:
        return self.application is not None

    @property
    def approved(self) -> bool:
        return self.application is not None and self.application.status == ApplicationStatus.APPROVED

    @property
    def pending(self) -> Application | None:
        """The application waiting for the trainer (playing the school), if any."""
        waiting = self.application is not None and self.application.status == ApplicationStatus.PENDING
        return self.application if waiting else None

    @property
    def logged_in(self) -> bool:
        return self.parent is not None and self.parent.last_login_at is not None

    @property
    def password_set(self) -> bool:
        return self.parent is not None and self.parent.password_hash is not None


def participants() -> list[Participant]:
    """Everyone who asked for an application link, in the order they started."""
    started = db.session.execute(
        sa.select(LinkRequest.email, sa.func.min(LinkRequest.created_at))
        .where(LinkRequest.kind == LinkRequestKind.APPLY)
        .group_by(LinkRequest.email)
        .order_by(sa.func.min(LinkRequest.created_at), LinkRequest.email)
    ).all()
    found = {email: Participant(email, at) for email, at in started}
    if not found:
        return []
    # The newest application of each address wins (order by id: later ones overwrite).
    for application in db.session.scalars(
        sa.select(Application).where(Application.email.in_(found)).order_by(Application.id)
    ):
        found[application.email].application = application
    for parent in db.session.scalars(sa.select(Parent).where(Parent.email.in_(found))):
        found[parent.email].parent = parent
    return list(found.values())


def is_participant(email: str) -> bool:
    return (
        db.session.scalar(
            sa.select(LinkRequest.id)
            .where(LinkRequest.kind == LinkRequestKind.APPLY, LinkRequest.email == email)
            .limit(1)
        )
        is not None
    )
