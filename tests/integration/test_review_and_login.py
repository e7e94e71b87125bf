"""The school reviews; the parent logs in from the e-mail, sets a password, logs out and in again."""

import re
import threading
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
from webapp.models import Application, Parent

GOOD_PASSWORD = "Kolm sinist jõehobu!"


@pytest.fixture
def applied(app, client, school):
    """Mari-Liis Mägi applied for Jüri (5A); Tiina, 5A's teacher, is logged in."""
    application_id = submit_application(app, client, school.child_5a)
    staff = app.test_client()
    log_in_staff(staff, School.teacher_5a)
    return application_id, staff


def approve(staff, application_id, **headers):
    return staff.post(f"/kool/taotlus/{application_id}/kinnita", headers=headers)


def test_queue_is_oldest_first_with_age_and_overdue_mark(app, client, school):
    with time_machine.travel("2026-12-18 08:00:00+00:00", tick=False):  # a Friday
        old = submit_application(app, client, school.child_5a, email="old@example.ee")
    with time_machine.travel("2026-12-28 08:00:00+00:00", tick=False):  # Monday after Christmas
        new = submit_application(app, app.test_client(), school.child_5a, email="new@example.ee")
        staff = app.test_client()
        log_in_staff(staff, School.admin)
        html = staff.get("/kool/").get_data(as_text=True)
        text = page_text(staff.get("/kool/"))
    assert html.index(f"/kool/taotlus/{old}") < html.index(f"/kool/taotlus/{new}")
    # 21, 22, 23 and 28 Dec are working days; 24, 25, 26 are holidays: 4 working days, overdue.
    assert "4 tööpäeva" in text and "tähtaeg ületatud" in text
    assert "0 tööpäeva" in text


def test_detail_shows_the_roster_check(app, applied, school):
    application_id, staff = applied
    text = page_text(staff.get(f"/kool/taotlus/{application_id}"))
    assert "Laps on nimekirjas: Juri Magi, klass 5A." in text
    assert "Lapse nimi klapib nimekirjaga." in text  # Jüri Mägi = Juri Magi
    other = submit_application(app, app.test_client(), school.child_5a, child_first_name="Peeter")
    assert "Lapse nimi ei klapi nimekirjaga" in page_text(staff.get(f"/kool/taotlus/{other}"))


