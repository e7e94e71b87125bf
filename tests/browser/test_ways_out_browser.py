"""The seed's first way out, in Chromium: Smart-ID (demo), then the e-mail corrected with confirmation."""

import re
from datetime import date

from playwright.sync_api import expect

from tests.browser.conftest import latest_link_to
from webapp import isikukood
from webapp.extensions import db
from webapp.roster import import_rows

MOTHER_CODE = isikukood.make(date(1985, 6, 1), True, 201)


def test_smart_id_login_then_email_change_with_confirmation(portal, mailbox, page, screenshot, browser):
    app, url = portal
    with app.app_context():
        child = isikukood.make(date(date.today().year - 11, 5, 1), female=False, serial=11)
        import_rows(
            [
                {
                    "class": "5A",
                    "student_personal_code": child,
                    "student_first_name": "Jüri",
                    "student_last_name": "Mägi",
                    "parent_personal_code": MOTHER_CODE,
                    "parent_first_name": "Kadri",
                    "parent_last_name": "Mägi",
                    "parent_email": "kadri@gmial.com",
                }
            ]
        )
        db.session.commit()

    page.goto(url + "/")
    page.get_by_role("link", name="Smart-ID").click()
    expect(page.get_by_text("Tegelikku isikutuvastust ei toimu.")).to_be_visible()
    page.get_by_label("Sinu isikukood").fill(MOTHER_CODE)
    page.get_by_role("button", name="Logi sisse").click()
    code = page.get_by_label("Kontrollkood")
    expect(code).to_have_text(re.compile(r"^\d{4}$"))
    screenshot("smart-id-verification-code")
    page.get_by_role("button", name="Kinnitasin telefonis (demo)").click()
    expect(page.get_by_role("heading", name="Sinu profiil")).to_be_visible()
    expect(page.get_by_text("kadri@gmial.com")).to_be_visible()
    screenshot("logged-in-with-smart-id")

    page.get_by_role("link", name="Muuda profiili").click()
    page.get_by_label("Uus e-posti aadress").fill("kadri@gmail.com")
    page.get_by_role("button", name="Muuda e-posti aadressi").click()
    expect(page.get_by_role("status")).to_contain_text("Saatsime kinnituslingi aadressile kadri@gmail.com")
    expect(page.get_by_text("kadri@gmial.com")).to_be_visible()  # unchanged until confirmed
    screenshot("confirmation-sent")

    mailbox_tab = browser.new_context(locale="et-EE").new_page()
    mailbox_tab.goto(latest_link_to(mailbox, "kadri@gmail.com", "/profiil/e-post/"))
    mailbox_tab.get_by_role("button", name="Kinnita").click()
    expect(mailbox_tab.get_by_text("Nüüdsest kirjutab kool aadressile kadri@gmail.com")).to_be_visible()
    mailbox_tab.context.close()

    # A changed address ends every other session of the account, this tab's too: log in again.
    page.goto(url + "/profiil/")
    expect(page.get_by_role("button", name="Logi sisse")).to_be_visible()
    page.get_by_role("link", name="Smart-ID").click()
    page.get_by_label("Sinu isikukood").fill(MOTHER_CODE)
    page.get_by_role("button", name="Logi sisse").click()
    page.get_by_role("button", name="Kinnitasin telefonis (demo)").click()
    expect(page.get_by_text("kadri@gmail.com")).to_be_visible()
    screenshot("email-changed")
    old_address_notice = mailbox.wait_for(to="kadri@gmial.com", subject="Sinu e-posti aadress muudeti")
    assert "kadri@gmail.com" in old_address_notice.text
