from flask import current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user

from webapp import passwords
from webapp.access import parent_required
from webapp.extensions import db, limiter
from webapp.outbox import send_email
from webapp.profile import bp
from webapp.profile.forms import PasswordForm
from webapp.rendering import form_error_status, render_page


def _check_rate_limit() -> str:
    return current_app.config.get("PASSWORD_CHECK_RATE_LIMIT", "60 per minute")


def _verdict(password: str) -> passwords.Verdict:
    return passwords.check(
        password,
        current_user.first_name,
        current_user.last_name,
        current_app.config["PASSWORD_MIN_SCORE"],
        extra_inputs=[current_user.email.split("@")[0], current_app.config["SCHOOL_NAME"]],
    )


@bp.get("/")
@parent_required
def show():
    """Sinu profiil."""
    return render_page("profile/show.html")


@bp.route("/muuda", methods=["GET", "POST"])
@parent_required
@limiter.limit(_check_rate_limit, methods=["POST"])
def edit():
    """Muuda profiili: new password twice → Salvesta."""
    form = PasswordForm()
    verdict = None
    if form.validate_on_submit():
        verdict = _verdict(form.new_password.data)
        if verdict.accepted:
            _save_password(form.new_password.data)
            flash(_("Your password has been saved."))
            return redirect(url_for("profile.show"), 303)
        form.new_password.errors.extend(verdict.problems)
    return render_page("profile/edit.html", block="form", form=form, verdict=verdict), form_error_status(form)


def _save_password(password: str) -> None:
    parent = current_user._get_current_object()
    parent.password_hash = passwords.hash_password(password)
    parent.session_epoch += 1  # every other session of this parent ends now
    send_email(
        parent.email,
        "password_changed",
        _l("Your password was changed – %(school)s", school=current_app.config["SCHOOL_NAME"]),
        parent.locale,
        parent=parent,
    )
    db.session.commit()
    login_user(parent)  # this session goes on, with the new epoch


@bp.post("/parool/tugevus")
@parent_required
@limiter.limit(_check_rate_limit)
def password_strength():
    """htmx: the strength meter, as the parent types (debounced in the page)."""
    form = PasswordForm()
    password = form.new_password.data or ""
    verdict = _verdict(password) if password else None
    return render_page("profile/_strength.html", verdict=verdict, live=True)