def test_approve_by_htmx_records_who_and_when_and_emails_a_login_link(app, applied):
    application_id, staff = applied
    response = approve(staff, application_id, **{"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="decision"') and "Kinnitatud" in fragment
    assert "Tiina Õpetaja" in fragment
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "approved" and application.decided_by.email == School.teacher_5a
        assert abs(application.decided_at - utcnow()) < timedelta(minutes=1)
        parent = db.session.scalar(sa.select(Parent))
        assert parent.email == "mari@example.ee" and [c.first_name for c in parent.children] == ["Juri"]
    approval = outbox_messages(app)[-1]
    assert approval.subject == "Sinu konto on valmis – Testkool"
    assert "/sisene/" in approval.text_body


def test_approval_email_is_in_the_parents_language(app, school):
    client = app.test_client()
    client.set_cookie("lang", "ru")
    application_id = submit_application(app, client, school.child_6b, email="olga@example.ee")
    staff = app.test_client()
    log_in_staff(staff, School.teacher_6b)
    approve(staff, application_id)
    assert outbox_messages(app)[-1].subject == "Ваш аккаунт готов – Testkool"


def test_approve_without_script_redirects_back(applied):
    application_id, staff = applied
    response = approve(staff, application_id)
    assert response.status_code == 303 and response.headers["Location"] == f"/kool/taotlus/{application_id}"


def test_approve_twice_gives_one_account_and_one_email(app, applied):
    application_id, staff = applied
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    assert approve(staff, application_id).status_code == 303
    second = approve(admin, application_id)
    assert second.status_code == 409
    assert "Selle taotluse kohta on otsus juba tehtud." in page_text(second)
    assert sum("/sisene/" in m.text_body for m in outbox_messages(app)) == 1


def test_a_second_child_joins_the_existing_account(app, client, applied, school):
    application_id, staff = applied
    approve(staff, application_id)
    second = submit_application(app, app.test_client(), school.child_6b, child_first_name="Sofia")
    peeter = app.test_client()
    log_in_staff(peeter, School.teacher_6b)
    approve(peeter, second)
    with app.app_context():
        parents = db.session.scalars(sa.select(Parent)).all()
        assert len(parents) == 1 and {c.personal_code for c in parents[0].children} == {
            school.child_5a,
            school.child_6b,
        }


def test_child_outside_the_roster_cannot_be_approved(app, client, school):
    application_id = submit_application(app, client, school.child_outside)
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    assert "Seda isikukoodi pole kooli nimekirjas." in page_text(admin.get(f"/kool/taotlus/{application_id}"))
    response = approve(admin, application_id)
    assert response.status_code == 409 and "Last pole kooli nimekirjas" in page_text(response)
    with app.app_context():
        assert db.session.get(Application, application_id).status == "pending"


def test_teacher_cannot_approve_another_classs_child(app, applied):
    application_id, _tiina = applied
    peeter = app.test_client()
    log_in_staff(peeter, School.teacher_6b)
    response = approve(peeter, application_id)
    assert response.status_code == 403 and "Juurdepääs keelatud" in page_text(response)
    with app.app_context():
        assert db.session.get(Application, application_id).status == "pending"


def test_reject_needs_a_reason_and_sends_it(app, applied):
    application_id, staff = applied
    empty = staff.post(f"/kool/taotlus/{application_id}/keeldu", data={"reason": "  "})
    assert empty.status_code == 422 and "See väli on kohustuslik." in page_text(empty)
    huge = staff.post(f"/kool/taotlus/{application_id}/keeldu", data={"reason": "x" * 10_000})
    assert huge.status_code == 422 and "Palun kõige rohkem 1000 märki." in page_text(huge)
    done = staff.post(f"/kool/taotlus/{application_id}/keeldu", data={"reason": "Palun tulge kooli."})
    assert done.status_code == 303
    rejection = outbox_messages(app)[-1]
    assert rejection.subject == "Sinu taotlust ei kinnitatud – Testkool"
    assert "Palun tulge kooli." in rejection.text_body


def approved_parent_login_path(app, applied) -> str:
    application_id, staff = applied
    approve(staff, application_id)
    return last_link(app, "/sisene/")


def test_login_link_logs_in_without_password_and_get_never_consumes_it(app, applied):
    path = approved_parent_login_path(app, applied)
    parent = app.test_client()
    for _ in range(2):
        page = parent.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "data-auto-submit" not in html and "<script" not in page_text(page)
        assert "Mari-Liis Mägi (mari@example.ee)" in page_text(page)
        assert "Logi sisse kasutajana Mari-Liis Mägi" in page_text(page)
    response = parent.post(path)
    assert response.status_code == 303 and response.headers["Location"] == "/profiil/"
    profile = page_text(parent.get("/profiil/"))
    assert "Sinu profiil" in profile and "Juri Magi – klass 5A" in profile and "Muuda profiili" in profile


def test_used_link_offers_a_fresh_one_to_the_same_address(app, applied):
    path = approved_parent_login_path(app, applied)
    app.test_client().post(path)
    again = app.test_client().post(path)
    assert again.status_code == 410 and "Seda linki on juba kasutatud" in page_text(again)
    renewed = app.test_client().post(path + "/uus")
    assert renewed.headers["Location"] == "/link-saadetud"
    assert answer_link_requests(app) == 1
    fresh = last_link(app, "/sisene/")
    assert fresh != path and outbox_messages(app)[-1].recipient == "mari@example.ee"
    assert app.test_client().post(fresh).headers["Location"] == "/profiil/"


def test_expired_link_is_refused_after_seven_days(app, applied):
    path = approved_parent_login_path(app, applied)
    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1)):
        response = app.test_client().post(path)
        assert response.status_code == 410 and "See link on aegunud" in page_text(response)


