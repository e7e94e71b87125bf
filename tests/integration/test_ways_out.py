"""When the e-mail does not come: the typo guard, "send it again", the letter to IT, the demo
ID-card/Smart-ID login and the confirmed change of e-mail address."""

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import answer_link_requests, link_path, outbox_messages, page_text
from webapp import isikukood
from webapp.extensions import db
from webapp.models import Change, Parent

MOTHER_CODE = isikukood.make(date(1985, 6, 1), True, 201)


def start(client, email, code, **extra):
    return client.post("/taotlus/", data={"email": email, "child_personal_code": code, **extra})


def without_tags(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_typo_guard_suggests_and_the_parent_accepts(app, client, child_code):
    response = start(client, "mari@gmial.com", child_code)
    assert response.status_code == 200
    text = without_tags(response.get_data(as_text=True))  # the address is in unbreakable pieces
    assert "Kas mõtlesid mari@gmail.com?" in text and "Jah, kasuta mari@gmail.com" in text
    assert "Ei, jäta mari@gmial.com" in text
    assert outbox_messages(app) == []  # nothing sent before the parent chooses
    accepted = start(client, "mari@gmial.com", child_code, use_suggestion="mari@gmail.com")
    assert accepted.headers["Location"] == "/taotlus/saadetud"
    assert [m.recipient for m in outbox_messages(app)] == ["mari@gmail.com"]


def test_typo_guard_lets_the_parent_keep_the_address(app, client, child_code):
    kept = start(client, "mari@gmial.com", child_code, keep_email="mari@gmial.com")
    assert kept.headers["Location"] == "/taotlus/saadetud"
    assert [m.recipient for m in outbox_messages(app)] == ["mari@gmial.com"]


def test_typo_guard_cannot_be_used_to_send_to_another_address(app, client, child_code):
    start(client, "mari@gmial.com", child_code, use_suggestion="evil@example.com")
    assert outbox_messages(app) == []


def test_typo_guard_in_russian_and_on_blur(client):
    client.set_cookie("lang", "ru")
    fragment = client.post(
        "/taotlus/kontrolli/start/email", data={"email": "olga@yandex.ry"}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Возможно, вы имели в виду olga@yandex.ru?" in without_tags(fragment)


def test_send_again_from_the_check_page_and_the_help_page(app, client, child_code):
    start(client, "mari@example.ee", child_code)
    page = client.get("/taotlus/saadetud").get_data(as_text=True)
    assert 'value="mari@example.ee"' in page  # prefilled from step 1
    again = client.post("/taotlus/saada-uuesti", data={"email": "mari@example.ee"})
    assert again.headers["Location"] == "/taotlus/saadetud"
    assert "Kui meil on aadressile mari@example.ee midagi saata" in page_text(client.get("/taotlus/saadetud"))
    assert answer_link_requests(app) == 1
    first, second = outbox_messages(app)
    assert second.recipient == "mari@example.ee" and link_path(first.text_body) != link_path(second.text_body)
    # The fresh link is for the same child.
    assert child_code in app.test_client().get(link_path(second.text_body)).get_data(as_text=True)


def test_send_again_answers_the_same_for_unknown_addresses_and_is_capped(app, client, child_code):
    start(client, "mari@example.ee", child_code)
    unknown = client.post("/taotlus/saada-uuesti", data={"email": "nobody@example.ee"})
    assert unknown.headers["Location"] == "/taotlus/saadetud"
    for _ in range(5):
        client.post("/taotlus/saada-uuesti", data={"email": "mari@example.ee"})
    answer_link_requests(app)
    assert [m.recipient for m in outbox_messages(app)] == ["mari@example.ee"] * 3  # 3 an hour
    bad = client.post("/taotlus/saada-uuesti", data={"email": "not-an-address"})
    assert bad.status_code == 422 and "See pole korrektne e-posti aadress." in page_text(bad)


def test_help_page_letter_to_it_has_no_personal_code(client):
    html = client.get("/abi").get_data(as_text=True)
    href = html.split('href="mailto:', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    address, _, query = href.partition("?")
    fields = parse_qs(query)
    assert address == "it@testkool.example"
    assert fields["subject"] == ["Lapsevanema konto: e-kiri ei jõua kohale"]
    assert "Minu lapse nimi ja klass:" in fields["body"][0]
    assert not any(character.isdigit() for character in fields["subject"][0])


@pytest.fixture
def known_mother(app, school):
    """Kadri, whom the school knows from the roster (personal code and e-mail)."""
    from webapp.roster import import_rows

    with app.app_context():
        import_rows(
            [
                {
                    "class": "5A",
                    "student_personal_code": school.child_5a,
                    "student_first_name": "Juri",
                    "student_last_name": "Magi",
                    "parent_personal_code": MOTHER_CODE,
                    "parent_first_name": "Kadri",
                    "parent_last_name": "Mägi",
                    "parent_email": "kadri@gmial.com",
                }
            ]
        )
        db.session.commit()


def test_smart_id_demo_shows_a_verification_code_and_logs_a_known_parent_in(client, known_mother):
    page = client.post("/tuvasta/smart-id", data={"personal_code": MOTHER_CODE})
    text = page_text(page)
    assert "Demo:" in text and "Tegelikku isikutuvastust ei toimu" in text
    code = page.get_data(as_text=True).split('class="verification-code"', 1)[1].split(">", 1)[1][:4]
    assert code.isdigit() and len(code) == 4
    done = client.post("/tuvasta/smart-id/kinnita")
    assert done.headers["Location"] == "/profiil/"
    assert "kadri@gmial.com" in page_text(client.get("/profiil/"))


def test_id_card_demo_needs_a_pin(client, known_mother):
    wrong = client.post("/tuvasta/id-kaart", data={"personal_code": MOTHER_CODE, "pin": "12"})
    assert wrong.status_code == 422 and "PIN ei ole õige" in page_text(wrong)
    right = client.post("/tuvasta/id-kaart", data={"personal_code": MOTHER_CODE, "pin": "1234"})
    assert right.headers["Location"] == "/profiil/"


def test_identity_of_an_unknown_parent(client, known_mother):
    stranger = isikukood.make(date(1980, 1, 1), False, 300)
    response = client.post("/tuvasta/id-kaart", data={"personal_code": stranger, "pin": "1234"})
    assert response.status_code == 404 and "Sind pole veel kooli andmetes" in page_text(response)
    bad = client.post("/tuvasta/id-kaart", data={"personal_code": "12345", "pin": "1234"})
    assert bad.status_code == 422 and "Isikukoodis on täpselt 11 numbrit." in page_text(bad)


def test_smart_id_confirm_without_a_started_session_goes_back(client):
    assert client.post("/tuvasta/smart-id/kinnita").headers["Location"] == "/tuvasta/smart-id"


def test_demo_providers_are_off_in_production(make_app):
    app = make_app(IDENTITY_DEMO=False)
    client = app.test_client()
    assert client.get("/tuvasta/smart-id").status_code == 404
    assert "Sisselogimine ID-kaardi ja Smart-ID-ga tuleb peagi." in page_text(client.get("/konto/taotle"))


def test_email_change_is_confirmed_by_the_new_address_and_told_to_the_old(app, client, known_mother):
    client.post("/tuvasta/id-kaart", data={"personal_code": MOTHER_CODE, "pin": "1234"})
    same = client.post("/profiil/e-post", data={"email": "kadri@gmial.com"})
    assert same.status_code == 422 and "See on juba sinu e-posti aadress." in page_text(same)
    asked = client.post("/profiil/e-post", data={"email": "kadri@gmail.com"})
    assert asked.headers["Location"] == "/profiil/"
    assert "Saatsime kinnituslingi aadressile kadri@gmail.com" in page_text(client.get("/profiil/"))
    confirmation = outbox_messages(app)[-1]
    assert confirmation.recipient == "kadri@gmail.com"
    with app.app_context():
        assert db.session.scalar(sa.select(Parent.email)) == "kadri@gmial.com"  # not before confirming

    path = link_path(confirmation.text_body)
    other_device = app.test_client()
    assert other_device.get(path).status_code == 200  # a GET changes nothing
    with app.app_context():
        assert db.session.scalar(sa.select(Parent.email)) == "kadri@gmial.com"
    done = other_device.post(path)
    assert done.status_code == 200 and "Nüüdsest kirjutab kool aadressile kadri@gmail.com" in page_text(done)
    notice = outbox_messages(app)[-1]
    assert notice.recipient == "kadri@gmial.com" and "kadri@gmail.com" in notice.text_body
    with app.app_context():
        assert db.session.scalar(sa.select(Parent.email)) == "kadri@gmail.com"
        change = db.session.scalar(sa.select(Change))
        assert (change.field, change.new_value, change.staff_id) == ("email", "kadri@gmail.com", None)
    assert other_device.post(path).status_code == 410  # single use
    assert app.test_client().get(path[:-3] + "abc").status_code == 404


def test_email_change_to_another_accounts_address_is_refused_at_confirmation(app, client, known_mother):
    with app.app_context():
        db.session.add(Parent(email="taken@example.ee", first_name="Teine", last_name="Vanem"))
        db.session.commit()
    client.post("/tuvasta/id-kaart", data={"personal_code": MOTHER_CODE, "pin": "1234"})
    client.post("/profiil/e-post", data={"email": "taken@example.ee"})
    response = app.test_client().post(link_path(outbox_messages(app)[-1].text_body))
    assert response.status_code == 409 and "See aadress kuulub teisele kontole" in page_text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(Parent.email).where(Parent.personal_code == MOTHER_CODE)) == (
            "kadri@gmial.com"
        )


def test_mailto_subject_is_translated(client):
    client.set_cookie("lang", "ru")
    href = client.get("/abi").get_data(as_text=True).split('href="mailto:', 1)[1].split('"', 1)[0]
    assert parse_qs(urlsplit("mailto:" + href.replace("&amp;", "&")).query)["subject"] == [
        "Аккаунт родителя: письмо не приходит"
    ]


def test_only_the_newest_email_change_request_counts(app, client, known_mother):
    client.post("/tuvasta/id-kaart", data={"personal_code": MOTHER_CODE, "pin": "1234"})
    client.post("/profiil/e-post", data={"email": "first@example.ee"})
    first = link_path(outbox_messages(app)[-1].text_body)
    client.post("/profiil/e-post", data={"email": "second@example.ee"})
    assert app.test_client().post(first).status_code == 410


def test_a_logged_in_parents_language_choice_is_kept_for_their_emails(app, client, known_mother):
    client.post("/tuvasta/id-kaart", data={"personal_code": MOTHER_CODE, "pin": "1234"})
    client.post("/keel", data={"lang": "ru", "next": "/profiil/"})
    client.post("/profiil/e-post", data={"email": "kadri@gmail.com"})
    assert outbox_messages(app)[-1].subject == "Подтвердите новый адрес e-mail – Testkool"
