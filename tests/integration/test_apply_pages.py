"""The application flow through the Flask client: every page, bad input, tokens, no enumeration."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from tests.conftest import link_path, outbox_messages, page_text
from webapp import isikukood
from webapp.extensions import db
from webapp.models import Application

APPLICATION = {
    "parent_first_name": "Mari-Liis",
    "parent_last_name": "Maasikas",
    "phone": "+372 5555 1234",
    "relation": "ema",
    "child_first_name": "Juku",
    "child_last_name": "Maasikas",
    "message": "Tere!",
    "consent": "y",
}


def start(client, email="mari@example.ee", code="", **headers):
    return client.post("/taotlus/", data={"email": email, "child_personal_code": code}, headers=headers)


def form_path(app, client, child_code, email="mari@example.ee"):
    assert start(client, email, child_code).status_code == 303
    return link_path(outbox_messages(app)[-1].text_body)


def test_the_way_from_the_login_page_to_the_step_one_form(client):
    home = client.get("/")
    assert home.status_code == 200
    assert "Loo uus konto" in page_text(home)
    assert 'href="/konto/uus"' in home.get_data(as_text=True)
    assert "Esita andmed ja taotle kontot" in page_text(client.get("/konto/uus"))
    choose = page_text(client.get("/konto/taotle"))
    assert "ID-kaart" in choose and "Smart-ID" in choose and "Lisainfo & abi" in choose
    help_text = page_text(client.get("/abi"))
    assert "Esita taotlus sisse logimata" in help_text
    assert "rämpsposti" in help_text and "2 tööpäeva" in help_text
    assert "it@testkool.example" in help_text and "klassijuhataja" in help_text
    form = page_text(client.get("/taotlus/"))
    assert "Edasi" in form and "Lapse isikukood" in form


def choose(client, lang: str, next_path: str = "/"):
    return client.post("/keel", data={"lang": lang, "next": next_path})


def test_language_switch_is_remembered_and_only_redirects_locally(client):
    response = choose(client, "ru", "/abi")
    assert response.status_code == 303 and response.headers["Location"] == "/abi"
    assert "Подать заявление без входа в систему" in page_text(client.get("/abi"))
    assert choose(client, "en", "//evil.example/x").headers["Location"] == "/"
    assert choose(client, "en", "https://evil.example/").headers["Location"] == "/"
    assert "Apply without logging in" in page_text(client.get("/abi"))
    choose(client, "xx")  # unknown language: the choice stays
    assert "Apply without logging in" in page_text(client.get("/abi"))


def test_a_get_cannot_change_the_language(client):
    """Any web page could make a visitor's browser fetch a URL: only a POST with the token counts."""
    assert client.get("/keel/ru?next=/abi").status_code == 404
    assert client.get("/keel?lang=ru").status_code == 405
    assert "Apply without logging in" not in page_text(client.get("/abi"))


def test_browser_language_is_used_until_a_choice_is_made(client):
    assert "Создать новый аккаунт" in page_text(client.get("/", headers={"Accept-Language": "ru,en;q=0.5"}))
    assert "Loo uus konto" in page_text(client.get("/", headers={"Accept-Language": "de"}))


def test_step_one_answers_the_same_whatever_was_entered_and_sends_one_email(app, client, child_code):
    other = isikukood.make(date.today() - timedelta(days=365 * 12), female=False, serial=400)
    first = start(client, "mari@example.ee", child_code)
    second = start(client, "someone.else@example.com", other)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] == "/taotlus/saadetud"
    page = page_text(client.get("/taotlus/saadetud"))
    assert "Kontrolli oma e-posti" in page and "rämpsposti" in page
    assert [m.recipient for m in outbox_messages(app)] == ["mari@example.ee", "someone.else@example.com"]


def test_email_is_in_the_parents_language_with_a_link_built_from_base_url(app, client, child_code):
    start(client, "mari@example.ee", child_code, Host="attacker.example", **{"Accept-Language": "ru"})
    message = outbox_messages(app)[0]
    assert message.subject == "Ссылка на форму заявления – Testkool"
    assert "Откройте форму заявления" in message.text_body
    assert "http://portal.test/taotlus/vorm/" in message.text_body
    assert "attacker.example" not in message.text_body + message.html_body
    assert link_path(message.text_body) in message.html_body


