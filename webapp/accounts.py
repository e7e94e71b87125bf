"""Who is logged in, and checking a password: the session holds the account's kind and id."""

import sqlalchemy as sa
from flask_babel import gettext as _

from webapp import passwords
from webapp.extensions import db, login
from webapp.models import Account, Parent, Staff

ACCOUNT_KINDS: dict[str, type[Account]] = {"parent": Parent, "staff": Staff}


@login.user_loader
def load_account(session_id: str) -> Account | None:
    kind, _sep, account_id = session_id.partition(":")
    model = ACCOUNT_KINDS.get(kind)
    if model is None or not account_id.isdigit():
        return None
    return db.session.get(model, int(account_id))


def password_login(model: type[Account], form) -> Account | None:
    """The account of that kind whose address and password match, or None with the form's error set.
    The same work and the same message whether or not the address is known."""
    account = db.session.scalar(sa.select(model).where(model.email == form.email.data))
    if passwords.verify(account.password_hash if account else None, form.password.data):
        return account
    form.password.errors.append(_("The e-mail address or the password is wrong."))
    return None
