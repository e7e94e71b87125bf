"""A parent walks the application flow in Chromium, at 360 px, reading the e-mail from the dev mailbox."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, latest_link_to

LABELS = {
    "et": {
        "new_account": "Loo uus konto",
        "request": "Esita andmed ja taotle kontot",
        "help": "Lisainfo & abi",
        "apply": "Esita taotlus sisse logimata",
        "email": "Sinu e-posti aadress",
        "code": "Lapse isikukood",
        "next": "Edasi",
        "check": "Kontrolli oma e-posti",
        "checksum": "Viimane number (kontrollnumber) ei klapi.",
        "first": "Sinu eesnimi",
        "last": "Sinu perekonnanimi",
        "relation": "ema",
        "child_first": "Lapse eesnimi",
        "child_last": "Lapse perekonnanimi",
        "consent": "Olen nõus",
        "send": "Saada taotlus",
        "done": "VALMIS!",
    },
    "ru": {
        "new_account": "Создать новый аккаунт",
        "request": "Предоставить данные и запросить аккаунт",
        "help": "Дополнительная информация и помощь",
        "apply": "Подать заявление без входа в систему",
        "email": "Ваш e-mail",
        "code": "Личный код ребёнка",
        "next": "Далее",
        "check": "Проверьте свой e-mail",
        "checksum": "Последняя цифра (контрольная) не совпадает.",
        "first": "Ваше имя",
        "last": "Ваша фамилия",
        "relation": "мать",
        "child_first": "Имя ребёнка",
        "child_last": "Фамилия ребёнка",
        "consent": "Даю согласие",
        "send": "Отправить заявление",
        "done": "ГОТОВО!",
    },
}


@pytest.mark.parametrize("language", ["et", "ru"])
def test_parent_applies_from_the_login_page_to_valmis(
    portal, mailbox, page, screenshot, child_code, language
):
    _app, url = portal
    text = LABELS[language]
    address = f"vanem.{language}@example.ee"
    page.goto(url + "/")
    if language != "et":
        page.get_by_role("button", name=language.upper()).click()
    screenshot("login-page")
    page.get_by_role("link", name=text["new_account"]).click()
    screenshot("new-account")
    page.get_by_role("link", name=text["request"]).click()
    screenshot("request-account")
    page.get_by_role("link", name=text["help"]).first.click()
    screenshot("help")
    page.get_by_role("link", name=text["apply"]).click()

    page.get_by_label(text["email"]).fill(address)
    wrong = child_code[:-1] + str((int(child_code[-1]) + 1) % 10)
    code = page.get_by_label(text["code"])
    code.fill(wrong)
    code.press("Tab")  # htmx checks the field as it loses focus
    expect(page.get_by_text(text["checksum"])).to_be_visible()
    expect(page.get_by_label(text["code"])).to_have_attribute("aria-invalid", "true")
    screenshot("step-1-error")
    page.get_by_label(text["code"]).fill(child_code)
    page.get_by_label(text["code"]).press("Tab")
    expect(page.get_by_text(text["checksum"])).to_have_count(0)
    screenshot("step-1")
    page.get_by_role("button", name=text["next"]).click()
    expect(page.get_by_role("heading", name=text["check"])).to_be_visible()
    screenshot("check-your-email")

    link = latest_link_to(mailbox, address, "/taotlus/vorm/")
    page.goto(link)
    expect(page.get_by_label(text["email"])).to_have_value(address)
    expect(page.get_by_label(text["code"])).to_have_value(child_code)
    page.get_by_label(text["first"]).fill("Mari-Liis")
    page.get_by_label(text["last"]).fill("Mägi")
    page.get_by_label(text["relation"], exact=True).check()
    page.get_by_label(text["child_first"]).fill("Jüri")
    page.get_by_label(text["child_last"]).fill("Mägi")
    page.get_by_label(text["consent"]).check()
    screenshot("application-form")
    page.get_by_role("button", name=text["send"]).click()
    expect(page.get_by_role("heading", name=text["done"])).to_be_visible()
    screenshot("valmis")
    # The page fits a 360 px phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_flow_works_without_script(browser, portal, mailbox, child_code):
    _app, url = portal
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 360, "height": 780}, locale="et-EE"
    )
    page = context.new_page()
    page.goto(url + "/taotlus/")
    page.get_by_label("Sinu e-posti aadress").fill("ilma.skriptita@example.ee")
    page.get_by_label("Lapse isikukood").fill("51702310000")
    page.get_by_role("button", name="Edasi").click()
    expect(page.get_by_text("Esimesed seitse numbrit ei anna kehtivat sünnikuupäeva.").first).to_be_visible()
    page.get_by_label("Lapse isikukood").fill(child_code)
    page.get_by_role("button", name="Edasi").click()
    expect(page.get_by_role("heading", name="Kontrolli oma e-posti")).to_be_visible()
    assert "/taotlus/vorm/" in latest_link_to(mailbox, "ilma.skriptita@example.ee", "/taotlus/vorm/")
    context.close()


def test_pages_have_no_accessibility_violations(portal, audit_page):
    _app, url = portal
    for path in [
        "/",
        "/konto/uus",
        "/konto/taotle",
        "/abi",
        "/taotlus/",
        "/taotlus/saadetud",
        "/taotlus/vorm/x",
    ]:
        audit_page.goto(url + path)
        assert_accessible(audit_page)
    audit_page.goto(url + "/taotlus/")
    audit_page.get_by_role("button", name="Edasi").click()  # the form with its errors
    assert_accessible(audit_page)
