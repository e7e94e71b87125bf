"""Each delivery scenario end to end against the real dev mailbox over SMTP: what the parent, the
staff and the mailbox's log show; retries; a bounce corrected by the class teacher."""

import json
import urllib.request

import pytest
import sqlalchemy as sa

from tests.conftest import School, link_path, log_in_staff, outbox_messages, page_text, submit_application
from webapp.extensions import db
from webapp.models import Change, OutboxMessage, Parent
from webapp.outbox import deliver_due

pytestmark = pytest.mark.smtp
ADDRESS = "mari@example.ee"


@pytest.fixture
def app_config(mailbox):
    return {"MAIL_PORT": mailbox.smtp_port, "MAIL_TIMEOUT": 5.0}


def deliver(app) -> None:
    with app.app_context():
        deliver_due()


def step_one(app, client, code, email=ADDRESS):
    response = client.post(
        "/taotlus/", data={"email": email, "child_personal_code": code, "keep_email": email}
    )
    assert response.headers["Location"] == "/taotlus/saadetud"  # the parent sees the same, always
    return page_text(client.get("/taotlus/saadetud"))


def put_rules(mailbox, rules: list[dict]) -> None:
    request = urllib.request.Request(
        mailbox.api_url + "/api/v1/rules",
        data=json.dumps(rules).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own mailbox
        assert response.status == 200


def teacher_queue(app) -> str:
    teacher = app.test_client()
    log_in_staff(teacher, School.teacher_5a)
    return page_text(teacher.get("/kool/"))


@pytest.mark.parametrize(
    ("action", "seconds", "status", "stored_in", "logged", "staff_sees_bounce"),
    [
        ("deliver", None, "sent", "inbox", "delivered", False),
        ("spam", None, "sent", "spam", "spam", False),
        ("drop", None, "sent", None, "dropped", False),
        ("delay", 1, "sent", "inbox", "delayed", False),
        ("reject", None, "undeliverable", None, "rejected", True),
        ("tempfail", None, "pending", None, "tempfailed", False),
        ("disconnect", None, "pending", None, "disconnected", False),
    ],
)
def test_scenario(
    app, client, mailbox, school, action, seconds, status, stored_in, logged, staff_sees_bounce
):
    mailbox.add_rule(ADDRESS, action, seconds=seconds)
    assert "Kontrolli oma e-posti" in step_one(app, client, school.child_5a)
    deliver(app)

    [message] = outbox_messages(app)
    assert message.status == status
    assert [m.folder for m in mailbox.messages(to=ADDRESS)] == ([stored_in] if stored_in else [])
    assert [(entry.action, entry.recipient) for entry in mailbox.log()] == [(logged, ADDRESS)]
    if action == "reject":
        assert message.last_error.startswith("550")
    if action == "tempfail":
        assert message.last_error.startswith("451")
    if action == "disconnect":
        assert "Disconnected" in message.last_error
    assert ("E-kirjad, mida ei õnnestunud kohale toimetada" in teacher_queue(app)) is staff_sees_bounce


def test_451_three_times_then_accepted_is_delivered_once(app, client, mailbox, school):
    mailbox.add_rule(ADDRESS, "tempfail")
    step_one(app, client, school.child_5a)
    for _ in range(3):
        deliver(app)  # the retry base is 0 s in tests: each retry is due at once
    [message] = outbox_messages(app)
    assert (message.status, message.attempts) == ("pending", 3)
    put_rules(mailbox, [])  # the server recovers
    deliver(app)
    deliver(app)
    [message] = outbox_messages(app)
    assert (message.status, message.attempts) == ("sent", 4)
    assert len(mailbox.messages(to=ADDRESS)) == 1
    assert [entry.action for entry in mailbox.log()] == ["tempfailed"] * 3 + ["delivered"]


def test_550_is_shown_to_the_class_teacher_who_corrects_it(app, client, mailbox, school):
    mailbox.add_rule("*@gmial.com", "reject")
    step_one(app, client, school.child_5a, email="mari@gmial.com")
    deliver(app)
    [bounced] = outbox_messages(app)
    old_link = link_path(bounced.text_body)

    teacher = app.test_client()
    log_in_staff(teacher, School.teacher_5a)
    queue = page_text(teacher.get("/kool/"))
    assert "mari@gmial.com" in queue and "550" in queue and "Juri Magi, klass 5A" in queue
    other_teacher = app.test_client()
    log_in_staff(other_teacher, School.teacher_6b)
    assert "mari@gmial.com" not in page_text(other_teacher.get("/kool/"))
    assert (
        other_teacher.post(f"/kool/tagasiporge/{bounced.id}", data={"email": "x@example.ee"}).status_code
        == 404
    )

    bad = teacher.post(f"/kool/tagasiporge/{bounced.id}", data={"email": "not an address"})
    assert bad.status_code == 422 and "See pole korrektne e-posti aadress." in page_text(bad)
    fixed = teacher.post(f"/kool/tagasiporge/{bounced.id}", data={"email": "mari@gmail.com"})
    assert fixed.status_code == 303
    assert "Uus link saadeti aadressile mari@gmail.com." in page_text(teacher.get("/kool/"))
    assert "mari@gmial.com" not in page_text(teacher.get("/kool/"))  # dealt with

    deliver(app)
    arrived = mailbox.wait_for(to="mari@gmail.com")
    new_link = [link for link in arrived.links if "/taotlus/vorm/" in link][0]
    assert app.test_client().get(old_link).status_code == 410  # the old link died
    form = app.test_client().get(link_path(new_link))
    assert form.status_code == 200 and "mari@gmail.com" in form.get_data(as_text=True)
    with app.app_context():
        change = db.session.scalar(sa.select(Change))
        assert (change.field, change.old_value, change.new_value) == (
            "application_email",
            "mari@gmial.com",
            "mari@gmail.com",
        )
        assert change.staff.email == School.teacher_5a and change.changed_at is not None


def test_bounced_approval_is_flagged_and_the_teacher_fixes_the_parents_email(app, mailbox, school):
    application_id = submit_application(app, app.test_client(), school.child_5a, email="mari@hotmial.com")
    deliver(app)  # the application link itself was delivered
    mailbox.add_rule("mari@hotmial.com", "reject")
    teacher = app.test_client()
    log_in_staff(teacher, School.teacher_5a)
    teacher.post(f"/kool/taotlus/{application_id}/kinnita")
    deliver(app)
    assert outbox_messages(app)[-1].status == "undeliverable"

    detail = page_text(teacher.get(f"/kool/taotlus/{application_id}"))
    assert "e-kiri põrkus tagasi" in detail and "550" in detail
    with app.app_context():
        parent_id = db.session.scalar(sa.select(Parent.id))
        class_id = db.session.scalar(sa.select(Parent).where(Parent.id == parent_id)).children[0].class_id
    class_page = page_text(teacher.get(f"/kool/klass/{class_id}"))
    assert "mari@hotmial.com" in class_page and "e-kiri põrkus tagasi" in class_page

    edit = f"/kool/klass/{class_id}/vanem/{parent_id}"
    form = {"first_name": "Mari-Liis", "last_name": "Mägi", "email": "mari@hotmail.com", "phone": ""}
    assert teacher.post(edit, data=form).status_code == 303
    assert "e-kiri põrkus tagasi" not in page_text(teacher.get(f"/kool/klass/{class_id}"))
    history = page_text(teacher.get(edit))
    assert "mari@hotmial.com → mari@hotmail.com" in history and "Tiina Õpetaja" in history

    deliver(app)
    login = mailbox.wait_for(to="mari@hotmail.com")
    [link] = [link for link in login.links if "/sisene/" in link]
    assert app.test_client().post(link_path(link)).headers["Location"] == "/profiil/"


def test_teacher_edits_only_their_own_classes(app, school):
    teacher_6b = app.test_client()
    log_in_staff(teacher_6b, School.teacher_6b)
    with app.app_context():
        from webapp.models import SchoolClass, Student

        class_5a = db.session.scalar(sa.select(SchoolClass).filter_by(name="5A"))
        student = db.session.scalar(sa.select(Student).filter_by(class_id=class_5a.id))
        class_id, student_id = class_5a.id, student.id
    edit = f"/kool/klass/{class_id}/opilane/{student_id}"
    assert teacher_6b.post(edit, data={"first_name": "X", "last_name": "Y"}).status_code == 403
    teacher_5a = app.test_client()
    log_in_staff(teacher_5a, School.teacher_5a)
    assert teacher_5a.post(edit, data={"first_name": "Jüri", "last_name": "Mägi"}).status_code == 303
    assert "Jüri Mägi" in page_text(teacher_5a.get(f"/kool/klass/{class_id}"))
    assert "Juri → Jüri" in page_text(teacher_5a.get(edit))
    assert teacher_5a.get(f"/kool/klass/{class_id}/opilane/99999").status_code == 404


def test_staff_cannot_give_one_address_to_two_parents(app, school):
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    for code, email in [(school.child_5a, "mari@example.ee"), (school.child_6b, "olga@example.ee")]:
        admin.post(f"/kool/taotlus/{submit_application(app, app.test_client(), code, email=email)}/kinnita")
    with app.app_context():
        olga = db.session.scalar(sa.select(Parent).filter_by(email="olga@example.ee"))
        path = f"/kool/klass/{olga.children[0].class_id}/vanem/{olga.id}"
    form = {"first_name": "Olga", "last_name": "Ivanova", "email": "mari@example.ee"}
    response = admin.post(path, data=form)
    assert response.status_code == 422 and "Teine konto kasutab juba seda e-posti aadressi." in page_text(
        response
    )
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.recipient == "mari@example.ee")
            )
            == 3
        )  # the application link, the receipt and the approval


def test_a_relay_refusing_our_login_is_retried_not_a_bounce(make_app, mailbox, school):
    """535 at AUTH means our MAIL_PASSWORD is wrong: every e-mail of the round waits for the school's
    IT to fix it; none is shown to staff as a parent's undeliverable address."""
    mailbox.set_chaos(authentication=100)
    app = make_app(MAIL_PORT=mailbox.smtp_port, MAIL_TIMEOUT=5.0, MAIL_USERNAME="portal", MAIL_PASSWORD="x")
    client = app.test_client()
    step_one(app, client, school.child_5a)
    step_one(app, client, school.child_6b, email="olga@example.ee")
    deliver(app)
    assert [(m.status, m.attempts) for m in outbox_messages(app)] == [("pending", 1)] * 2
    assert all(m.last_error.startswith("535") for m in outbox_messages(app))
    assert mailbox.messages() == []
