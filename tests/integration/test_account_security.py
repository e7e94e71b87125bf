"""No way to take over an account: sessions end, links die, secrets need the current password, and the
old address can undo a change."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from tests.conftest import (
    School,
    answer_link_requests,
    last_link,
    log_in_staff,
    outbox_messages,
    page_text,
    submit_application,
)
from webapp.clock import utcnow
from webapp.extensions import db
from webapp.models import Change, Parent, WebSession

PASSWORD = "Kolm sinist jõehobu!"
NEW_PASSWORD = "Roheline konn Narvas 99"


def set_password(client, password: str = PASSWORD, **extra) -> int:
    form = {"new_password": password, "repeat_password": password, **extra}
    return client.post("/profiil/muuda", data=form).status_code


@pytest.fixture
def mari(app, school):
    """Mari-Liis applied for the 5A child and the admin approved: the approval e-mail's link."""
    application_id = submit_application(app, app.test_client(), school.child_5a, email="mari@example.ee")
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    admin.post(f"/kool/taotlus/{application_id}/kinnita")
    return last_link(app, "/sisene/")


def logged_in(app, path: str):
    client = app.test_client()
    assert client.post(path).status_code == 303
    return client


def with_password(app, mari):
    """Mari logged in from the link and set a password; then she logs in with it (no link grace)."""
    first = logged_in(app, mari)
    assert (
        first.post("/profiil/muuda", data={"new_password": PASSWORD, "repeat_password": PASSWORD}).status_code
        == 303
    )
    client = app.test_client()
    assert (
        client.post("/logi-sisse", data={"email": "mari@example.ee", "password": PASSWORD}).status_code == 303
    )
    return client


