"""Who is logged in: the session holds kind, id and epoch; a stale epoch is no login at all."""

from webapp.extensions import db, login
from webapp.models import Account, Parent, Staff

ACCOUNT_KINDS: dict[str, type[Account]] = {"parent": Parent, "staff": Staff}


@login.user_loader
def load_account(session_id: str) -> Account | None:
    kind, _, rest = session_id.partition(":")
    account_id, _, epoch = rest.partition(":")
    model = ACCOUNT_KINDS.get(kind)
    if model is None or not account_id.isdigit() or not epoch.isdigit():
        return None
    account = db.session.get(model, int(account_id))
    if account is None or account.session_epoch != int(epoch):
        return None
    return account
