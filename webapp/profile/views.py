from flask import current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user

from webapp import changes, passwords, tokens
from webapp.access import parent_required
from webapp.extensions import configured_limit, db, limiter
from webapp.outbox import send_email
from webapp.profile import bp, email_change
from webapp.profile.forms import ConfirmEmailForm, EmailChangeForm, PasswordForm
from webapp.rendering import form_error_status, render_page


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
@limiter.limit(configured_limit("PASSWORD_CHECK_RATE_LIMIT"), methods=["POST"])
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
    return render_page(
        "profile/edit.html", block="form", form=form, verdict=verdict, email_form=EmailChangeForm()
    ), form_error_status(form)


def _save_password(password: str) -> None:
    parent = current_user._get_current_object()
    parent.password_hash = passwords.hash_password(password)
    parent.session_epoch += 1  # every other session of this parent ends now
    send_email(
        parent.email,
        "password_changed",
        _l("Your password was changed"),
        parent.locale,
        parent=parent,
    )
    db.session.commit()
    login_user(parent)  # this session goes on, with the new epoch


@bp.post("/parool/tugevus")
@parent_required
@limiter.limit(configured_limit("PASSWORD_CHECK_RATE_LIMIT"))
def password_strength():
    """htmx: the strength meter, as the parent types (debounced in the page)."""
    form = PasswordForm()
    password = form.new_password.data or ""
    verdict = _verdict(password) if password else None
    return render_page("profile/_strength.html", verdict=verdict, live=True)


@bp.post("/e-post")
@parent_required
@limiter.limit(configured_limit("EMAIL_CHANGE_RATE_LIMIT"))
def change_email():
    """A new address: a confirmation link goes to it; the address changes when it is opened."""
    email_form = EmailChangeForm()
    if email_form.validate_on_submit():
        if email_form.email.data == current_user.email:
            email_form.email.errors.append(_("This is already your e-mail address."))
        else:
            email_change.request_change(current_user, email_form.email.data)
            flash(
                _(
                    "We sent a confirmation link to %(email)s. Your address changes when you open it.",
                    email=email_form.email.data,
                )
            )
            return redirect(url_for("profile.show"), 303)
    return render_page("profile/edit.html", form=PasswordForm(formdata=None), email_form=email_form), 422


@bp.get("/e-post/<token>")
def confirm_email(token: str):
    """The link sent to the new address. No login needed: opening that mailbox is the proof."""
    state, _link = tokens.find(tokens.Purpose.EMAIL_CHANGE, token)
    if state is not tokens.TokenState.VALID:
        return _email_link_problem(state)
    return render_page("profile/confirm_email.html", token=token, form=ConfirmEmailForm())


@bp.post("/e-post/<token>")
@limiter.limit(configured_limit("EMAIL_CHANGE_RATE_LIMIT"))
def confirm_email_post(token: str):
    state, link = tokens.find(tokens.Purpose.EMAIL_CHANGE, token)
    if state is not tokens.TokenState.VALID or not ConfirmEmailForm().validate_on_submit():
        return _email_link_problem(state)
    if not tokens.consume(link):
        db.session.rollback()
        return _email_link_problem(tokens.TokenState.USED)
    try:
        email_change.confirm_change(link)
    except changes.EmailTaken:
        db.session.rollback()
        return render_page("profile/email_taken.html"), 409
    return render_page("profile/email_changed.html", email=link.email)


def _email_link_problem(state: tokens.TokenState):
    status = 404 if state is tokens.TokenState.UNKNOWN else 410
    return render_page("profile/email_link_problem.html", state=state.value), status
