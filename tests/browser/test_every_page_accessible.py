"""axe-core finds nothing on any page of the portal, in Estonian, Russian and English.

A parent at 360 px and the staff at 1280 px walk every page by the real flows (the forms, the e-mailed
links), with its errors shown, after choosing the language with the header's buttons. The `axe_audit`
fixture audits every state as it comes and fails the test on any violation; `audited` makes sure of each
state the walk is here for, and that it is in the chosen language and has the expected HTTP status.
Elements are found by their ids and addresses, never by their words, which change with the language."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import AxeAudit, latest_link_to
from tests.conftest import STAFF_PASSWORD, School, populate_school

LANGUAGES = ["et", "ru", "en"]
DESKTOP = {"width": 1280, "height": 900}
GOOD_PASSWORD = "Kolm sinist jõehobu!"
ERRORS = ".error-summary"


def choose(page: Page, language: str) -> None:
    """The language buttons in the header (a POST form)."""
    page.locator(f".languages button[value={language}]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def submit(page: Page, form: str) -> None:
    """Press the form's own submit button (not a suggestion's, nor a field's)."""
    page.locator(f"{form} > button[type=submit]").click()


def another_link_to(mailbox, address: str, contains: str, known: str) -> str:
    """The newest e-mailed link to `address` containing `contains`, once it is not `known`."""
    deadline = time.monotonic() + 10
    while (link := latest_link_to(mailbox, address, contains)) == known:
        assert time.monotonic() < deadline, f"no new {contains} link to {address}"
        time.sleep(0.1)
    return link


