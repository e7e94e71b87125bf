"""Demo mode (APP_ENV=demo): never a school's database, limits per participant, the trainer's page,
presets through the dev mailbox's rules, and reset in one step."""

import re

import pytest
import sqlalchemy as sa

from tests.conftest import APPLICATION_FORM, link_path, outbox_messages, page_text
from webapp import create_app, demo
from webapp.doctor import UnsafeConfiguration
from webapp.extensions import db
from webapp.models import Application, LinkRequest, OutboxMessage, Parent, Staff, Student, WebSession
from webapp.staff.accounts import create_staff

TOKEN = "demo-token-0123456789abcdef"
TRAINER, PASSWORD = demo.TRAINER[0], demo.DEMO_PASSWORD


@pytest.fixture
def demo_app(make_app):
    app = make_app(
        ENV_NAME="demo",
        DEV_MAILBOX_TOKEN=TOKEN,
        DEV_MAILBOX_URL="http://mailbox.test",
        DEV_MAILBOX_API_URL="http://127.0.0.1:9",  # nobody listens: a test that needs it brings its own
    )
    with app.app_context():
        demo.seed()
        db.session.commit()
    return app


def log_in_trainer(client) -> None:
    response = client.post("/kool/sisene", data={"email": TRAINER, "password": PASSWORD})
    assert response.status_code == 303 and response.location.endswith("/koolitus/")


def apply(app, client, email: str, child_code: str) -> None:
    """Step 1 and the application, as a participant does."""
    response = client.post("/taotlus/", data={"email": email, "child_personal_code": child_code})
    assert response.status_code == 303
    path = link_path([m for m in outbox_messages(app) if m.recipient == email][-1].text_body)
    assert client.post(path, data=APPLICATION_FORM).status_code == 303


def csrf_token(client) -> str:
    """Opening the form, as a browser does: the phone's session starts, with its CSRF token."""
    page = client.get("/taotlus/").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def child_codes(app) -> list[str]:
    with app.app_context():
        return [child.personal_code for child in demo.demo_children()]


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://portal@db.kool.ee/portal", "postgresql+psycopg://portal@10.0.0.5:5432/portal"],
)
def test_demo_refuses_a_database_on_another_machine(monkeypatch, url):
    monkeypatch.setenv("APP_ENV", "demo")
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app()
    assert "The demo will not start" in refused.value.format_message()


def test_demo_is_not_production_and_has_its_own_database_file(monkeypatch):
    monkeypatch.setenv("APP_ENV", "demo")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/demo.sqlite3")
    assert app.config["IDENTITY_DEMO"] is True
    assert "training" in app.blueprints


def test_a_database_with_a_schools_staff_is_never_used_or_reset(demo_app):
    runner = demo_app.test_cli_runner()
    with demo_app.app_context():
        create_staff("direktor@kool.ee", "Mari", "Kask", "admin", PASSWORD)
        db.session.commit()
    for command in (["demo", "reset"], ["seed", "demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code != 0 and "not a demo database" in result.output, command
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Staff.id))) == 5


def test_demo_reset_runs_only_in_demo_mode(app):
    result = app.test_cli_runner().invoke(args=["demo", "reset"])
    assert result.exit_code != 0 and "only with APP_ENV=demo" in result.output


def test_the_trainers_page_exists_in_demo_mode_only(app, demo_app):
    assert app.test_client().get("/koolitus/").status_code == 404
    client = demo_app.test_client()
    client.post("/kool/sisene", data={"email": "admin@kool.example", "password": PASSWORD})
    assert client.get("/koolitus/").status_code == 403
    log_in_trainer(client)
    page = page_text(client.get("/koolitus/"))
    for code in child_codes(demo_app):
        assert code in page


def test_limits_count_per_participant_in_demo_mode_and_the_address_cap_stays(make_app):
    # CSRF on, as in a browser: opening the form starts the phone's session.
    limits = {"RATELIMIT_ENABLED": True, "APPLY_PER_CLIENT_LIMIT": "2 per hour", "WTF_CSRF_ENABLED": True}
    app = make_app(ENV_NAME="demo", **limits)
    with app.app_context():
        demo.seed()
        db.session.commit()
    code = child_codes(app)[0]
    room = [app.test_client() for _ in range(3)]  # one Wi-Fi address, three phones
    for number, phone in enumerate(room):
        token = csrf_token(phone)
        for attempt in range(2):
            data = {
                "email": f"p{number}.{attempt}@demo.kool",
                "child_personal_code": code,
                "csrf_token": token,
            }
            assert phone.post("/taotlus/", data=data).status_code == 303, (number, attempt)
    # One phone alone still meets the limit (its first post may count under the id it had before its
    # session was stored: at most twice the limit).
    statuses = []
    for attempt in range(4):
        data = {
            "email": f"x{attempt}@demo.kool",
            "child_personal_code": code,
            "csrf_token": csrf_token(room[0]),
        }
        statuses.append(room[0].post("/taotlus/", data=data).status_code)
    assert 429 in statuses
    # The cap per address stays: the same address from every phone gets LINKS_PER_ADDRESS_PER_HOUR e-mails.
    shared = "same@demo.kool"
    for phone in [app.test_client() for _ in range(5)]:
        data = {"email": shared, "child_personal_code": code, "csrf_token": csrf_token(phone)}
        assert phone.post("/taotlus/", data=data).status_code == 303
    assert (
        len([m for m in outbox_messages(app) if m.recipient == shared])
        == app.config["LINKS_PER_ADDRESS_PER_HOUR"]
    )


