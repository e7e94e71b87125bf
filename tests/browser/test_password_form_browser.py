"""Muuda profiili → the new password twice → Salvesta, in Chromium at 360 px, in each language: every failing
rule shown at once (as one types, and after Salvesta), the typed passwords kept, the "show password" toggle
by keyboard, and a meter that never looks good while a rule fails."""

import re

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible
from tests.conftest import School, last_link, log_in_staff, populate_school, submit_application

LANGUAGES = ["et", "ru", "en"]
GOOD_PASSWORD = "Kolm sinist jõehobu!"
RULES = ["length", "not-common", "not-name", "match"]


def translate(app, language: str, msgid: str, **values) -> str:
    """The text a reader of `language` sees for a message id (English until it is translated)."""
    with app.test_request_context(), force_locale(language):
        return gettext(msgid, **values)


def approved_parent_login_path(app) -> str:
    """Mari-Liis Mägi applied and the administrator approved: the path of the approval e-mail's link."""
    school = populate_school(app)
    app.config["WTF_CSRF_ENABLED"] = False  # only while the test client applies and approves
    application_id = submit_application(app, app.test_client(), school.child_5a, email="mari@example.ee")
    staff = app.test_client()
    log_in_staff(staff, School.admin)
    assert staff.post(f"/kool/taotlus/{application_id}/kinnita").status_code in (200, 303)
    app.config["WTF_CSRF_ENABLED"] = True
    return last_link(app, "/sisene/")


def open_password_form(page: Page, portal, language: str) -> None:
    """Logged in from the e-mailed link, reading `language`, on Muuda profiili."""
    app, url = portal
    path = approved_parent_login_path(app)
    page.context.add_cookies([{"name": "lang", "value": language, "url": url}])
    page.goto(url + path)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_role("heading", name=translate(app, language, "Your profile"))).to_be_visible()
    page.goto(url + "/profiil/muuda")


def rule(page: Page, name: str):
    return page.locator(f"#password-strength li[data-rule='{name}']")


