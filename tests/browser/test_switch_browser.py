"""One browser, two roles: a teacher opens a parent's login link in the browser she is logged in with;
the staff page then says who is logged in and offers to switch, in the language she reads."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, latest_link_to
from tests.conftest import STAFF_PASSWORD, School, populate_school, submit_application

TEXT = {
    "et": {
        "email": "E-posti aadress",
        "password": "Parool",
        "log_in": "Logi sisse",
        "who": "Oled sisse logitud lapsevanemana Mari-Liis Mägi.",
        "switch": "Logi välja ja logi sisse kooli töötajana",
        "queue": "Taotlused",
    },
    "ru": {
        "email": "Адрес e-mail",
        "password": "Пароль",
        "log_in": "Войти",
        "who": "Вы вошли как родитель Mari-Liis Mägi.",
        "switch": "Выйти и войти как сотрудник школы",
        "queue": "Заявления",
    },
    "en": {
        "email": "E-mail address",
        "password": "Password",
        "log_in": "Log in",
        "who": "You are logged in as the parent Mari-Liis Mägi.",
        "switch": "Log out and log in as staff",
        "queue": "Applications",
    },
}


@pytest.mark.parametrize("language", ["et", "ru", "en"])
def test_staff_who_became_a_parent_in_the_same_browser_can_switch_back(
    browser, portal, mailbox, screenshot, language
):
    app, url = portal
    school = populate_school(app)
    app.config["WTF_CSRF_ENABLED"] = False  # only while the application is made through the test client
    application_id = submit_application(app, app.test_client(), school.child_5a, email="mari@example.ee")
    app.config["WTF_CSRF_ENABLED"] = True
    text = TEXT[language]

    # bypass_csp: axe-core is injected as a script to audit the page.
    page = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="et-EE", bypass_csp=True
    ).new_page()
    page.goto(url + "/kool/sisene")
    if language != "et":
        page.get_by_role("button", name=language.upper()).click()
    page.get_by_label(text["email"]).fill(School.teacher_5a)
    page.get_by_label(text["password"]).fill(STAFF_PASSWORD)
    page.get_by_role("button", name=text["log_in"]).click()
    page.goto(f"{url}/kool/taotlus/{application_id}")
    page.locator("#decision button[type=submit]").first.click()  # approve
    page.wait_for_timeout(300)

    # The approval e-mail, opened in the same browser: the teacher is now the parent.
    page.goto(latest_link_to(mailbox, "mari@example.ee", "/sisene/"))
    page.get_by_role("button", name=re.compile("Mari-Liis Mägi")).click()
    page.goto(url + "/kool/")
    expect(page.get_by_text(text["who"])).to_be_visible()
    assert_accessible(page)
    screenshot(f"switch-offer-{language}")
    page.get_by_role("button", name=text["switch"]).click()
    expect(page).to_have_url(url + "/kool/sisene")
    page.get_by_label(text["email"]).fill(School.teacher_5a)
    page.get_by_label(text["password"]).fill(STAFF_PASSWORD)
    page.get_by_role("button", name=text["log_in"]).click()
    expect(page.get_by_role("heading", name=re.compile(text["queue"], re.IGNORECASE))).to_be_visible()
    page.context.close()