@pytest.mark.parametrize("path", ["/sisene/forged-token", "/sisene/" + "A" * 43, "/sisene/" + "x" * 5000])
def test_forged_login_tokens(client, path):
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 404
        assert "Seda linki ei saa kasutada" in page_text(response)


def test_an_application_link_does_not_log_anyone_in(app, client, school):
    client.post("/taotlus/", data={"email": "mari@example.ee", "child_personal_code": school.child_5a})
    apply_token = last_link(app, "/taotlus/vorm/").rsplit("/", 1)[1]
    assert app.test_client().post(f"/sisene/{apply_token}").status_code == 404


def set_password(parent, password, repeat=None):
    return parent.post(
        "/profiil/muuda", data={"new_password": password, "repeat_password": repeat or password}
    )


@pytest.fixture
def logged_in_parent(app, applied):
    path = approved_parent_login_path(app, applied)
    parent = app.test_client()
    parent.post(path)
    return parent


@pytest.mark.parametrize(
    ("password", "repeat", "message"),
    [
        ("Kolm sinist jõehobu!", "Kolm sinist jõehobu?", "Paroolid ei ole samad."),
        ("lühike", None, "Parool peab olema vähemalt 10 märki pikk."),
        ("x" * 10_000, None, "Parool võib olla kõige rohkem 128 märki pikk."),
        (" " * 12, None, "Parool ei saa koosneda ainult tühikutest."),
        ("password123", None, "Seda parooli on liiga lihtne ära arvata."),
        ("MARI-LIIS-jõehobu-7", None, "Parool ei tohi sisaldada sinu ees- ega perekonnanime (Mari)."),
        ("", None, "See väli on kohustuslik."),
    ],
)
def test_password_refusals_say_which_rule(logged_in_parent, password, repeat, message):
    response = set_password(logged_in_parent, password, repeat)
    assert response.status_code == 422
    assert message in page_text(response)


def test_every_refusal_is_shown_at_once_and_the_typed_passwords_stay(logged_in_parent):
    response = set_password(logged_in_parent, "mari123", "mari124")
    assert response.status_code == 422
    text, html = page_text(response), response.get_data(as_text=True)
    for message in [
        "Parool peab olema vähemalt 10 märki pikk.",
        "Seda parooli on liiga lihtne ära arvata.",
        "Parool ei tohi sisaldada sinu ees- ega perekonnanime (Mari).",
        "Paroolid ei ole samad.",
    ]:
        assert message in text
    # What the parent typed is still there (the page is no-store), and each error is tied to its field.
    assert re.search(r'<input[^>]*id="new_password"[^>]*value="mari123"', html)
    assert re.search(r'<input[^>]*id="repeat_password"[^>]*value="mari124"', html)
    assert re.search(
        r'<input[^>]*aria-describedby="[^"]*new_password-error[^"]*"[^>]*id="new_password"', html
    )
    assert re.search(
        r'<input[^>]*aria-describedby="[^"]*repeat_password-error[^"]*"[^>]*id="repeat_password"', html
    )
    # The strength shown agrees with the rules: never above "weak" while one fails.
    assert int(re.search(r'<meter[^>]*value="(\d)"', html).group(1)) <= 1


def test_without_script_the_rules_list_shows_after_saving(logged_in_parent):
    logged_in_parent.set_cookie("lang", "en")
    response = set_password(logged_in_parent, "Mari-Liis-Kevadine-77", "Mari-Liis-Kevadine-7")
    text = page_text(response)
    assert response.status_code == 422
    assert "✓ At least 10 characters – rule met" in text
    assert "✓ Not a common or simple password – rule met" in text
    assert "✗ Does not contain your first or last name – rule not met" in text
    assert "✗ The two passwords match – rule not met" in text
    assert "Strength: weak" in text and "strong" not in text  # zxcvbn alone says "very strong"