def test_outside_demo_mode_the_room_shares_one_count(make_app, child_code):
    app = make_app(RATELIMIT_ENABLED=True, APPLY_PER_CLIENT_LIMIT="2 per hour")
    statuses = []
    for number in range(3):
        phone = app.test_client()
        phone.get("/taotlus/")
        data = {"email": f"p{number}@example.ee", "child_personal_code": child_code, "keep_email": "x"}
        statuses.append(phone.post("/taotlus/", data=data).status_code)
    assert statuses == [303, 303, 429]


def test_step_one_offers_an_invented_address_and_check_your_mail_the_own_mailbox(demo_app):
    client = demo_app.test_client()
    form = client.get("/taotlus/").get_data(as_text=True)
    offered = re.search(r'name="email"[^>]*value="([^"]+)"', form).group(1)
    assert re.fullmatch(r"[a-z]+\.[a-z2-9]{4}@demo\.kool", offered)
    client.post("/taotlus/", data={"email": offered, "child_personal_code": child_codes(demo_app)[0]})
    page = client.get("/taotlus/saadetud").get_data(as_text=True)
    link = re.search(r'href="(http://mailbox\.test/minu/[^"]+)"', page).group(1)
    from dev_mailbox.access import recipient_from

    assert recipient_from(TOKEN, link.split("/minu/")[1].split("/")[0]) == offered


def test_outside_demo_mode_nothing_of_it_shows(app, client, child_code):
    assert 'value=""' in re.search(
        r"<input[^>]*name=\"email\"[^>]*>", client.get("/taotlus/").get_data(as_text=True)
    ).group(0)
    client.post(
        "/taotlus/",
        data={"email": "mari@example.ee", "child_personal_code": child_code, "keep_email": "mari@example.ee"},
    )
    assert "/minu/" not in client.get("/taotlus/saadetud").get_data(as_text=True)


def test_the_trainer_sees_progress_and_approves_with_the_staff_approval(demo_app):
    trainer = demo_app.test_client()
    log_in_trainer(trainer)
    code = child_codes(demo_app)[0]
    mari, jaan = demo_app.test_client(), demo_app.test_client()
    apply(demo_app, mari, "mari.aaaa@demo.kool", code)
    jaan.post("/taotlus/", data={"email": "jaan.bbbb@demo.kool", "child_personal_code": code})

    page = trainer.get("/koolitus/").get_data(as_text=True)
    assert "mari.aaaa@demo.kool" in page and "jaan.bbbb@demo.kool" in page
    assert page.count("step step--done") == 1  # Mari applied; nothing else is done yet
    with demo_app.app_context():
        application_id = db.session.scalar(
            sa.select(Application.id).where(Application.email == "mari.aaaa@demo.kool")
        )
    response = trainer.post(f"/koolitus/taotlus/{application_id}/kinnita")
    assert response.status_code == 303
    with demo_app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "approved" and application.decided_by.email == TRAINER
        assert db.session.scalar(sa.select(Parent).where(Parent.email == "mari.aaaa@demo.kool")) is not None
    assert (
        "login" in outbox_messages(demo_app)[-1].text_body.lower()
        or "/sisene/" in outbox_messages(demo_app)[-1].text_body
    )
    assert page_text(trainer.get("/koolitus/")).count("✓") == 2
    # The seeded application is not a participant's: the trainer's page does not decide it.
    with demo_app.app_context():
        seeded = db.session.scalar(
            sa.select(Application.id).where(Application.email == "olga.ivanova@example.ee")
        )
    assert trainer.post(f"/koolitus/taotlus/{seeded}/kinnita").status_code == 404


