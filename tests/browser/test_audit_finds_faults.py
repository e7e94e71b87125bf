"""The automatic audit of every page (tests/browser/conftest.py) can fail: a page with an unlabelled
field, and one wider than a 360 px phone, are reported."""

from playwright.sync_api import Page

FAULTY = """<!doctype html><html lang="et"><head><meta charset="utf-8"><title>Vigane</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Vigane leht</h1><input type="text"><div style="width: 900px">lai</div></main></body></html>"""


def test_the_audit_reports_an_unlabelled_field_and_a_page_wider_than_the_phone(page: Page, axe_audit):
    page.route("http://faulty.test/", lambda route: route.fulfill(content_type="text/html", body=FAULTY))
    page.goto("http://faulty.test/")
    axe_audit.settle(page)
    found = list(axe_audit.violations)
    assert any("label (critical)" in line for line in found), found
    assert any("overflow: the page is 9" in line and "in a 360 px window" in line for line in found), found
    axe_audit.violations.clear()  # found, as they should be: the test itself passes
