from flask import current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import changes, credentials, passwords, tokens
from webapp.access import parent_required
from webapp.extensions import db
from webapp.limits import account, client, limit
from webapp.models import Parent
from webapp.profile import bp
from webapp.profile.forms import EmailChangeForm, LinkButtonForm, PasswordForm
from webapp.rendering import form_error_status, render_page
from webapp.sessions import logged_in_by_link_within


def _verdict(form: PasswordForm) -> passwords.Verdict | None:
    """Every rule at once for the new password and its repeat; None until a password is typed."""
    if not form.new_password.data:
        return None
    return passwords.check(
        form.new_password.data,
        current_user.first_name,
        current_user.last_name,
        current_app.config["PASSWORD_MIN_SCORE"],
        extra_inputs=[current_user.email.split("@")[0], current_app.config["SCHOOL_NAME"]],
        repeat=form.repeat_password.data or "",
    )


def _show_refusals(form: PasswordForm, verdict: passwords.Verdict) -> None:
    """Each refusal under its field: the mismatch under the repeat (unless it is empty, which is said)."""
    for rule, message in verdict.refusals.items():
        if rule is passwords.Rule.MATCH:
            if not form.repeat_password.errors:
                form.repeat_password.errors.append(message)
        else:
            form.new_password.errors.append(message)


def current_password_needed() -> bool:
    """Changing a secret takes the current password, once there is one. A session that came in by a
    login link a few minutes ago is excused: the link was the proof, and it is how a parent who forgot
    the password sets a new one."""
    return current_user.password_hash is not None and not logged_in_by_link_within(
        current_app.config["LINK_LOGIN_GRACE"]
    )


def _current_password_ok(form) -> bool:
    """Checks the form's current password when one is needed; sets the field's error if not right."""
    if not current_password_needed():
        return True
    field = form.current_password
    if not field.data:
        field.errors.append(_("Enter your current password to change this."))
        return False
    if not passwords.verify(current_user.password_hash, field.data):
        field.errors.append(_("The current password is not right."))
        return False
    return True


@bp.get("/")
@parent_required
def show():
    """Sinu profiil."""
    return render_page("profile/show.html")


def _edit_page(password_form: PasswordForm, email_form: EmailChangeForm, verdict=None, block=None):
    page = render_page(
        "profile/edit.html",
        block=block,
        form=password_form,
        email_form=email_form,
        verdict=verdict,
        ask_current_password=current_password_needed(),
    )
    return page, max(form_error_status(password_form), form_error_status(email_form))


@bp.route("/muuda", methods=["GET", "POST"])
@parent_required
@limit("PASSWORD_CHECK_PER_CLIENT_LIMIT", client, methods=["POST"])
@limit("PASSWORD_CHECK_PER_ACCOUNT_LIMIT", account, methods=["POST"])
def edit():
    """Muuda profiili: new password twice → Salvesta."""
    form = PasswordForm()
    verdict = None
    if form.is_submitted():
        # Every check runs, so that every error shows at once: not one round of Salvesta per rule.
        valid = form.validate()
        if not form.current_password.errors:
            valid = _current_password_ok(form) and valid
        verdict = _verdict(form)
        if verdict:
            _show_refusals(form, verdict)
        if valid and verdict and verdict.accepted:
            credentials.set_password(current_user._get_current_object(), form.new_password.data)
            db.session.commit()
            flash(_("Your password has been saved."))
            return redirect(url_for("profile.show"), 303)
    return _edit_page(form, EmailChangeForm(formdata=None), verdict, block="form")


@bp.post("/parool/tugevus")
@parent_required
@limit("PASSWORD_CHECK_PER_CLIENT_LIMIT", client)
@limit("PASSWORD_CHECK_PER_ACCOUNT_LIMIT", account)
def password_strength():
    """htmx: the strength meter and the rules list, as the parent types in either field (debounced)."""
    return render_page("profile/_strength.html", verdict=_verdict(PasswordForm()))


@bp.post("/e-post")
@parent_required
@limit("EMAIL_CHANGE_PER_CLIENT_LIMIT", client)
@limit("EMAIL_CHANGE_PER_ACCOUNT_LIMIT", account)
def change_email():
    """A new address: a confirmation link goes to it; the address changes when it is opened."""
    email_form = EmailChangeForm()
    if email_form.validate_on_submit() and _current_password_ok(email_form):
        if email_form.email.data == current_user.email:
            email_form.email.errors.append(_("This is already your e-mail address."))
        else:
            credentials.request_email_change(current_user, email_form.email.data)
            db.session.commit()
            flash(
                _(
                    "We sent a confirmation link to %(email)s. Your address changes when you open it.",
                    email=email_form.email.data,
                )
            )
            return redirect(url_for("profile.show"), 303)
    return _edit_page(PasswordForm(formdata=None), email_form)


@bp.get("/e-post/<token>")
def confirm_email(token: str):
    """The link sent to the new address. No login needed: opening that mailbox is the proof."""
    tokens.check(tokens.Purpose.EMAIL_CHANGE, token)
    return render_page(
        "profile/link_button.html",
        title=_("Confirm your new e-mail address"),
        explanation=None,
        button=_("Confirm"),
        action=url_for("profile.confirm_email_post", token=token),
        form=LinkButtonForm(),
    )


@bp.post("/e-post/<token>")
@limit("EMAIL_CHANGE_PER_CLIENT_LIMIT", client)
def confirm_email_post(token: str):
    if not LinkButtonForm().validate_on_submit():
        return redirect(url_for("profile.confirm_email", token=token), 303)
    link = tokens.redeem(tokens.Purpose.EMAIL_CHANGE, token)
    try:
        credentials.change_email(db.session.get(Parent, link.parent_id), link.email)
    except changes.EmailTaken:
        db.session.rollback()
        return render_page("profile/email_taken.html"), 409
    db.session.commit()
    return render_page("profile/email_changed.html", email=link.email)


UNDO_PURPOSES = (tokens.Purpose.UNDO_PASSWORD_CHANGE, tokens.Purpose.UNDO_EMAIL_CHANGE)


@bp.get("/tagasi/<token>")
def undo_change(token: str):
    """From the notice to the old address: what pressing the button will do."""
    link = tokens.check(UNDO_PURPOSES, token)
    return render_page(
        "profile/link_button.html",
        title=_("It was not me: undo the change"),
        explanation=_(
            "Pressing the button ends every login of this account, removes its password and, if the"
            " e-mail address was changed, puts back %(email)s. Then we send a login link to that"
            " address, so that you can set a new password.",
            email=link.email,
        ),
        button=_("Undo the change and log everyone out"),
        action=url_for("profile.undo_change_post", token=token),
        form=LinkButtonForm(),
    )


@bp.post("/tagasi/<token>")
@limit("EMAIL_CHANGE_PER_CLIENT_LIMIT", client)
def undo_change_post(token: str):
    if not LinkButtonForm().validate_on_submit():
        return redirect(url_for("profile.undo_change", token=token), 303)
    link = tokens.redeem(UNDO_PURPOSES, token)
    try:
        parent = credentials.undo(link)
    except changes.EmailTaken:
        db.session.rollback()
        return render_page("profile/email_taken.html"), 409
    db.session.commit()
    return render_page("profile/change_undone.html", email=parent.email)
