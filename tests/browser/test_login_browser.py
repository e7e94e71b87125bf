"""The admin approves in the browser; the parent logs in from the e-mail and sets a password."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, latest_link_to
from tests.conftest import STAFF_PASSWORD, School, populate_school, submit_application

GOOD_PASSWORD = "Kolm sinist jõehobu!"


def test_admin_approves_and_parent_sets_a_password(browser, portal, mailbox, page, screenshot):
    app, url = portal
    school = populate_school(app)
    app.config["WTF_CSRF_ENABLED"] = False  # only while the application is made through the test client
    submit_application(app, app.test_client(), school.child_5a, email="mari@example.ee")
    app.config["WTF_CSRF_ENABLED"] = True

    admin = browser.new_context(viewport={"width": 360, "height": 780}, locale="et-EE").new_page()
    admin.goto(url + "/kool/sisene")
    admin.get_by_label("E-posti aadress").fill(School.admin)
    admin.get_by_label("Parool").fill(STAFF_PASSWORD)
    admin.get_by_role("button", name="Logi sisse").click()
    admin.get_by_role("link", name="Mari-Liis Mägi").click()
    expect(admin.get_by_text("Lapse nimi klapib nimekirjaga.")).to_be_visible()
    admin.get_by_role("button", name="Kinnita").click()  # an htmx action: the decision swaps in place
    expect(admin.get_by_role("status")).to_contain_text("Kinnitatud")
    expect(admin.locator("#decision")).to_be_focused()
    admin.context.close()

    page.goto(latest_link_to(mailbox, "mari@example.ee", "/sisene/"))
    # Whose account it is, and one press of a button: nothing happens by itself (scanners, login CSRF).
    expect(page.get_by_text("Mari-Liis Mägi (mari@example.ee)")).to_be_visible()
    page.wait_for_timeout(500)
    expect(page.get_by_role("heading", name="Logi sisse")).to_be_visible()
    screenshot("login-link-page")
    page.get_by_role("button", name="Logi sisse kasutajana Mari-Liis Mägi").click()
    expect(page.get_by_role("heading", name="Sinu profiil")).to_be_visible()
    screenshot("logged-in-from-the-email")
    page.get_by_label("Kontomenüü").click()  # the account icon, top right
    screenshot("account-menu")
    page.get_by_role("link", name="Sinu profiil").click()
    page.get_by_role("link", name="Muuda profiili").click()

    new, again = page.get_by_label("Uus parool", exact=True), page.get_by_label("Uus parool uuesti")
    new.press_sequentially("password1", delay=20)
    expect(page.locator("#password-strength")).to_contain_text("Tugevus: väga nõrk")  # htmx, as one types
    screenshot("weak-password-meter")
    again.fill("password1")
    page.get_by_role("button", name="Salvesta").click()
    expect(page.locator("#new_password-error")).to_contain_text("Seda parooli on liiga lihtne ära arvata.")
    screenshot("weak-password-refused")

    page.get_by_label("Uus parool", exact=True).fill("Mari-Liis-Kevadine-77")
    page.get_by_label("Uus parool uuesti").fill("Mari-Liis-Kevadine-77")
    page.get_by_role("button", name="Salvesta").click()
    expect(page.locator("#new_password-error")).to_contain_text("ees- ega perekonnanime (Mari)")
    screenshot("own-name-refused")

    page.get_by_label("Uus parool", exact=True).fill(GOOD_PASSWORD)
    page.get_by_label("Uus parool uuesti").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Salvesta").click()
    expect(page.get_by_role("status")).to_contain_text("Sinu parool on salvestatud.")
    screenshot("password-saved")

    page.get_by_label("Kontomenüü").click()
    page.get_by_role("button", name="Logi välja").click()
    page.get_by_label("E-posti aadress").first.fill("mari@example.ee")
    page.get_by_label("Parool").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Logi sisse").click()
    expect(page.get_by_role("heading", name="Sinu profiil")).to_be_visible()
    screenshot("logged-in-with-the-password")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_staff_and_parent_pages_have_no_accessibility_violations(portal, audit_page):
    app, url = portal
    school = populate_school(app)
    app.config["WTF_CSRF_ENABLED"] = False
    application_id = submit_application(app, app.test_client(), school.child_5a, email="mari@example.ee")
    app.config["WTF_CSRF_ENABLED"] = True
    page = audit_page
    page.goto(url + "/kool/sisene")
    assert_accessible(page)
    page.get_by_label("E-posti aadress").fill(School.admin)
    page.get_by_label("Parool").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Logi sisse").click()
    for path in ["/kool/", f"/kool/taotlus/{application_id}"]:
        page.goto(url + path)
        assert_accessible(page)
    page.get_by_role("button", name="Kinnita").click()
    expect(page.get_by_role("status")).to_contain_text("Kinnitatud")
    assert_accessible(page)
    page.get_by_role("link", name="Taotlused").first.click()
    page.get_by_role("link", name="5A").click()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Muuda.*Mari-Liis Mägi")).click()
    assert_accessible(page)

    parent = page.context.browser.new_context(locale="et-EE", bypass_csp=True).new_page()
    parent.goto(latest_login_link(app))
    assert_accessible(parent)  # the login-link page with its button
    parent.get_by_role("button", name=re.compile("Logi sisse kasutajana")).click()
    expect(parent.get_by_role("heading", name="Sinu profiil")).to_be_visible()
    assert_accessible(parent)
    parent.goto(url + "/profiil/muuda")
    parent.get_by_label("Uus parool", exact=True).fill("lühike")
    parent.get_by_role("button", name="Salvesta").click()  # the page with its errors
    assert_accessible(parent)
    parent.context.close()


def latest_login_link(app) -> str:
    from tests.conftest import outbox_messages

    text = next(m.text_body for m in reversed(outbox_messages(app)) if "/sisene/" in m.text_body)
    return re.search(r"https?://\S+/sisene/\S+", text).group(0)
