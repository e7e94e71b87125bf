"""Pages kept for visitors without a session (webapp.rendering.same_for_every_new_visitor): the kept
page is the page the view renders, in the visitor's language, each answer with a CSRF token of its own
that works; anyone with something in their session gets the view itself."""

import re

import pytest

from tests.conftest import School, log_in_staff, populate_school

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PAGE_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')  # on every page, for htmx
TOKEN = re.compile(r'(name="csrf_token"[^>]*value="|"X-CSRFToken": ")[^"]+"')
KEPT_PAGES = ("/", "/taotlus/", "/konto/uus", "/konto/taotle", "/abi")


@pytest.fixture
def app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def without_tokens(page: str) -> str:
    return TOKEN.sub(r"\1…", page)


def kept(app) -> dict:
    return app.extensions.get("new_visitor_pages", {})


@pytest.mark.parametrize("language", ["et", "ru", "en"])
@pytest.mark.parametrize("path", KEPT_PAGES)
def test_a_kept_page_is_the_page_the_view_renders(app, path, language):
    headers = {"Accept-Language": language}
    rendered = app.test_client().get(path, headers=headers)
    assert rendered.status_code == 200 and len(kept(app)) == 1
    again = app.test_client().get(path, headers=headers)
    assert again.status_code == 200
    assert without_tokens(again.text) == without_tokens(rendered.text)
    assert PAGE_TOKEN.search(again.text).group(1) != PAGE_TOKEN.search(rendered.text).group(1)
    assert f'<html lang="{language}">' in again.text


def test_each_visitor_gets_a_token_that_works_for_their_own_post(app, child_code):
    app.test_client().get("/taotlus/")  # the first visitor: the page is kept
    for number in range(3):
        visitor = app.test_client()
        page = visitor.get("/taotlus/").text
        token = CSRF_FIELD.search(page).group(1)
        form = {"csrf_token": token, "email": f"vanem{number}@example.ee", "child_personal_code": child_code}
        assert visitor.post("/taotlus/", data=form).status_code == 303
        # Another visitor's token is no good for this one.
        stranger = app.test_client()
        stranger.get("/")
        assert stranger.post("/taotlus/", data=form).status_code == 400


def test_each_language_is_kept_apart(app):
    assert "Logi sisse" in app.test_client().get("/", headers={"Accept-Language": "et"}).text
    russian = app.test_client()
    russian.set_cookie("lang", "ru")
    assert "Войти" in russian.get("/").text
    assert "Logi sisse" in app.test_client().get("/").text
    assert len(kept(app)) == 2


def test_a_visitor_with_a_session_gets_the_view_itself(make_app):
    app = make_app()  # CSRF off: the staff login through the test client
    populate_school(app)
    app.test_client().get("/")
    staff = app.test_client()
    log_in_staff(staff, School.admin)
    assert staff.get("/").status_code == 303  # to the staff's own page, not the kept login page


def test_a_message_from_the_page_before_is_shown(make_app):
    app = make_app()
    app.test_client().get("/abi")
    visitor = app.test_client()
    response = visitor.post("/taotlus/saada-uuesti", data={"email": "mari@example.ee"}, follow_redirects=True)
    assert "mari@example.ee" in response.text
    assert visitor.get("/abi").status_code == 200


def test_a_query_string_or_htmx_gets_the_view_itself(app):
    app.test_client().get("/taotlus/?from=poster")
    app.test_client().get("/taotlus/", headers={"HX-Request": "true"})
    assert kept(app) == {}