def audited(axe_audit: AxeAudit, page: Page, language: str, path: str, status: int = 200) -> None:
    """The page as it is now has been audited, and it is the page the walk is at, in its language."""
    expect(page).to_have_url(re.compile(path))
    state = axe_audit.check(page)
    assert (state["lang"], state["status"]) == (language, status), state


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "LINK_REQUEST_PER_ADDRESS_LIMIT": "1 per hour"}],
    ids=["one-link-an-hour"],
)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_has_no_accessibility_violations(portal, mailbox, browser, page, axe_audit, language):
    app, url = portal
    school = populate_school(app)
    typed, address = f"mari.{language}@gmial.com", f"mari.{language}@gmail.com"
    new_address = f"mari.{language}@example.ee"

    def at(path: str, status: int = 200) -> None:
        audited(axe_audit, page, language, path, status)

    # The login page, its two forms with their errors, a login link asked for, and asked for too often.
    page.goto(url + "/")
    choose(page, language)
    at(r"/$")
    submit(page, ".login-form")
    expect(page.locator(ERRORS)).to_be_visible()
    at("/logi-sisse$", 422)
    page.locator(".login-link summary").click()
    at("/logi-sisse$", 422)  # the login-link form open
    submit(page, ".login-link form")
    expect(page.locator("#link-email-error")).to_be_visible()
    at("/saada-link$", 422)
    page.locator("#link-email").fill(address)
    submit(page, ".login-link form")
    at("/link-saadetud$")
    page.goto(url + "/")
    page.locator(".login-link summary").click()
    page.locator("#link-email").fill(address)
    submit(page, ".login-link form")
    at("/saada-link$", 429)  # LINK_REQUEST_PER_ADDRESS_LIMIT: one an hour

    # No account yet: the way to apply, and help.
    page.goto(url + "/")
    page.locator("main a[href='/konto/uus']").click()
    at("/konto/uus$")
    page.locator("main a[href='/konto/taotle']").click()
    at("/konto/taotle$")
    page.locator("main a[href='/abi']").click()
    at("/abi$")

    # The ID-card and Smart-ID demos: errors, Smart-ID's verification code, a person the school does not know.
    page.goto(url + "/konto/taotle")
    page.locator("main a[href='/tuvasta/id-kaart']").click()
    at("/tuvasta/id-kaart$")
    submit(page, "main form")
    expect(page.locator(ERRORS)).to_be_visible()
    at("/tuvasta/id-kaart$", 422)
    page.goto(url + "/konto/taotle")
    page.locator("main a[href='/tuvasta/smart-id']").click()
    at("/tuvasta/smart-id$")
    submit(page, "main form")
    expect(page.locator(ERRORS)).to_be_visible()
    at("/tuvasta/smart-id$", 422)
    page.locator("#personal_code").fill(school.child_outside)  # a valid code, but nobody's parent
    submit(page, "main form")
    expect(page.locator(".verification-code")).to_have_text(re.compile(r"^\d{4}$"))
    at("/tuvasta/smart-id$")
    submit(page, "main form")
    at("/tuvasta/smart-id/kinnita$", 404)

    # Applying: errors, the typo suggestion, check your e-mail (and its form's error), the e-mailed form.
    page.goto(url + "/abi")
    page.locator("main a[href='/taotlus/']").first.click()
    at("/taotlus/$")
    submit(page, "#start-form")
    expect(page.locator(ERRORS)).to_be_visible()
    at("/taotlus/$", 422)
    page.locator("#email").fill(typed)
    page.locator("#child_personal_code").fill(school.child_5a)
    submit(page, "#start-form")
    expect(page.locator("#email-suggestion")).to_be_visible()
    at("/taotlus/$")
    page.locator("button[name=use_suggestion]").click()
    at("/taotlus/saadetud$")
    page.locator("#resend-email").fill("")
    submit(page, "form.resend")
    expect(page.locator("#resend-email-error")).to_be_visible()
    at("/taotlus/saada-uuesti$", 422)

    page.goto(latest_link_to(mailbox, address, "/taotlus/vorm/"))
    at("/taotlus/vorm/")
    submit(page, "#application-form")
    expect(page.locator(ERRORS)).to_be_visible()
    at("/taotlus/vorm/", 422)
    page.locator("#parent_first_name").fill("Mari-Liis")
    page.locator("#parent_last_name").fill("Mägi")
    page.locator("input[name=relation][value=ema]").check()
    page.locator("#child_first_name").fill("Juri")
    page.locator("#child_last_name").fill("Magi")
    page.locator("#consent").check()
    submit(page, "#application-form")
    at("/taotlus/valmis$")

    # The school's side, on a desktop: login with errors, the queue, an application (rejected without a
    # reason, then approved: htmx), a class, a child's page with an error, a parent's page, and the
    # parents' side, which is not theirs.
    staff = browser.new_context(viewport=DESKTOP, locale="et-EE").new_page()

    def staff_at(path: str, status: int = 200) -> None:
        audited(axe_audit, staff, language, path, status)

    staff.goto(url + "/kool/sisene")
    choose(staff, language)
    staff_at("/kool/sisene$")
    submit(staff, "main form")
    expect(staff.locator(ERRORS)).to_be_visible()
    staff_at("/kool/sisene$", 422)
    staff.locator("#email").fill(School.admin)
    staff.locator("#password").fill(STAFF_PASSWORD)
    submit(staff, "main form")
    staff_at("/kool/$")
    staff.locator("main a[href^='/kool/taotlus/']").click()
    staff_at(r"/kool/taotlus/\d+$")
    submit(staff, "form[hx-post$='/keeldu']")
    expect(staff.locator("#decision .error")).to_be_visible()
    staff_at(r"/kool/taotlus/\d+$")  # rejecting without a reason
    submit(staff, "form[hx-post$='/kinnita']")
    expect(staff.locator("#decision [role=status]")).to_be_visible()
    staff_at(r"/kool/taotlus/\d+$")
    staff.goto(url + "/kool/")
    staff.locator("main a[href^='/kool/klass/']").first.click()
    staff_at(r"/kool/klass/\d+$")
    class_page = staff.url
    staff.locator("main a[href*='/opilane/']").first.click()
    staff_at(r"/kool/klass/\d+/opilane/\d+$")
    staff.locator("#first_name").fill("")
    submit(staff, "main form")
    expect(staff.locator(ERRORS)).to_be_visible()
    staff_at(r"/kool/klass/\d+/opilane/\d+$", 422)
    staff.goto(class_page)
    staff.locator("main a[href*='/vanem/']").first.click()
    staff_at(r"/kool/klass/\d+/vanem/\d+$")
    staff.goto(url + "/profiil/")
    staff_at("/profiil/$", 403)
    staff.context.close()

    # The parent's login link from the approval: its page, then the profile; what the parent may not open,
    # a page that does not exist, and links that do not work (a bogus one, and the used one again).
    login_link = latest_link_to(mailbox, address, "/sisene/")
    page.goto(login_link)
    at("/sisene/")
    submit(page, "main form")
    at("/profiil/$")
    page.locator(".account-menu summary").click()
    at("/profiil/$")  # the account menu open
    page.goto(url + "/kool/")
    at("/kool/$", 403)
    page.goto(url + "/olematu")
    at("/olematu$", 404)
    page.goto(url + "/sisene/olematu-link")
    at("/sisene/olematu-link$", 404)
    page.goto(login_link)
    expect(page.locator("main form[action$='/uus']")).to_be_visible()  # "send me a new login link"
    at("/sisene/", 410)

    # The profile: the password with errors, then saved, and the undo link from its notice; the e-mail
    # address with an error, then changed by its confirmation link, and that change undone.
    page.goto(url + "/profiil/")
    page.locator("main a[href='/profiil/muuda']").click()
    at("/profiil/muuda$")
    page.locator("#new_password").fill("lühike")
    page.locator("#repeat_password").fill("lühike")
    submit(page, "#password-form")
    expect(page.locator(ERRORS)).to_be_visible()
    at("/profiil/muuda$", 422)
    page.locator("#new_password").fill(GOOD_PASSWORD)
    page.locator("#repeat_password").fill(GOOD_PASSWORD)
    submit(page, "#password-form")
    expect(page.locator(".flash")).to_be_visible()
    at("/profiil/$")
    undo_password_change = latest_link_to(mailbox, address, "/profiil/tagasi/")
    page.goto(undo_password_change)
    at("/profiil/tagasi/")
    page.goto(url + "/profiil/muuda")
    submit(page, "#email-form")
    expect(page.locator("#email-form .error")).to_be_visible()
    at("/profiil/e-post$", 422)
    page.locator("#email-form #email").fill(new_address)
    submit(page, "#email-form")
    expect(page.locator(".flash")).to_be_visible()
    at("/profiil/$")
    page.goto(latest_link_to(mailbox, new_address, "/profiil/e-post/"))
    at("/profiil/e-post/")
    submit(page, "main form")
    at("/profiil/e-post/")  # changed
    page.goto(another_link_to(mailbox, address, "/profiil/tagasi/", undo_password_change))
    at("/profiil/tagasi/")
    submit(page, "main form")
    at("/profiil/tagasi/")  # undone