def test_a_failed_save_never_echoes_the_current_password(app, logged_in_parent):
    """The new passwords are kept after a failed save; the current one is not (it is asked for again)."""
    set_password(logged_in_parent, GOOD_PASSWORD)
    with time_machine.travel(utcnow() + app.config["LINK_LOGIN_GRACE"] + timedelta(minutes=1)):
        response = logged_in_parent.post(
            "/profiil/muuda",
            data={"current_password": GOOD_PASSWORD, "new_password": "lühike", "repeat_password": "lühike"},
        )
        html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Parool peab olema vähemalt 10 märki pikk." in page_text(response)
    assert GOOD_PASSWORD not in html and re.search(r'<input[^>]*id="current_password"[^>]*value=""', html)
    assert re.search(r'<input[^>]*id="new_password"[^>]*value="lühike"', html)


@pytest.mark.parametrize("password", ["Жёлтый трамвай в Нарве", "🦊 jõehobu 🚲 Tõrva 🎻"])
def test_cyrillic_and_emoji_passwords_can_be_set_and_used(app, logged_in_parent, password):
    assert set_password(logged_in_parent, password).status_code == 303
    other = app.test_client()
    assert (
        other.post("/logi-sisse", data={"email": "mari@example.ee", "password": password}).status_code == 303
    )


def test_saving_a_password_tells_the_parent_by_email(app, logged_in_parent):
    assert set_password(logged_in_parent, GOOD_PASSWORD).status_code == 303
    assert "Sinu parool on salvestatud." in page_text(logged_in_parent.get("/profiil/"))
    notice = outbox_messages(app)[-1]
    assert notice.subject == "Sinu parool muudeti – Testkool" and notice.recipient == "mari@example.ee"


def last_link_after_renew(app, used_path):
    app.test_client().post(used_path + "/uus")
    answer_link_requests(app)
    return last_link(app, "/sisene/")


def test_other_session_is_logged_out_after_password_change(app, applied):
    path = approved_parent_login_path(app, applied)
    first = app.test_client()
    first.post(path)
    second = app.test_client()
    second.post(last_link_after_renew(app, path))
    assert second.get("/profiil/").status_code == 200
    set_password(first, GOOD_PASSWORD)
    assert second.get("/profiil/").status_code == 302  # back to the login page
    assert first.get("/profiil/").status_code == 200


def test_password_login_and_logout(app, logged_in_parent):
    set_password(logged_in_parent, GOOD_PASSWORD)
    assert logged_in_parent.post("/logi-valja").headers["Location"] == "/"
    assert logged_in_parent.get("/profiil/").status_code == 302
    wrong = logged_in_parent.post(
        "/logi-sisse", data={"email": "mari@example.ee", "password": "vale parool 123"}
    )
    assert wrong.status_code == 422 and "E-posti aadress või parool on vale." in page_text(wrong)
    unknown = logged_in_parent.post(
        "/logi-sisse", data={"email": "nobody@example.ee", "password": GOOD_PASSWORD}
    )
    assert page_text(unknown) == page_text(wrong).replace("mari@example.ee", "nobody@example.ee")
    ok = logged_in_parent.post("/logi-sisse", data={"email": "MARI@example.ee", "password": GOOD_PASSWORD})
    assert ok.status_code == 303 and logged_in_parent.get("/profiil/").status_code == 200


def test_send_me_a_login_link_answers_the_same_for_any_address(app, applied):
    approved_parent_login_path(app, applied)
    before = len(outbox_messages(app))
    client = app.test_client()
    known = client.post("/saada-link", data={"email": "mari@example.ee"})
    unknown = client.post("/saada-link", data={"email": "nobody@example.ee"})
    assert known.headers["Location"] == unknown.headers["Location"] == "/link-saadetud"
    assert outbox_messages(app)[before:] == []  # the request only records the address
    assert answer_link_requests(app) == 2
    assert [m.recipient for m in outbox_messages(app)[before:]] == ["mari@example.ee"]


