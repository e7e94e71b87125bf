from urllib.parse import quote, urlencode

from flask import current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.apply.forms import ResendForm
from webapp.auth.views import login_page
from webapp.extensions import db
from webapp.home import bp
from webapp.i18n import LANGUAGE_COOKIE
from webapp.rendering import local_path, render_page, same_for_every_new_visitor

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
@same_for_every_new_visitor
def index():
    if current_user.is_authenticated:
        return redirect(url_for(current_user.home_endpoint), 303)
    return login_page()


@bp.get("/konto/uus")
@same_for_every_new_visitor
def new_account():
    """Loo uus konto."""
    return render_page("home/new_account.html")


@bp.get("/konto/taotle")
@same_for_every_new_visitor
def request_account():
    """Esita andmed ja taotle kontot: ID-card / Smart-ID, or help for those without."""
    return render_page("home/request_account.html")


@bp.get("/abi")
@same_for_every_new_visitor
def help_page():
    """Lisainfo & abi."""
    return render_page("home/help.html", resend_form=ResendForm(), it_mailto=_it_mailto())


def _it_mailto() -> str:
    """A prepared letter to the school's IT: what happened and the child's class, and no personal
    code anywhere (e-mail is not the place for one)."""
    subject = _("Parent's account: the e-mail does not arrive")
    body = _(
        "Hello!\n\nWhat happened (for example: I applied on ..., no e-mail has come, not in spam "
        "either):\n\nMy child's name and class:\n\nMy name:\n\nThe e-mail address I entered:\n\n"
        "The e-mail address I want to use:\n"
    )
    query = urlencode({"subject": subject, "body": body}, quote_via=quote)
    return f"mailto:{current_app.config['SCHOOL_IT_EMAIL']}?{query}"


@bp.post("/keel")
def choose_language():
    """A POST with the CSRF token: no other site can change a parent's language (nor their e-mails')."""
    response = redirect(local_path(request.form.get("next")), 303)
    code = request.form.get("lang")
    if code in current_app.config["LANGUAGES"]:
        if current_user.is_authenticated:
            current_user.locale = code  # the account's e-mails follow the choice too
            db.session.commit()
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=ONE_YEAR,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
