"""The typo guard in Chromium: only a click on the suggestion takes it; Enter keeps what the parent typed."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, latest_link_to
from tests.conftest import outbox_messages

TYPED = "mari@gmial.com"
SUGGESTED = "mari@gmail.com"
EMAIL = "Sinu e-posti aadress"
CODE = "Lapse isikukood"
CHECK_YOUR_EMAIL = "Kontrolli oma e-posti"


def fill_step_one(page: Page, url: str, child_code: str) -> None:
    page.goto(url + "/taotlus/")
    page.get_by_label(EMAIL).fill(TYPED)
    page.get_by_label(CODE).fill(child_code)


def submit_and_see_the_suggestion(page: Page) -> None:
    page.get_by_role("button", name="Edasi").click()
    expect(page.get_by_text(f"Kas mõtlesid {SUGGESTED}?")).to_be_visible()


def assert_sent_only_to(app, mailbox, address: str) -> None:
    assert [message.recipient for message in outbox_messages(app)] == [address]
    assert "/taotlus/vorm/" in latest_link_to(mailbox, address, "/taotlus/vorm/")


@pytest.mark.parametrize("script", [True, False], ids=["with-script", "without-script"])
def test_enter_in_the_email_field_keeps_the_typed_address(browser, portal, mailbox, child_code, script):
    app, url = portal
    context = browser.new_context(
        java_script_enabled=script, viewport={"width": 360, "height": 780}, locale="et-EE"
    )
    page = context.new_page()
    fill_step_one(page, url, child_code)
    submit_and_see_the_suggestion(page)
    page.get_by_label(EMAIL).press("Enter")
    expect(page.get_by_role("heading", name=CHECK_YOUR_EMAIL)).to_be_visible()
    assert_sent_only_to(app, mailbox, TYPED)
    context.close()


def test_enter_after_the_suggestion_came_on_blur_keeps_the_typed_address(page, portal, mailbox, child_code):
    app, url = portal
    page.goto(url + "/taotlus/")
    page.get_by_label(EMAIL).fill(TYPED)
    page.get_by_label(EMAIL).press("Tab")  # htmx checks the address as it loses focus
    expect(page.get_by_text(f"Kas mõtlesid {SUGGESTED}?")).to_be_visible()
    page.get_by_label(CODE).fill(child_code)
    page.get_by_label(CODE).press("Enter")  # a phone's "Go" does the same
    expect(page.get_by_role("heading", name=CHECK_YOUR_EMAIL)).to_be_visible()
    assert_sent_only_to(app, mailbox, TYPED)


def test_a_click_on_the_suggestion_sends_to_the_suggested_address(
    page, portal, mailbox, child_code, screenshot
):
    app, url = portal
    fill_step_one(page, url, child_code)
    submit_and_see_the_suggestion(page)
    screenshot("suggestion")
    page.get_by_role("button", name=f"Jah, kasuta {SUGGESTED}").click()
    expect(page.get_by_role("heading", name=CHECK_YOUR_EMAIL)).to_be_visible()
    assert_sent_only_to(app, mailbox, SUGGESTED)


def test_a_click_on_keep_sends_to_the_typed_address(page, portal, mailbox, child_code):
    app, url = portal
    fill_step_one(page, url, child_code)
    submit_and_see_the_suggestion(page)
    page.get_by_role("button", name=f"Ei, jäta {TYPED}").click()
    expect(page.get_by_role("heading", name=CHECK_YOUR_EMAIL)).to_be_visible()
    assert_sent_only_to(app, mailbox, TYPED)


def test_the_suggestion_is_accessible(portal, audit_page, child_code):
    _app, url = portal
    fill_step_one(audit_page, url, child_code)
    submit_and_see_the_suggestion(audit_page)
    assert_accessible(audit_page)