def strength_fragment(parent, password, repeat=""):
    response = parent.post(
        "/profiil/parool/tugevus",
        data={"new_password": password, "repeat_password": repeat},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div class="strength"')
    return html


def rule_states(html) -> list[tuple[str, str]]:
    return re.findall(r'<li class="rule rule--(met|unmet)" data-rule="([a-z-]+)"', html)


def test_strength_meter_fragment_shows_every_rule_as_one_types(logged_in_parent):
    html = strength_fragment(logged_in_parent, "mari-liis-123", "mari")
    assert "Tugevus:" in html
    assert rule_states(html) == [
        ("met", "length"),
        ("unmet", "not-common"),
        ("unmet", "not-name"),
        ("unmet", "match"),
    ]
    matching = strength_fragment(logged_in_parent, GOOD_PASSWORD, GOOD_PASSWORD)
    assert {state for state, _rule in rule_states(matching)} == {"met"}
    assert re.search(r'data-summary="[^"]+"', matching)


@pytest.mark.parametrize(
    ("password", "repeat"),
    [
        ("Mari-Liis-Kevadine-77", "Mari-Liis-Kevadine-77"),
        (GOOD_PASSWORD, GOOD_PASSWORD + "?"),
        (GOOD_PASSWORD, ""),
    ],
)
def test_the_meter_never_looks_good_while_a_rule_fails(logged_in_parent, password, repeat):
    html = strength_fragment(logged_in_parent, password, repeat)
    assert 'value="1"' in re.search(r"<meter[^>]*>", html).group(0)
    assert "Tugevus: nõrk" in " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_login_is_rate_limited_per_account_not_per_network(make_app, school):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_PER_ACCOUNT_LIMIT="3 per minute")
    client = app.test_client()
    guess = {"email": "a@example.ee", "password": "x" * 12}
    codes = [client.post("/logi-sisse", data=guess).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    # The guesser gets no more tries from another network; another parent on the same Wi-Fi can log in.
    elsewhere = app.test_client().post("/logi-sisse", data=guess, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert elsewhere.status_code == 429
    assert client.post("/logi-sisse", data={**guess, "email": "b@example.ee"}).status_code == 422


def test_login_per_client_limit_stops_a_flood(make_app, school):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_PER_CLIENT_LIMIT="3 per minute")
    client = app.test_client()
    codes = [
        client.post("/logi-sisse", data={"email": f"p{i}@example.ee", "password": "x" * 12}).status_code
        for i in range(4)
    ]
    assert codes == [422, 422, 422, 429]


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "PASSWORD_CHECK_PER_ACCOUNT_LIMIT": "2 per minute"}]
)
def test_password_check_is_rate_limited(logged_in_parent):
    codes = [
        logged_in_parent.post("/profiil/parool/tugevus", data={"new_password": "abc"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_login_link_requests_are_rate_limited_per_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LINK_REQUEST_PER_ADDRESS_LIMIT="2 per hour")
    codes = [
        app.test_client()
        .post("/saada-link", data={"email": "p@example.ee"}, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        .status_code
        for i in range(3)
    ]
    assert codes == [303, 303, 429]
    assert app.test_client().post("/saada-link", data={"email": "q@example.ee"}).status_code == 303


def test_approve_twice_at_the_same_moment_gives_one_decision(app, applied):
    """Two staff press Approve together: one wins, the other is told it was decided."""
    application_id, teacher = applied
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    both_ready = threading.Barrier(2)
    statuses = []

    def press(client) -> None:
        both_ready.wait()
        statuses.append(approve(client, application_id).status_code)

    threads = [threading.Thread(target=press, args=(client,)) for client in (teacher, admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [303, 409]
    assert sum("/sisene/" in m.text_body for m in outbox_messages(app)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Parent.id))) == 1