def test_the_whole_flow_to_valmis(app, client, child_code):
    path = form_path(app, client, child_code)
    form = client.get(path)
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert 'value="mari@example.ee" readonly' in html and f'value="{child_code}" readonly' in html
    response = client.post(path, data=APPLICATION)
    assert response.status_code == 303 and response.headers["Location"] == "/taotlus/valmis"
    done = page_text(client.get("/taotlus/valmis"))
    assert "VALMIS!" in done and "Kooli vastuse tähtaeg on" in done
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        assert (application.email, application.child_personal_code) == ("mari@example.ee", child_code)
        assert application.parent_first_name == "Mari-Liis" and application.relation == "ema"
        assert application.consent_given_at is not None and application.status == "pending"


def test_valmis_names_the_date_two_working_days_later_in_tallinn_time(app, client, child_code):
    # 23:30 UTC on Tuesday 22 Dec is already Wednesday 23 Dec in Tallinn; Christmas follows.
    with time_machine.travel("2026-12-22 23:30:00+00:00", tick=False):
        client.post(form_path(app, client, child_code), data=APPLICATION)
        assert "teisipäev, 29. detsember 2026" in page_text(client.get("/taotlus/valmis"))


def test_get_never_uses_the_link(app, client, child_code):
    path = form_path(app, client, child_code)
    for _ in range(3):
        assert client.get(path).status_code == 200
    assert client.post(path, data=APPLICATION).status_code == 303


def test_double_submit_makes_one_application_and_shows_valmis_again(app, client, child_code):
    path = form_path(app, client, child_code)
    client.post(path, data=APPLICATION)
    again = client.post(path, data=APPLICATION)
    assert again.status_code == 303 and again.headers["Location"] == "/taotlus/valmis"
    fresh_browser = app.test_client()
    assert fresh_browser.post(path, data=APPLICATION).headers["Location"] == "/taotlus/valmis"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 1


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-5], lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "x" * 5000]
)
def test_tampered_or_truncated_link(app, client, child_code, mangle):
    path = form_path(app, client, child_code)
    token = path.rsplit("/", 1)[1]
    for method in (client.get, client.post):
        response = method(f"/taotlus/vorm/{mangle(token)}", data=APPLICATION)
        assert response.status_code == 404
        assert "Seda linki ei saa kasutada" in page_text(response)
        assert "Alusta uuesti" in page_text(response)


def test_expired_link_offers_to_start_again(app, client, child_code):
    path = form_path(app, client, child_code)
    with time_machine.travel(date.today() + timedelta(days=2)):
        response = client.get(path)
        assert response.status_code == 410
        assert "See link on aegunud" in page_text(response)
        assert client.post(path, data=APPLICATION).status_code == 410


def test_a_login_link_does_not_open_the_application_form(app, client):
    from webapp import tokens

    with app.app_context():
        secret, _token = tokens.issue(tokens.Purpose.LOGIN, "mari@example.ee", timedelta(days=1), "et")
        db.session.commit()
    assert client.get(f"/taotlus/vorm/{secret}").status_code == 404


ESTONIAN_ERRORS = [
    ({"email": "", "child_personal_code": ""}, ["See väli on kohustuslik."]),
    (
        {"email": "mari", "child_personal_code": "5170304abcd"},
        ["See pole korrektne e-posti aadress.", "Isikukood koosneb ainult numbritest."],
    ),
    (
        {"email": "mari@", "child_personal_code": "51702310000"},
        [
            "See pole korrektne e-posti aadress.",
            "Esimesed seitse numbrit ei anna kehtivat sünnikuupäeva.",
        ],
    ),
    ({"email": "a" * 10_000, "child_personal_code": "1" * 10_000}, ["Palun kõige rohkem 254 märki."]),
    (
        {"email": "mari@example.ee", "child_personal_code": isikukood.make(date(1826, 5, 5), True, 1)},
        ["See pole kooliealise lapse isikukood."],
    ),
    (
        {"email": "mari@example.ee", "child_personal_code": "51703040000"},
        ["Viimane number (kontrollnumber) ei klapi."],
    ),
]


@pytest.mark.parametrize(("data", "messages"), ESTONIAN_ERRORS)
def test_step_one_bad_input_gets_a_clear_estonian_message(app, client, data, messages):
    response = client.post("/taotlus/", data=data)
    assert response.status_code == 422
    text = page_text(response)
    for message in messages:
        assert message in text
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert outbox_messages(app) == []


def test_bad_input_in_russian(client):
    client.set_cookie("lang", "ru")
    text = page_text(client.post("/taotlus/", data={"email": "mari@", "child_personal_code": "51702310000"}))
    assert "Это неверный адрес e-mail." in text
    assert "Первые семь цифр не соответствуют существующей дате рождения." in text


