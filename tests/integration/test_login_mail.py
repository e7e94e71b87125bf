"""From the approval e-mail to a password login, with a real SMTP server (the dev mailbox)."""

import pytest

from tests.conftest import School, log_in_staff, page_text, submit_application
from webapp.outbox import deliver_due

pytestmark = pytest.mark.smtp


@pytest.fixture
def app_config(mailbox):
    return {"MAIL_PORT": mailbox.smtp_port}


def deliver(app) -> None:
    with app.app_context():
        deliver_due()


def test_from_the_approval_email_to_a_password_login(app, mailbox, school):
    parent = app.test_client()
    parent.set_cookie("lang", "ru")
    application_id = submit_application(app, parent, school.child_6b, email="olga@example.ee")
    staff = app.test_client()
    log_in_staff(staff, School.teacher_6b)
    assert staff.post(f"/kool/taotlus/{application_id}/kinnita").status_code == 303
    deliver(app)

    approval = mailbox.wait_for(to="olga@example.ee", subject="Ваш аккаунт готов")
    assert "Пароль не нужен" in approval.text
    [link] = [link for link in approval.links if "/sisene/" in link]
    path = link.removeprefix("http://portal.test")
    assert parent.post(path).headers["Location"] == "/profiil/"
    assert "Ваш профиль" in page_text(parent.get("/profiil/"))

    password = "Жёлтый трамвай в Нарве"
    saved = parent.post("/profiil/muuda", data={"new_password": password, "repeat_password": password})
    assert saved.status_code == 303
    deliver(app)
    assert mailbox.wait_for(to="olga@example.ee", subject="Ваш пароль изменён").text

    assert parent.post("/logi-valja").status_code == 303
    again = app.test_client()
    assert (
        again.post("/logi-sisse", data={"email": "olga@example.ee", "password": password}).status_code == 303
    )
    assert "Sofia Smirnova" in page_text(again.get("/profiil/"))