def meter_value(page: Page) -> int:
    return int(page.locator("#password-strength meter").get_attribute("value"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_failing_rule_before_and_after_salvesta_and_the_toggle(portal, page, screenshot, language):
    app, _url = portal
    open_password_form(page, portal, language)
    new = page.get_by_label(translate(app, language, "New password"), exact=True)
    again = page.get_by_label(translate(app, language, "New password again"))
    toggle = page.locator("[data-password-toggle]")
    expect(toggle).to_be_visible()  # script is on: the toggle is there
    expect(toggle).to_have_accessible_name(translate(app, language, "Show password"))

    # Short, common, the parent's own name, and a repeat that differs: every rule red before Salvesta.
    new.press_sequentially("mari123", delay=15)
    again.press_sequentially("mari124", delay=15)
    for name in RULES:
        expect(rule(page, name)).to_have_class(re.compile(r"\brule--unmet\b"))
        expect(rule(page, name)).to_contain_text("✗")
        expect(rule(page, name)).to_contain_text(translate(app, language, "rule not met"))
    assert meter_value(page) <= 1
    summary = page.locator("#password-strength").get_attribute("data-summary")
    expect(page.locator("#password-rules-status")).to_have_text(summary)  # the polite live region
    assert translate(app, language, "Rules met: %(met)d of %(total)d.", met=0, total=4) in summary
    screenshot(f"{language}-every-rule-red-while-typing")

    page.get_by_role("button", name=translate(app, language, "Save")).click()
    expect(page.locator(".error-summary")).to_be_focused()
    errors = page.locator("#new_password-error")
    expect(errors).to_contain_text(
        translate(app, language, "The password must be at least %(min)d characters long.", min=10)
    )
    expect(errors).to_contain_text(
        translate(app, language, "This password is too easy to guess. Choose a less common one.")
    )
    expect(errors).to_contain_text(
        translate(
            app, language, "The password must not contain your first or last name (%(name)s).", name="Mari"
        )
    )
    expect(page.locator("#repeat_password-error")).to_have_text(
        translate(app, language, "The two passwords are not the same.")
    )
    expect(new).to_have_attribute("aria-describedby", re.compile(r"\bnew_password-error\b"))
    expect(again).to_have_attribute("aria-describedby", re.compile(r"\brepeat_password-error\b"))
    expect(new).to_have_value("mari123")  # what the parent typed is still there
    expect(again).to_have_value("mari124")
    for name in RULES:  # the same list after the full-page answer
        expect(rule(page, name)).to_have_class(re.compile(r"\brule--unmet\b"))
    screenshot(f"{language}-every-error-at-once-after-salvesta")

    # The toggle, by keyboard: Tab from the repeat to it, Space shows both passwords, Space hides them.
    again.focus()
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(new).to_have_attribute("type", "text")
    expect(again).to_have_attribute("type", "text")
    screenshot(f"{language}-passwords-shown")
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(new).to_have_attribute("type", "password")
    expect(again).to_have_attribute("type", "password")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_meter_never_looks_strong_while_a_rule_fails(portal, page, screenshot, language):
    app, _url = portal
    open_password_form(page, portal, language)
    new = page.get_by_label(translate(app, language, "New password"), exact=True)
    again = page.get_by_label(translate(app, language, "New password again"))
    label = page.locator("#password-strength .strength__label")
    weak = translate(app, language, "Strength: %(label)s", label=translate(app, language, "weak"))

    # zxcvbn alone calls this very strong; it holds the parent's first name.
    new.fill("Mari-Liis-Kevadine-77")
    again.fill("Mari-Liis-Kevadine-77")
    expect(rule(page, "not-name")).to_have_class(re.compile(r"\brule--unmet\b"))
    expect(rule(page, "match")).to_have_class(re.compile(r"\brule--met\b"))
    expect(label).to_have_text(weak)
    assert meter_value(page) <= 1
    screenshot(f"{language}-own-name-meter-weak")

    # A strong password and a repeat that differs: still not good.
    new.fill(GOOD_PASSWORD)
    again.fill(GOOD_PASSWORD + "?")
    expect(rule(page, "not-name")).to_have_class(re.compile(r"\brule--met\b"))
    expect(rule(page, "match")).to_have_class(re.compile(r"\brule--unmet\b"))
    expect(label).to_have_text(weak)

    # Every rule met: now the meter may show what zxcvbn thinks.
    again.fill(GOOD_PASSWORD)
    for name in RULES:
        expect(rule(page, name)).to_have_class(re.compile(r"\brule--met\b"))
        expect(rule(page, name)).to_contain_text(translate(app, language, "rule met"))
    assert meter_value(page) >= 3
    expect(page.locator("#password-rules-status")).to_contain_text(
        translate(app, language, "Rules met: %(met)d of %(total)d.", met=4, total=4)
    )
    screenshot(f"{language}-every-rule-met")
    page.get_by_role("button", name=translate(app, language, "Save")).click()
    expect(page.get_by_role("status")).to_contain_text(
        translate(app, language, "Your password has been saved.")
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_without_script_no_dead_toggle_and_the_rules_after_salvesta(portal, browser, language):
    app, url = portal
    context = browser.new_context(viewport={"width": 360, "height": 780}, java_script_enabled=False)
    page = context.new_page()
    open_password_form(page, portal, language)
    expect(page.locator("[data-password-toggle]")).to_be_hidden()
    expect(page.locator("#password-strength li")).to_have_count(0)
    page.get_by_label(translate(app, language, "New password"), exact=True).fill("Mari-Liis-Kevadine-77")
    page.get_by_label(translate(app, language, "New password again")).fill("Mari-Liis-Kevadine-7")
    page.get_by_role("button", name=translate(app, language, "Save")).click()
    states = [rule(page, name).get_attribute("class") for name in RULES]
    assert states == ["rule rule--met", "rule rule--met", "rule rule--unmet", "rule rule--unmet"]
    expect(page.locator("#password-strength .strength__label")).to_have_text(
        translate(app, language, "Strength: %(label)s", label=translate(app, language, "weak"))
    )
    context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_password_form_has_no_accessibility_violations(portal, audit_page, language):
    app, _url = portal
    page = audit_page
    open_password_form(page, portal, language)
    assert_accessible(page)
    page.get_by_label(translate(app, language, "New password"), exact=True).press_sequentially(
        "mari123", delay=15
    )
    page.get_by_label(translate(app, language, "New password again")).press_sequentially("mari12", delay=15)
    expect(rule(page, "match")).to_have_class(re.compile(r"\brule--unmet\b"))
    assert_accessible(page)  # the rules list, as one types
    page.locator("[data-password-toggle]").click()
    expect(page.locator("[data-password-toggle]")).to_have_attribute("aria-pressed", "true")
    assert_accessible(page)
    page.get_by_role("button", name=translate(app, language, "Save")).click()
    expect(page.locator("#new_password-error")).to_be_visible()
    assert_accessible(page)  # every error at once, tied to its field
