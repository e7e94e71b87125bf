"""The dev mailbox's message checks in Chromium, on the portal's own approval e-mail: the spam score, the
link check (which leaves the login link usable: the parent logs in with it afterwards), the support in
e-mail clients, and the preview at a phone's, a tablet's and a desktop's width; with and without script."""

import json
import re
import urllib.request

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import School, populate_school, submit_application
from webapp.extensions import db
from webapp.models import Application, Staff
from webapp.staff import decisions


def approval_email(app, client, mailbox):
    """The e-mail the portal sends when the school approves an application: it holds a login link."""
    school = populate_school(app)
    app.config["WTF_CSRF_ENABLED"] = False  # only while the application is made through the test client
    application = submit_application(app, client, school.child_5a, email="mari@example.ee")
    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_request_context():
        admin = db.session.scalar(sa.select(Staff).filter_by(email=School.admin))
        decisions.approve(db.session.get(Application, application), admin)
        db.session.commit()
    return mailbox.wait_for(to="mari@example.ee", subject="Sinu konto on valmis", timeout=30)


def frame_width(page) -> float:
    return page.locator("iframe.html-body").bounding_box()["width"]


def test_checks_on_the_approval_email_leave_its_login_link_usable(portal, mailbox, page, axe_audit):
    app, url = portal
    message = approval_email(app, app.test_client(), mailbox)
    login_link = next(link for link in message.links if "/sisene/" in link)

    page.goto(f"{mailbox.web_url}/message/{message.id}?lang=en")
    spam = page.locator("#spam-check")
    # The first check waits for the mailbox's spamd to start.
    expect(spam.locator(".verdict")).to_contain_text("points: not spam", timeout=120_000)
    expect(spam.get_by_role("table", name="Rules that fired")).to_be_visible()
    html_check = page.locator("#html-check")
    expect(html_check.locator(".verdict")).to_contain_text("Supported:")
    axe_audit.check(page)

    page.get_by_role("button", name="Check the links").click()
    links = page.locator("#link-check")
    row = links.get_by_role("row").filter(has_text=login_link)
    expect(row).to_contain_text("200")
    expect(row).to_contain_text("Works")
    expect(links.get_by_role("heading", name="Links")).to_be_focused()
    expect(links.locator(".verdict")).to_contain_text("all work.")
    axe_audit.check(page)

    # The preview at three widths; the frame's box scrolls sideways on a phone rather than the page.
    phone, tablet, desktop = (
        page.get_by_role("button", name=name) for name in ("Phone", "Tablet", "Desktop")
    )
    expect(desktop).to_have_attribute("aria-pressed", "true")
    phone.click()
    expect(phone).to_have_attribute("aria-pressed", "true")
    expect(desktop).to_have_attribute("aria-pressed", "false")
    assert frame_width(page) == 375
    tablet.click()
    expect(tablet).to_have_attribute("aria-pressed", "true")
    assert frame_width(page) == 768
    assert "preview=tablet" in page.url
    axe_audit.check(page)
    desktop.click()
    assert frame_width(page) < 360
    frame = page.frame_locator("iframe.html-body")
    expect(frame.get_by_role("link", name=login_link)).to_be_visible()

    # A QA tool asks too, through the API.
    with urllib.request.urlopen(
        f"{mailbox.api_url}/api/v1/message/{message.id}/link-check", timeout=60
    ) as answer:
        checked = json.loads(answer.read())
    assert {"URL": login_link, "StatusCode": 200, "Status": "OK"} in checked["Links"]

    # Checked twice, the link still logs the parent in.
    page.goto(login_link)
    page.get_by_role("button", name=re.compile("^Logi sisse kasutajana")).click()
    expect(page.get_by_role("heading", name="Sinu profiil")).to_be_visible()


def test_without_script_each_check_is_a_page_and_the_preview_a_reload(portal, mailbox, browser):
    app, _url = portal
    message = approval_email(app, app.test_client(), mailbox)
    context = browser.new_context(
        viewport={"width": 360, "height": 780}, java_script_enabled=False, locale="et-EE"
    )
    page = context.new_page()
    page.goto(f"{mailbox.web_url}/message/{message.id}")
    page.get_by_role("link", name="Näita rämpsposti hinnangut").click()
    expect(page.locator("#spam-check .verdict")).to_contain_text("pole rämpspost", timeout=120_000)
    page.get_by_role("link", name="Tagasi kirja juurde").click()

    page.get_by_role("button", name="Kontrolli linke").click()
    expect(page.locator("#link-check .verdict")).to_contain_text("kõik töötavad")
    page.get_by_role("link", name="Tagasi kirja juurde").click()

    page.get_by_role("button", name=re.compile("^Telefon")).click()
    expect(page.get_by_role("button", name=re.compile("^Telefon"))).to_have_attribute("aria-pressed", "true")
    assert "preview=phone" in page.url
    assert frame_width(page) == 375
    page.get_by_role("link", name="Näita tuge e-posti programmides").click()
    expect(page.locator("#html-check .verdict")).to_contain_text("Toetatud:")
    context.close()
