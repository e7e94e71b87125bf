"""Enumeration and abuse: the same work for any address, limits keyed on what they protect, proxies
believed only as far as configured, and a 429 that says when."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tests.conftest import answer_link_requests, outbox_messages, page_text, submit_application
from webapp.extensions import db


@pytest.fixture
def parent(app, school):
    """mari@example.ee has an account; nobody@example.ee has none."""
    application_id = submit_application(app, app.test_client(), school.child_5a, email="mari@example.ee")
    from tests.conftest import School, log_in_staff

    admin = app.test_client()
    log_in_staff(admin, School.admin)
    admin.post(f"/kool/taotlus/{application_id}/kinnita")


def statements_of(app, request) -> list[str]:
    """The SQL a request runs, with its values left out: the shape of the work it does."""
    seen: list[str] = []

    def record(_connection, _cursor, statement, _parameters, _context, _many) -> None:
        seen.append(re.sub(r"\s+", " ", statement))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [response.status_code, response.headers.get("Location"), *seen]


@pytest.mark.parametrize(("path", "field"), [("/saada-link", "email"), ("/taotlus/saada-uuesti", "email")])
def test_known_and_unknown_addresses_do_the_same_work(app, parent, path, field):
    """Not only the same answer: the same statements, so that timing tells nothing either."""
    known = statements_of(app, lambda: app.test_client().post(path, data={field: "mari@example.ee"}))
    unknown = statements_of(app, lambda: app.test_client().post(path, data={field: "nobody@example.ee"}))
    assert known == unknown
    assert not any("FROM parent" in statement for statement in known[2:])  # nobody looks the address up


def test_the_cap_is_explained_to_everyone_alike(app, parent):
    pages = {}
    for address in ("mari@example.ee", "nobody@example.ee"):
        client = app.test_client()
        for _ in range(4):
            client.post("/saada-link", data={"email": address})
        pages[address] = page_text(client.get("/link-saadetud"))
    assert pages["mari@example.ee"] == pages["nobody@example.ee"]
    assert "Ühele aadressile läheb tunnis kõige rohkem 3 e-kirja." in pages["mari@example.ee"]
    assert re.search(r"Järgmise saab saata pärast kella \d\d:\d\d\.", pages["mari@example.ee"])
    answer_link_requests(app)
    login_links = [message for message in outbox_messages(app) if "/sisene/" in message.text_body]
    # Three link e-mails an hour to the address, whoever asked: her step-1 link counted, so two more.
    assert [message.recipient for message in login_links[1:]] == ["mari@example.ee"] * 2


def test_a_fresh_address_is_told_the_cap_without_a_time(app, client, child_code):
    client.post("/taotlus/", data={"email": "uus@example.ee", "child_personal_code": child_code})
    text = page_text(client.get("/taotlus/saadetud"))
    assert "kõige rohkem 3 e-kirja" in text and "Järgmise saab saata" not in text


def test_x_forwarded_for_is_ignored_without_trusted_proxies(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LINK_REQUEST_PER_CLIENT_LIMIT="2 per hour")
    codes = [
        app.test_client()
        .post("/saada-link", data={"email": f"p{i}@example.ee"}, headers={"X-Forwarded-For": f"10.1.1.{i}"})
        .status_code
        for i in range(3)
    ]
    assert codes == [303, 303, 429]  # the header changes nothing: anyone could write it


def test_trusted_proxies_give_each_client_its_own_count(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LINK_REQUEST_PER_CLIENT_LIMIT="2 per hour", TRUSTED_PROXIES=1)
    client = app.test_client()

    def ask(client_address: str) -> int:
        headers = {"X-Forwarded-For": client_address}
        return client.post("/saada-link", data={"email": "p@example.ee"}, headers=headers).status_code

    assert [ask("10.1.1.1") for _ in range(3)] == [303, 303, 429]
    assert ask("10.1.1.2") == 303
    # Only one hop is believed: a forged address in front of the proxy's own does not count.
    assert ask("10.9.9.9, 10.1.1.1") == 429


def test_the_429_page_says_when_and_leads_back(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LINK_REQUEST_PER_ADDRESS_LIMIT="1 per hour")
    client = app.test_client()
    client.post("/saada-link", data={"email": "p@example.ee"})
    refused = client.post(
        "/saada-link", data={"email": "p@example.ee"}, headers={"Referer": "http://localhost/abi"}
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3000
    text = page_text(refused)
    assert "kaitseb sinu kontot" not in text  # said to people who may have no account
    assert re.search(r"Saad uuesti proovida pärast kella \d\d:\d\d\.", text)
    assert 'href="/abi"' in refused.get_data(as_text=True)
    elsewhere = client.post(
        "/saada-link", data={"email": "p@example.ee"}, headers={"Referer": "https://evil.example/x"}
    )
    assert 'href="/"' in elsewhere.get_data(as_text=True) and "evil.example" not in elsewhere.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "name", ["__doc__", "__module__", "__dict__", "__class__", "csrf_token", "meta", "data", "validate"]
)
def test_field_check_looks_only_at_the_forms_fields(client, name):
    for form in ("start", "application"):
        assert client.post(f"/taotlus/kontrolli/{form}/{name}").status_code == 404


def test_the_sender_answers_a_request_once_even_with_two_senders(app, parent):
    app.test_client().post("/saada-link", data={"email": "mari@example.ee"})
    assert answer_link_requests(app) == 1
    assert answer_link_requests(app) == 0
    with app.app_context():
        from webapp.models import LinkRequest

        assert db.session.scalar(sa.select(sa.func.count()).where(LinkRequest.processed_at.is_(None))) == 0


def test_a_file_posted_into_a_form_field_is_refused_cleanly(client, child_code):
    from io import BytesIO

    response = client.post(
        "/taotlus/",
        data={"email": (BytesIO(b"x" * 100), "email.txt"), "child_personal_code": child_code},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_an_id_too_big_for_the_database_is_a_page_that_does_not_exist(app, school, number):
    from tests.conftest import School, log_in_staff

    admin = app.test_client()
    log_in_staff(admin, School.admin)
    for path in (f"/kool/taotlus/{number}", f"/kool/klass/{number}", f"/kool/taotlus/{number}/keeldu"):
        response = admin.get(path) if "keeldu" not in path else admin.post(path, data={"reason": "x"})
        assert response.status_code == 404, path


def test_control_characters_in_free_text_are_dropped_not_a_500(app, client, child_code):
    """PostgreSQL refuses NUL in text; a parent's message with one is saved without it."""
    from tests.conftest import APPLICATION_FORM, last_link

    client.post(
        "/taotlus/",
        data={"email": "m@example.ee", "child_personal_code": child_code, "keep_email": "m@example.ee"},
    )
    form = {**APPLICATION_FORM, "message": "Tere\x00, kool!\x07\nTeine rida"}
    assert client.post(last_link(app, "/taotlus/vorm/"), data=form).status_code == 303
    with app.app_context():
        from webapp.models import Application

        assert db.session.scalar(sa.select(Application.message)) == "Tere, kool!\nTeine rida"


def test_a_form_with_errors_answers_an_htmx_request_with_its_fragment(client):
    """htmx asks for the form block alone: it must render (with its macros), not answer 500."""
    response = client.post("/taotlus/", data={"email": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)


def test_the_password_form_answers_an_htmx_request_with_its_fragment(app, school):
    from tests.conftest import School, last_link, log_in_staff, submit_application

    application_id = submit_application(app, app.test_client(), school.child_5a)
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    admin.post(f"/kool/taotlus/{application_id}/kinnita")
    parent = app.test_client()
    parent.post(last_link(app, "/sisene/"))
    response = parent.post("/profiil/muuda", data={"new_password": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