def test_reset_empties_everything_and_keeps_the_trainer_logged_in(demo_app):
    trainer = demo_app.test_client()
    log_in_trainer(trainer)
    codes = child_codes(demo_app)
    mari = demo_app.test_client()
    apply(demo_app, mari, "mari.aaaa@demo.kool", codes[0])
    with demo_app.app_context():
        student = db.session.scalar(sa.select(Student).where(Student.personal_code == codes[0]))
        student.first_name = "Muudetud"
        db.session.commit()
        before = {
            "students": db.session.scalar(sa.select(sa.func.count(Student.id))),
            "staff": db.session.scalar(sa.select(sa.func.count(Staff.id))),
        }

    response = trainer.post("/koolitus/algusesse")
    assert response.status_code == 303
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(LinkRequest.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
        applications = db.session.scalars(sa.select(Application.email)).all()
        assert applications == ["olga.ivanova@example.ee"]  # the seed's waiting one, as at the start
        assert db.session.scalar(sa.select(sa.func.count(Student.id))) == before["students"]
        assert db.session.scalar(sa.select(sa.func.count(Staff.id))) == before["staff"]
        assert "Muudetud" not in db.session.scalars(sa.select(Student.first_name)).all()
        accounts = db.session.scalars(sa.select(WebSession.account)).all()
        assert all(account and account.startswith("staff:") for account in accounts)
    # The trainer is still logged in; the participant's session is gone.
    assert trainer.get("/koolitus/").status_code == 200
    assert "mari.aaaa@demo.kool" not in trainer.get("/koolitus/").get_data(as_text=True)
    assert "/minu/" not in mari.get("/taotlus/saadetud").get_data(as_text=True)


@pytest.fixture
def guarded_mailbox(tmp_path):
    from dev_mailbox.testing import MailboxHandle

    handle = MailboxHandle(tmp_path / "mailbox.sqlite3", access_token=TOKEN)
    handle.start()
    yield handle
    handle.stop()


@pytest.mark.smtp
def test_presets_are_the_mailboxs_own_rules_and_reset_empties_it(make_app, guarded_mailbox):
    app = make_app(
        ENV_NAME="demo",
        DEV_MAILBOX_TOKEN=TOKEN,
        DEV_MAILBOX_API_URL=guarded_mailbox.api_url,
        MAIL_PORT=guarded_mailbox.smtp_port,
    )
    with app.app_context():
        demo.seed()
        db.session.commit()
    trainer = app.test_client()
    log_in_trainer(trainer)
    for email in ("mari.aaaa@demo.kool", "jaan.bbbb@demo.kool"):
        app.test_client().post("/taotlus/", data={"email": email, "child_personal_code": child_codes(app)[0]})

    trainer.post("/koolitus/stsenaarium", data={"email": "mari.aaaa@demo.kool", "preset": "spam"})
    trainer.post("/koolitus/stsenaarium", data={"email": "jaan.bbbb@demo.kool", "preset": "late"})
    guarded_mailbox.add_rule("*@qa.example", "drop")  # somebody's own rule stays after a preset
    trainer.post("/koolitus/stsenaarium", data={"email": "jaan.bbbb@demo.kool", "preset": "refused"})
    rules = [rule.as_api() for rule in guarded_mailbox._store.rules]
    assert rules == [
        {"match": "jaan.bbbb@demo.kool", "action": "reject"},
        {"match": "mari.aaaa@demo.kool", "action": "spam", "times": 1},
        {"match": "*@qa.example", "action": "drop"},
    ]
    page = page_text(trainer.get("/koolitus/"))
    assert "Scenario" in page or "Stsenaarium" in page
    assert (
        trainer.post(
            "/koolitus/stsenaarium", data={"email": "nobody@demo.kool", "preset": "spam"}
        ).status_code
        == 404
    )
    assert (
        trainer.post(
            "/koolitus/stsenaarium", data={"email": "mari.aaaa@demo.kool", "preset": "x"}
        ).status_code
        == 400
    )

    # The e-mails go out: Mari's next one lands in spam.
    from webapp.sender import work_once

    with app.app_context():
        work_once()
    assert guarded_mailbox.wait_for(to="mari.aaaa@demo.kool").folder == "spam"

    trainer.post("/koolitus/stsenaariumid/tuhjenda")
    assert guarded_mailbox._store.rules == []
    guarded_mailbox.add_rule("*", "spam")
    trainer.post("/koolitus/algusesse")
    assert guarded_mailbox.messages() == [] and guarded_mailbox.log() == []
    assert guarded_mailbox._store.rules == []

    # The same from the command line.
    app.test_client().post(
        "/taotlus/", data={"email": "kati@demo.kool", "child_personal_code": child_codes(app)[0]}
    )
    with app.app_context():
        work_once()
    guarded_mailbox.wait_for(to="kati@demo.kool")
    guarded_mailbox.add_rule("*", "drop")
    result = app.test_cli_runner().invoke(args=["demo", "reset"])
    assert result.exit_code == 0, result.output
    assert guarded_mailbox.messages() == [] and guarded_mailbox._store.rules == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(LinkRequest.id))) == 0
