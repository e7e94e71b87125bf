import sqlalchemy as sa
from flask import redirect, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from webapp import passwords, tokens
from webapp.auth import bp
from webapp.auth.forms import LoginForm, LoginLinkForm
from webapp.auth.links import find_parent, send_login_link
from webapp.extensions import configured_limit, db, limiter
from webapp.models import Account, Parent
from webapp.rendering import form_error_status, render_page


def start_session(account: Account) -> None:
    """A fresh session for a fresh login: nothing from before survives (no session fixation)."""
    session.clear()
    login_user(account)


def password_login(model: type[Account], form: LoginForm) -> Account | None:
    """The account of that kind whose address and password match, or None with the form's error set.
    The same work and the same message whether or not the address is known."""
    account = db.session.scalar(sa.select(model).where(model.email == form.email.data))
    if passwords.verify(account.password_hash if account else None, form.password.data):
        return account
    form.password.errors.append(_("The e-mail address or the password is wrong."))
    return None


def login_page(login_form: LoginForm | None = None, link_form: LoginLinkForm | None = None):
    forms = {"login_form": login_form or LoginForm(), "link_form": link_form or LoginLinkForm()}
    status = max(form_error_status(form) for form in forms.values())
    return render_page("home/index.html", **forms), status


@bp.post("/logi-sisse")
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"))
def login():
    form = LoginForm()
    if form.validate_on_submit() and (parent := password_login(Parent, form)):
        start_session(parent)
        return redirect(url_for("profile.show"), 303)
    return login_page(login_form=form)


@bp.post("/saada-link")
@limiter.limit(configured_limit("LOGIN_LINK_RATE_LIMIT"))
def request_login_link():
    form = LoginLinkForm()
    if not form.validate_on_submit():
        return login_page(link_form=form)
    parent = find_parent(form.email.data)
    if parent is not None and send_login_link(parent):
        db.session.commit()
    return redirect(url_for("auth.link_sent"), 303)


@bp.get("/link-saadetud")
def link_sent():
    return render_page("auth/link_sent.html")


def _link_problem(state: tokens.TokenState, token: str):
    status = 404 if state is tokens.TokenState.UNKNOWN else 410
    return render_page("auth/link_problem.html", state=state.value, token=token), status


@bp.get("/sisene/<token>")
def login_link(token: str):
    """The link from the e-mail. This page posts the token itself (by script, or with a button):
    mail scanners fetch links, and a GET must not use up the parent's login."""
    state, _link = tokens.find(tokens.Purpose.LOGIN, token)
    if state is not tokens.TokenState.VALID:
        return _link_problem(state, token)
    return render_page("auth/login_link.html", token=token)


@bp.post("/sisene/<token>")
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"))
def use_login_link(token: str):
    state, link = tokens.find(tokens.Purpose.LOGIN, token)
    if state is tokens.TokenState.VALID and tokens.consume(link):
        parent = db.session.get(Parent, link.parent_id)
        db.session.commit()
        start_session(parent)
        return redirect(url_for("profile.show"), 303)
    db.session.rollback()
    # A valid link that could not be consumed was used by a concurrent request a moment ago.
    return _link_problem(tokens.TokenState.USED if state is tokens.TokenState.VALID else state, token)


@bp.post("/sisene/<token>/uus")
@limiter.limit(configured_limit("LOGIN_LINK_RATE_LIMIT"))
def renew_login_link(token: str):
    """A used or expired login link: send a fresh one to the same account's address."""
    state, link = tokens.find(tokens.Purpose.LOGIN, token)
    if state in (tokens.TokenState.USED, tokens.TokenState.EXPIRED):
        parent = db.session.get(Parent, link.parent_id)
        if parent is not None and send_login_link(parent):
            db.session.commit()
    return redirect(url_for("auth.link_sent"), 303)


@bp.post("/logi-valja")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("home.index"), 303)