def test_application_form_bad_input_keeps_the_link_usable(app, client, child_code):
    path = form_path(app, client, child_code)
    bad = dict(APPLICATION, parent_first_name="", child_last_name="x" * 10_000, phone="abc", relation="boss")
    bad.pop("consent")
    response = client.post(path, data=bad)
    assert response.status_code == 422
    text = page_text(response)
    for message in [
        "See väli on kohustuslik.",
        "Palun kõige rohkem 100 märki.",
        "Kasuta ainult numbreid",
        "Palun vali üks.",
        "Ilma sinu nõusolekuta",
    ]:
        assert message in text
    assert client.post(path, data=APPLICATION).status_code == 303


def test_htmx_checks_one_field_and_answers_with_that_field(client):
    response = client.post(
        "/taotlus/kontrolli/start/child_personal_code",
        data={"email": "", "child_personal_code": "51702310000"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.strip().startswith('<div class="field field--error" id="field-child_personal_code">')
    assert "Esimesed seitse numbrit" in html and 'id="field-email"' not in html
    assert "HX-Request" in response.headers["Vary"]
    ok = client.post(
        "/taotlus/kontrolli/start/email", data={"email": "mari@example.ee"}, headers={"HX-Request": "true"}
    )
    assert "field--error" not in ok.get_data(as_text=True)
    assert client.post("/taotlus/kontrolli/start/nonsense").status_code == 404
    assert client.post("/taotlus/kontrolli/other/email").status_code == 404


def test_oversized_body_is_refused_in_the_users_language(client):
    response = client.post("/taotlus/", data={"email": "a" * 100_000, "child_personal_code": "1"})
    assert response.status_code == 413
    assert "Liiga palju andmeid" in page_text(response)


def test_valmis_without_an_application_goes_back_to_the_start(client):
    assert client.get("/taotlus/valmis").headers["Location"] == "/taotlus/"


def test_per_address_cap_sends_no_more_but_answers_the_same(app, client, child_code):
    answers = {start(client, "mari@example.ee", child_code).headers["Location"] for _ in range(5)}
    assert answers == {"/taotlus/saadetud"}
    assert len(outbox_messages(app)) == 3


def test_security_headers(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_unknown_page_is_a_translated_404(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "ru"})
    assert response.status_code == 404 and "Страница не найдена" in page_text(response)


def test_post_without_csrf_token_is_refused_clearly(make_app, child_code):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/taotlus/", data={"email": "mari@example.ee", "child_personal_code": child_code})
    assert response.status_code == 400
    assert "Vorm on aegunud" in page_text(response)
    htmx = client.post("/taotlus/kontrolli/start/email", data={"email": "x"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert outbox_messages(app) == []
    # With the token from the page (and for htmx, the header from <body>) it goes through.
    html = client.get("/taotlus/").get_data(as_text=True)
    token = html.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    assert f'"X-CSRFToken": "{token}"' in html
    ok = client.post(
        "/taotlus/", data={"email": "mari@example.ee", "child_personal_code": child_code, "csrf_token": token}
    )
    assert ok.status_code == 303
    htmx_ok = client.post(
        "/taotlus/kontrolli/start/email",
        data={"email": "x"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert htmx_ok.status_code == 200


def test_step_one_is_rate_limited_per_address_of_the_browser(make_app, child_code):
    app = make_app(RATELIMIT_ENABLED=True, APPLY_PER_CLIENT_LIMIT="2 per hour")
    client = app.test_client()
    assert [start(client, f"p{i}@example.ee", child_code).status_code for i in range(3)] == [303, 303, 429]
    assert "Liiga palju katseid" in page_text(start(client, "p9@example.ee", child_code))


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("et", "Saime sinu taotluse kätte"),
        ("ru", "Мы получили ваше заявление"),
        ("en", "We received your application"),
    ],
)
def test_a_receipt_with_the_answer_date_follows_the_application(app, client, child_code, language, subject):
    from webapp.models import Application
    from webapp.working_days import answer_due

    client.post("/keel", data={"lang": language})
    path = form_path(app, client, child_code)
    assert client.post(path, data=APPLICATION).status_code == 303
    receipt = outbox_messages(app)[-1]
    assert receipt.recipient == "mari@example.ee" and receipt.subject.startswith(subject)
    with app.app_context():
        due = answer_due(db.session.scalar(sa.select(Application.submitted_at)))
    assert str(due.day) in receipt.text_body and str(due.day) in page_text(client.get("/taotlus/valmis"))