def cookie_of(app, client) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def copy_of(app, client):
    """Another browser holding a copy of the same session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_of(app, client))
    return thief


# Sessions


def test_logout_ends_the_session_on_the_server(app, mari):
    parent = logged_in(app, mari)
    thief = copy_of(app, parent)
    assert thief.get("/profiil/").status_code == 200
    parent.post("/logi-valja")
    assert thief.get("/profiil/").status_code == 302


def test_staff_logout_ends_the_session_on_the_server(app, school):
    staff = app.test_client()
    log_in_staff(staff, School.admin)
    thief = copy_of(app, staff)
    assert thief.get("/kool/").status_code == 200
    staff.post("/logi-valja")
    assert thief.get("/kool/").status_code == 302


def test_login_gives_a_new_session_id(app, mari):
    client = app.test_client()
    client.get("/")  # a session before login (the CSRF token)
    client.post("/taotlus/", data={"email": "x@example.ee", "child_personal_code": "1"})
    before = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    client.post(mari)
    assert before is None or cookie_of(app, client) != before.value


def log_in_as(app, kind: str):
    """A fresh login of that kind, and the page it may open."""
    client = app.test_client()
    if kind == "staff":
        log_in_staff(client, School.admin)
        return client, "/kool/"
    assert client.post(last_link_after_asking(app)).status_code == 303
    return client, "/profiil/"


@pytest.mark.parametrize("kind", ["parent", "staff"])
def test_a_session_ends_when_idle(app, mari, kind):
    idle = app.config[f"{kind.upper()}_SESSION_IDLE"]
    with time_machine.travel(utcnow(), tick=False) as clock:
        client, page = log_in_as(app, kind)
        for _ in range(3):  # in use: the idle clock starts again at every visit
            clock.shift(idle - timedelta(minutes=2))
            assert client.get(page).status_code == 200
        clock.shift(idle + timedelta(minutes=1))
        assert client.get(page).status_code == 302


@pytest.mark.parametrize("kind", ["parent", "staff"])
def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, mari, kind):
    idle, absolute = app.config[f"{kind.upper()}_SESSION_IDLE"], app.config[f"{kind.upper()}_SESSION_MAX"]
    step = idle - timedelta(minutes=5)
    with time_machine.travel(utcnow(), tick=False) as clock:
        client, page = log_in_as(app, kind)
        used = timedelta(0)
        while used + step < absolute:
            clock.shift(step)
            used += step
            assert client.get(page).status_code == 200
        clock.shift(absolute - used + timedelta(minutes=1))
        assert client.get(page).status_code == 302


def test_staff_sessions_are_shorter_than_parents(app):
    config = app.config
    assert config["STAFF_SESSION_IDLE"] < config["PARENT_SESSION_IDLE"]
    assert config["STAFF_SESSION_MAX"] < config["PARENT_SESSION_MAX"]


def last_link_after_asking(app) -> str:
    app.test_client().post("/saada-link", data={"email": "mari@example.ee"})
    answer_link_requests(app)
    return last_link(app, "/sisene/")


# Login links


def test_a_requested_login_link_lives_an_hour_and_the_approval_one_a_week(app, mari):
    with app.app_context():
        from webapp.models import LinkToken

        approval = db.session.scalar(sa.select(LinkToken).where(LinkToken.purpose == "login"))
        assert abs(approval.expires_at - approval.created_at - timedelta(days=7)) < timedelta(seconds=1)
    requested = last_link_after_asking(app)
    with time_machine.travel(utcnow() + timedelta(minutes=59)):
        assert app.test_client().get(requested).status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        assert app.test_client().post(requested).status_code == 410


def test_a_new_login_link_ends_the_older_ones(app, mari):
    newer = last_link_after_asking(app)
    older = app.test_client().post(mari)
    assert older.status_code == 410
    assert "asemel kehtib uuem" in page_text(older)  # says why: a newer link replaced it
    assert app.test_client().post(newer).status_code == 303


def test_a_password_change_ends_the_links_and_other_sessions(app, mari):
    parent = logged_in(app, mari)
    spare_link = last_link_after_asking(app)
    other = logged_in(app, last_link_after_asking(app))
    assert (
        parent.post(
            "/profiil/muuda", data={"new_password": PASSWORD, "repeat_password": PASSWORD}
        ).status_code
        == 303
    )
    assert other.get("/profiil/").status_code == 302
    assert parent.get("/profiil/").status_code == 200
    assert app.test_client().post(spare_link).status_code == 410


# Re-authentication


def test_changing_the_password_asks_for_the_current_one(app, mari):
    parent = with_password(app, mari)
    form = {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    missing = parent.post("/profiil/muuda", data=form)
    assert missing.status_code == 422 and "sisesta oma praegune parool" in page_text(missing)
    wrong = parent.post("/profiil/muuda", data={**form, "current_password": "vale parool 12345"})
    assert wrong.status_code == 422 and "Praegune parool ei ole õige." in page_text(wrong)
    assert parent.post("/profiil/muuda", data={**form, "current_password": PASSWORD}).status_code == 303


def test_changing_the_email_asks_for_the_current_password(app, mari):
    parent = with_password(app, mari)
    missing = parent.post("/profiil/e-post", data={"email": "thief@example.com"})
    assert missing.status_code == 422 and "sisesta oma praegune parool" in page_text(missing)
    assert not [message for message in outbox_messages(app) if message.recipient == "thief@example.com"]
    ok = parent.post("/profiil/e-post", data={"email": "mari@gmail.com", "current_password": PASSWORD})
    assert ok.status_code == 303 and outbox_messages(app)[-1].recipient == "mari@gmail.com"


def test_a_login_link_is_proof_for_ten_minutes(app, mari):
    """The parent who forgot the password asks for a link and sets a new one without the old one."""
    with_password(app, mari)
    form = {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    with time_machine.travel(utcnow(), tick=False) as clock:
        parent = logged_in(app, last_link_after_asking(app))
        clock.shift(timedelta(minutes=9))
        assert parent.get("/profiil/muuda").status_code == 200
        assert "Sinu praegune parool" not in page_text(parent.get("/profiil/muuda"))
        clock.shift(timedelta(minutes=2))
        assert "Sinu praegune parool" in page_text(parent.get("/profiil/muuda"))
        assert parent.post("/profiil/muuda", data=form).status_code == 422
    assert logged_in(app, last_link_after_asking(app)).post("/profiil/muuda", data=form).status_code == 303


# "This wasn't me"


def test_the_password_notice_undoes_the_change_and_ends_every_session(app, mari):
    parent = logged_in(app, mari)
    set_password(parent)
    notice = outbox_messages(app)[-1]
    assert notice.recipient == "mari@example.ee" and "/profiil/tagasi/" in notice.text_body
    undo = last_link(app, "/profiil/tagasi/")
    owner = app.test_client()
    assert owner.get(undo).status_code == 200  # a GET changes nothing
    assert parent.get("/profiil/").status_code == 200
    done = owner.post(undo)
    assert done.status_code == 200 and "Muudatus võeti tagasi" in page_text(done)
    assert parent.get("/profiil/").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Parent.password_hash)) is None
        parent_sessions = sa.select(sa.func.count()).where(WebSession.account.startswith("parent:"))
        assert db.session.scalar(parent_sessions) == 0
    fresh = outbox_messages(app)[-1]
    assert fresh.recipient == "mari@example.ee" and "/sisene/" in fresh.text_body
    assert owner.post(undo).status_code == 410  # once


def test_an_email_change_ends_other_sessions_and_the_old_address_can_take_it_back(app, mari):
    parent = logged_in(app, mari)
    other = logged_in(app, last_link_after_asking(app))
    parent.post("/profiil/e-post", data={"email": "thief@example.com"})
    confirm = last_link(app, "/profiil/e-post/")
    assert app.test_client().post(confirm).status_code == 200
    assert other.get("/profiil/").status_code == 302
    notice = outbox_messages(app)[-1]
    assert notice.recipient == "mari@example.ee" and "thief@example.com" in notice.text_body
    undo = last_link(app, "/profiil/tagasi/")
    assert app.test_client().post(undo).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Parent.email)) == "mari@example.ee"
    assert parent.get("/profiil/").status_code == 302  # the session that moved the address is gone too


# Staff


@pytest.fixture
def teacher_5a(app, school):
    client = app.test_client()
    log_in_staff(client, School.teacher_5a)
    return client


def parent_page(app, email: str):
    with app.app_context():
        parent = db.session.scalar(sa.select(Parent).where(Parent.email == email))
        return f"/kool/klass/{parent.children[0].class_id}/vanem/{parent.id}", parent.id


def edit(client, path, email):
    return client.post(path, data={"first_name": "Mari-Liis", "last_name": "Mägi", "email": email})


def test_a_teacher_cannot_move_the_address_of_a_parent_who_has_logged_in(app, mari, teacher_5a):
    logged_in(app, mari)
    path, _parent_id = parent_page(app, "mari@example.ee")
    before = len(outbox_messages(app))
    refused = edit(teacher_5a, path, "tiina.private@example.com")
    assert refused.status_code == 422 and "ainult administraator" in page_text(refused)
    assert len(outbox_messages(app)) == before
    with app.app_context():
        assert db.session.scalar(sa.select(Parent.email)) == "mari@example.ee"


def test_a_teacher_cannot_move_a_parent_with_a_child_in_another_class(app, mari, school, teacher_5a):
    submit = submit_application(app, app.test_client(), school.child_6b, email="mari@example.ee")
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    admin.post(f"/kool/taotlus/{submit}/kinnita")
    path, _parent_id = parent_page(app, "mari@example.ee")
    assert edit(teacher_5a, path, "tiina.private@example.com").status_code == 422


def test_a_teachers_correction_tells_the_old_address_and_is_recorded(app, mari, teacher_5a):
    path, parent_id = parent_page(app, "mari@example.ee")
    assert edit(teacher_5a, path, "mari.liis@example.ee").status_code == 303
    recipients = [message.recipient for message in outbox_messages(app)[-2:]]
    assert sorted(recipients) == ["mari.liis@example.ee", "mari@example.ee"]
    with app.app_context():
        change = db.session.scalar(
            sa.select(Change).where(Change.parent_id == parent_id, Change.field == "email")
        )
        assert (change.old_value, change.new_value, change.staff.email) == (
            "mari@example.ee",
            "mari.liis@example.ee",
            School.teacher_5a,
        )


def test_the_admin_may_move_a_logged_in_parents_address(app, mari):
    logged_in(app, mari)
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    path, _parent_id = parent_page(app, "mari@example.ee")
    assert edit(admin, path, "mari.liis@example.ee").status_code == 303


# One browser, two roles


def test_staff_who_opened_a_parents_link_is_told_who_is_logged_in_and_can_switch(app, mari):
    browser = app.test_client()
    log_in_staff(browser, School.teacher_5a)
    browser.post(mari)  # the parent's link, opened in the staff member's browser
    refused = browser.get("/kool/")
    assert refused.status_code == 403
    text = page_text(refused)
    assert "lapsevanemana Mari-Liis Mägi" in text and "Logi välja ja logi sisse kooli töötajana" in text
    switched = browser.post("/logi-valja", data={"next": "/kool/sisene"})
    assert switched.headers["Location"] == "/kool/sisene"
    log_in_staff(browser, School.teacher_5a)
    assert browser.get("/kool/").status_code == 200


def test_a_parent_on_a_staff_page_and_staff_on_a_parent_page_see_the_way_out(app, mari, school):
    staff = app.test_client()
    log_in_staff(staff, School.teacher_6b)
    refused = staff.get("/profiil/")
    assert refused.status_code == 403 and "Logi välja ja logi sisse lapsevanemana" in page_text(refused)
    class_page = parent_page(app, "mari@example.ee")[0].rsplit("/vanem/", 1)[0]
    other_class = staff.get(class_page)
    assert other_class.status_code == 403 and "Logi välja ja logi sisse kellegi teisena" in page_text(
        other_class
    )


def test_logout_goes_only_to_a_page_of_this_site(app, mari):
    parent = logged_in(app, mari)
    assert parent.post("/logi-valja", data={"next": "https://evil.example/"}).headers["Location"] == "/"


def test_staff_keep_the_language_of_the_login_page(app, school):
    staff = app.test_client()
    response = staff.post(
        "/kool/sisene",
        data={"email": School.admin, "password": "Kevadine-Kask-2026"},
        headers={"Accept-Language": "ru"},
    )
    assert response.status_code == 303
    # The next page, with no language cookie and no browser hint: the language chosen at login.
    assert "Заявления" in staff.get("/kool/").get_data(as_text=True)
