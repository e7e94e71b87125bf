from flask import redirect, request, url_for
from flask_babel import get_locale
from flask_login import login_required

from webapp import link_requests, tokens
from webapp.accounts import password_login
from webapp.auth import bp
from webapp.auth.forms import LoginForm, LoginLinkForm
from webapp.extensions import db
from webapp.limits import client, limit, link, typed
from webapp.models import LinkRequestKind, Parent
from webapp.rendering import form_error_status, local_path, render_page
from webapp.sessions import end_session, start_session


def login_page(login_form: LoginForm | None = None, link_form: LoginLinkForm | None = None):
    forms = {"login_form": login_form or LoginForm(), "link_form": link_form or LoginLinkForm()}
    status = max(form_error_status(form) for form in forms.values())
    return render_page("home/index.html", **forms), status


@bp.post("/logi-sisse")
@limit("LOGIN_PER_CLIENT_LIMIT", client)
@limit("LOGIN_PER_ACCOUNT_LIMIT", typed("email"))
def login():
    form = LoginForm()
    if form.validate_on_submit() and (parent := password_login(Parent, form)):
        start_session(parent, "password")
        db.session.commit()
        return redirect(url_for("profile.show"), 303)
    return login_page(login_form=form)


@bp.post("/saada-link")
@limit("LINK_REQUEST_PER_CLIENT_LIMIT", client)
@limit("LINK_REQUEST_PER_ADDRESS_LIMIT", typed("email"))
def request_login_link():
    """Recorded the same way for any address; the sender sends a link only to an account's address."""
    form = LoginLinkForm()
    if not form.validate_on_submit():
        return login_page(link_form=form)
    link_requests.record(LinkRequestKind.LOGIN_LINK, form.email.data, str(get_locale()))
    db.session.commit()
    link_requests.remember(form.email.data)
    return redirect(url_for("auth.link_sent"), 303)


@bp.get("/link-saadetud")
def link_sent():
    return render_page("auth/link_sent.html", **link_requests.cap_notice())


@bp.get("/sisene/<token>")
def login_link(token: str):
    """The link from the e-mail: says whose account it is; the parent logs in with one press of a
    button. Never by itself: mail scanners open links, and a link someone else sent must not log a
    person into that someone's account unawares."""
    link_token = tokens.check(tokens.Purpose.LOGIN, token)
    parent = db.session.get(Parent, link_token.parent_id)
    return render_page("auth/login_link.html", token=token, parent=parent)


@bp.post("/sisene/<token>")
@limit("LOGIN_LINK_PER_CLIENT_LIMIT", client)
@limit("LOGIN_LINK_PER_LINK_LIMIT", link)
def use_login_link(token: str):
    link_token = tokens.redeem(tokens.Purpose.LOGIN, token)
    start_session(db.session.get(Parent, link_token.parent_id), "link")
    db.session.commit()
    return redirect(url_for("profile.show"), 303)


@bp.post("/sisene/<token>/uus")
@limit("LINK_REQUEST_PER_CLIENT_LIMIT", client)
@limit("LOGIN_LINK_PER_LINK_LIMIT", link)
def renew_login_link(token: str):
    """A login link that no longer works: a fresh one to the account's address (under the same cap)."""
    try:
        tokens.check(tokens.Purpose.LOGIN, token)
    except tokens.LinkUnusable as unusable:
        parent = db.session.get(Parent, unusable.link.parent_id) if unusable.link else None
        if parent is not None:
            link_requests.record(LinkRequestKind.LOGIN_LINK, parent.email, str(get_locale()))
            db.session.commit()
            link_requests.remember(parent.email)
    return redirect(url_for("auth.link_sent"), 303)


@bp.post("/logi-valja")
@login_required
def logout():
    """Ends the session; `next` (a path on this site) is where to go, e.g. the other login page."""
    end_session()
    return redirect(local_path(request.form.get("next")), 303)
