"""The dev mailbox's inbox in Chromium, as QA and a trainer at a projector use it: the list beside the open
message at 1280 px and one of them at a time at 375 px, the keyboard shortcuts, unread marks, live mail
and counts, the tag filter; the scenarios page's presets and clear-all. axe-core audits every page (see
conftest); states that script makes without a load (a message opened in place, a dialog) are audited with
axe_audit.check. Screenshots go to test-output/mailbox_ui/."""

import json
import re
import smtplib
import urllib.request
from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import OUTPUT

LIVE = 15_000  # ms: what arrives over SMTP shows up through the mailbox's event stream, on a loaded machine


def send(mailbox, subject: str, to: str = "mari@example.com", tags: str | None = None) -> None:
    """A message as the portal sends one: text and HTML, tagged by kind in X-Tags."""
    message = EmailMessage()
    message["From"] = "Testkool <noreply@kool.example>"
    message["To"] = to
    message["Subject"] = subject
    if tags:
        message["X-Tags"] = tags
    message.set_content(f"Tere!\n\n{subject}: https://portal.test/x\n")
    message.add_alternative(
        f'<p>Tere!</p><p><a href="https://portal.test/x">{subject}</a></p>', subtype="html"
    )
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client:
        client.send_message(message)


def api(mailbox, path: str, method: str = "GET", body: object = None) -> object:
    request = urllib.request.Request(  # noqa: S310 - the test's own mailbox on loopback
        mailbox.api_url + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        text = answer.read()
    return json.loads(text) if answer.headers.get_content_type() == "application/json" else text


def open_page(browser: Browser, width: int, errors: list[str]) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)

    def on_console(message) -> None:
        # A form refused with 400 logs its own status: that is the document, not a broken part of it.
        if message.type == "error" and message.location.get("url") != page.url:
            errors.append(f"{page.url}: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def shot(page: Page, name: str) -> None:
    folder = OUTPUT / "mailbox_ui"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, caret="initial")


def list_link(page: Page, subject: str):
    return page.locator("#message-list a[data-id]").filter(has_text=subject)


def folder_link(page: Page, name: str):
    return page.locator("#folders a").filter(has_text=name)


def focused_subject(page: Page) -> str:
    return page.evaluate("document.activeElement.querySelector('.subject')?.textContent.trim() ?? ''")


def three_kinds_of_mail(mailbox) -> None:
    send(mailbox, "Taotluse link", tags="application link")
    send(mailbox, "Sisselogimise link", tags="login link")
    send(mailbox, "Konto on valmis", tags="approved")
    mailbox.wait_for(subject="Konto on valmis")


def test_two_panes_at_1280_and_the_keyboard(mailbox, browser, axe_audit):
    three_kinds_of_mail(mailbox)
    errors: list[str] = []
    page = open_page(browser, 1280, errors)
    page.goto(mailbox.web_url + "/?lang=en")
    expect(folder_link(page, "Inbox")).to_have_text(re.compile(r"Inbox\s+3\s+3 unread"))
    expect(page.locator("#message-list li.unread")).to_have_count(3)
    expect(page.get_by_text("Choose a message in the list to read it here.")).to_be_visible()
    shot(page, "keys-inbox-1280-en")

    # j and k move through the list (newest first), Enter opens beside it.
    page.keyboard.press("j")
    assert focused_subject(page).endswith("Konto on valmis")
    page.keyboard.press("j")
    assert focused_subject(page).endswith("Sisselogimise link")
    page.keyboard.press("k")
    assert focused_subject(page).endswith("Konto on valmis")
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", level=1, name="Konto on valmis")
    expect(heading).to_be_focused()
    assert re.search(r"/message/[\w-]+\?folder=inbox$", page.url)
    expect(page.locator(".list-pane")).to_be_visible()  # both panes
    opened = list_link(page, "Konto on valmis")
    expect(opened).to_have_attribute("aria-current", "true")
    # Opening it read it: the mark goes, and the counts follow.
    expect(page.locator("#message-list li.unread")).to_have_count(2)
    expect(opened.locator("[data-unread-label]")).to_have_count(0)
    expect(folder_link(page, "Inbox")).to_have_text(re.compile(r"Inbox\s+3\s+2 unread"), timeout=LIVE)
    expect(page.locator("#spam-check")).to_be_visible()  # the checks are in the message pane
    axe_audit.check(page)
    shot(page, "keys-message-1280-en")

    # With a message open, j and k open the next and previous one.
    page.keyboard.press("j")
    expect(page.get_by_role("heading", level=1, name="Sisselogimise link")).to_be_visible()
    expect(list_link(page, "Sisselogimise link")).to_have_attribute("aria-current", "true")
    expect(list_link(page, "Sisselogimise link")).to_be_focused()
    page.keyboard.press("k")
    expect(page.get_by_role("heading", level=1, name="Konto on valmis")).to_be_visible()
    page.go_back()  # the address followed: back is the message before
    expect(page.get_by_role("heading", level=1, name="Sisselogimise link")).to_be_visible()
    page.go_forward()
    expect(page.get_by_role("heading", level=1, name="Konto on valmis")).to_be_visible()

    # Mark as unread, with a button; the mark comes back.
    page.get_by_role("button", name="Mark as unread").click()
    expect(page.locator("#inbox-status")).to_have_text("Marked as unread.")
    expect(list_link(page, "Konto on valmis").locator("[data-unread-label]")).to_have_count(1)
    expect(folder_link(page, "Inbox")).to_have_text(re.compile(r"Inbox\s+3\s+2 unread"), timeout=LIVE)

    # Delete deletes the open message; the next one takes its place.
    page.keyboard.press("Delete")
    expect(page.get_by_role("heading", level=1, name="Sisselogimise link")).to_be_visible()
    expect(page.locator("#inbox-status")).to_have_text("Message deleted.")
    expect(list_link(page, "Konto on valmis")).to_have_count(0)
    assert sorted(message.subject for message in mailbox.messages()) == [
        "Sisselogimise link",
        "Taotluse link",
    ]
    expect(folder_link(page, "Inbox")).to_have_text(re.compile(r"Inbox\s+2\s+1 unread"), timeout=LIVE)

    # / goes to the search; while typing there, no key is a shortcut.
    page.keyboard.press("/")
    search = page.get_by_label("Search")
    expect(search).to_be_focused()
    page.keyboard.type("jk")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Delete")
    page.keyboard.press("?")
    expect(search).to_have_value("j?")  # Delete removed the k, as in any field
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert len(mailbox.messages()) == 2
    search.fill("")

    # ? lists the keys in a dialog; Escape closes it and focus comes back.
    page.get_by_role("heading", level=1, name="Sisselogimise link").focus()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("cell", name="Delete the message")).to_be_visible()
    page.keyboard.press("j")  # not while the dialog is open
    expect(page.get_by_role("heading", level=1, name="Sisselogimise link")).to_be_visible()
    axe_audit.check(page)
    shot(page, "shortcuts-1280-en")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1, name="Sisselogimise link")).to_be_focused()
    page.get_by_role("button", name="Keyboard shortcuts").click()  # the same without the key
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # New mail appears by itself, in the list and the counts, tagged.
    send(mailbox, "Parool on muudetud", tags="password changed")
    expect(list_link(page, "Parool on muudetud")).to_be_visible(timeout=LIVE)
    expect(list_link(page, "Parool on muudetud").locator(".tag")).to_have_text("password changed")
    expect(folder_link(page, "Inbox")).to_have_text(re.compile(r"Inbox\s+3\s+2 unread"), timeout=LIVE)
    expect(list_link(page, "Sisselogimise link")).to_have_attribute("aria-current", "true")

    # The tag bar filters the list by tag, and a second press shows them all again.
    tags = page.get_by_role("navigation", name="Tags")
    tags.get_by_role("link", name="login link").click()
    expect(page.locator("#message-list a[data-id]")).to_have_count(1)
    expect(list_link(page, "Sisselogimise link")).to_be_visible()
    expect(page.get_by_label("Search")).to_have_value('tag:"login link"')
    expect(tags.get_by_role("link", name="Showing only: login link")).to_have_attribute(
        "aria-current", "true"
    )
    shot(page, "tag-filter-1280-en")
    tags.get_by_role("link", name="Showing only: login link").click()
    expect(page.locator("#message-list a[data-id]")).to_have_count(3)
    assert errors == []


def test_one_pane_at_375(mailbox, browser, axe_audit):
    three_kinds_of_mail(mailbox)
    errors: list[str] = []
    page = open_page(browser, 375, errors)
    page.goto(mailbox.web_url + "/?lang=ru")
    expect(page.locator("#message-pane")).to_be_hidden()
    expect(folder_link(page, "Входящие")).to_have_text(re.compile(r"Входящие\s+3\s+3 непрочитанных"))
    shot(page, "keys-inbox-375-ru")

    # A message takes the list's place, with a way back.
    list_link(page, "Sisselogimise link").click()
    heading = page.get_by_role("heading", level=1, name="Sisselogimise link")
    expect(heading).to_be_focused()
    expect(page.locator(".list-pane")).to_be_hidden()
    back = page.get_by_role("link", name="Назад к списку")
    expect(back).to_be_visible()
    axe_audit.check(page)
    shot(page, "keys-message-375-ru")

    # j opens the next one (the list is out of sight, so the focus goes to its heading).
    page.keyboard.press("j")
    expect(page.get_by_role("heading", level=1, name="Taotluse link")).to_be_focused()
    page.keyboard.press("k")
    expect(page.get_by_role("heading", level=1, name="Sisselogimise link")).to_be_focused()
    back.click()
    expect(page.locator(".list-pane")).to_be_visible()
    expect(page.locator("#message-pane")).to_be_hidden()
    expect(list_link(page, "Sisselogimise link")).to_be_focused()  # where the reader was
    expect(page).to_have_url(re.compile(r"/\?folder=inbox$"))
    expect(page.locator("#message-list li.unread")).to_have_count(1)  # the two opened are read
    expect(folder_link(page, "Входящие")).to_have_text(
        re.compile(r"Входящие\s+3\s+1 непрочитанное"), timeout=LIVE
    )

    # Delete on a message in focus in the list deletes that one.
    page.keyboard.press("Delete")
    expect(list_link(page, "Sisselogimise link")).to_have_count(0)
    expect(page.locator("#inbox-status")).to_have_text("Письмо удалено.")
    expect(list_link(page, "Taotluse link")).to_be_focused()

    page.keyboard.press("/")
    expect(page.get_by_label("Поиск")).to_be_focused()
    page.get_by_label("Поиск").press("Escape")
    page.locator("#list-heading").click()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Горячие клавиши")).to_be_visible()
    axe_audit.check(page)
    shot(page, "shortcuts-375-ru")
    page.keyboard.press("Escape")

    send(mailbox, "Parool on muudetud", tags="password changed")
    expect(list_link(page, "Parool on muudetud")).to_be_visible(timeout=LIVE)
    expect(folder_link(page, "Входящие")).to_have_text(
        re.compile(r"Входящие\s+3\s+2 непрочитанных"), timeout=LIVE
    )

    page.get_by_role("navigation", name="Метки").get_by_role("link", name="password changed").click()
    expect(page.locator("#message-list a[data-id]")).to_have_count(1)
    shot(page, "tag-filter-375-ru")
    assert errors == []


@pytest.mark.parametrize(("width", "language"), [(1280, "et"), (375, "en")])
def test_presets_and_clear_all(mailbox, browser, axe_audit, width, language):
    words = {
        "et": {
            "address": "Saaja e-posti aadress",
            "spam": "läheb rämpsposti",
            "lost": "kaob: võetakse vastu, kuid ei jõua kohale",
            "late": "jõuab kohale hiljem, mõne minuti pärast",
            "minutes": "Mitu minutit hiljem (kõige rohkem 10)",
            "set": "Määra",
            "next_spam": "Järgmine kiri aadressile mari@example.com läheb rämpsposti.",
            "no_rule": "Reegleid pole: iga kiri jõuab sissetulevate kausta.",
            "bad_minutes": "Sisesta viivitus minutites: rohkem kui 0 ja kõige rohkem 10.",
            "lost_log": "Kaotatud",
            "lost_reason": "Reegel 1 (kati@example.com): Kaota vaikselt",
            "late_reason": "Reegel 1 (olga@example.com): Viivita (3 sekundit)",
            "clear": "Eemalda kõik reeglid ja kaos…",
            "confirm": "Jah, eemalda kõik",
            "cancel": "Loobu",
            "cleared": "Kõik reeglid ja kaos on eemaldatud: iga kiri toimetatakse kohale.",
            "rule2": "Reegel 2: saaja",
            "save": "Salvesta",
            "regex": "reegel 2: vigane regulaaravaldis, märk 1: sulg [ on sulgemata",
            "probability": "Saaja (RCPT): tõenäosus protsentides (0–100)",
            "chaos": "Juhuslikud vead etapis Saaja (RCPT): 10 juhtu 100-st ebaõnnestuvad koodiga 451.",
            "log": "Kohaletoimetamise logi",
            "scenarios": "Kohaletoimetamise stsenaariumid",
        },
        "en": {
            "address": "Recipient's e-mail address",
            "spam": "goes to spam",
            "lost": "is lost: accepted, and never delivered",
            "late": "arrives late, after some minutes",
            "minutes": "Minutes late (at most 10)",
            "set": "Set",
            "next_spam": "The next e-mail to mari@example.com goes to spam.",
            "no_rule": "No rule: every e-mail is delivered to the inbox.",
            "bad_minutes": "Give the delay in minutes: more than 0 and at most 10.",
            "lost_log": "Dropped",
            "lost_reason": "Rule 1 (kati@example.com): Drop silently",
            "late_reason": "Rule 1 (olga@example.com): Delay (3 seconds)",
            "clear": "Clear all rules and chaos…",
            "confirm": "Yes, clear them all",
            "cancel": "Cancel",
            "cleared": "Every rule and all chaos cleared: every e-mail is delivered.",
            "rule2": "Rule 2: recipient",
            "save": "Save",
            "regex": "rule 2: invalid regular expression at character 1: a bracket [ is not closed",
            "probability": "Recipient (RCPT): probability in percent (0–100)",
            "chaos": "Random failures at Recipient (RCPT): 10 in 100 fail with 451.",
            "log": "Delivery log",
            "scenarios": "Delivery scenarios",
        },
    }[language]
    errors: list[str] = []
    page = open_page(browser, width, errors)
    page.goto(f"{mailbox.web_url}/scenarios?lang={language}")
    expect(page.get_by_text(words["no_rule"])).to_be_visible()
    in_force = page.locator("#rules-in-force")

    def preset(address: str, choice: str, minutes: str | None = None) -> None:
        page.get_by_label(words["address"]).fill(address)
        page.get_by_label(choice).check()
        if minutes is not None:
            page.get_by_label(words["minutes"]).fill(minutes)
        page.get_by_role("button", name=words["set"], exact=True).click()

    # "The next e-mail to mari goes to spam": it does, once, and the page says so as it happens.
    preset("mari@example.com", words["spam"])
    expect(in_force).to_contain_text(words["next_spam"])
    shot(page, f"scenarios-{width}-{language}")
    send(mailbox, "Sinu konto on valmis")
    expect(in_force).to_contain_text(words["no_rule"], timeout=LIVE)
    assert mailbox.wait_for(subject="Sinu konto on valmis").folder == "spam"
    send(mailbox, "Teine kiri")
    assert mailbox.wait_for(subject="Teine kiri").folder == "inbox"

    # Lost, and late (minutes, written the reader's way or not at all): the log says what happened.
    preset("kati@example.com", words["lost"])
    send(mailbox, "Kadunud kiri", to="kati@example.com")
    preset("olga@example.com", words["late"], minutes="pool")
    expect(page.get_by_role("alert")).to_contain_text(words["bad_minutes"])
    minutes = page.get_by_label(words["minutes"])
    expect(minutes).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#" + minutes.get_attribute("aria-describedby").split()[0])).to_have_text(
        words["bad_minutes"]
    )
    expect(page.get_by_label(words["address"])).to_have_value("olga@example.com")  # kept as typed
    axe_audit.check(page)
    shot(page, f"scenarios-error-{width}-{language}")
    preset("olga@example.com", words["late"], minutes="0,05" if language == "et" else "0.05")
    send(mailbox, "Hiline kiri", to="olga@example.com")  # 3 seconds late
    page.get_by_role("link", name=words["log"]).click()
    log = page.locator("table.log")
    lost = log.get_by_role("row").filter(has_text="kati@example.com")
    expect(lost).to_contain_text("Kadunud kiri")
    expect(lost).to_contain_text(words["lost_log"])
    expect(lost).to_contain_text(words["lost_reason"])
    expect(log.get_by_role("row").filter(has_text="olga@example.com")).to_contain_text(words["late_reason"])
    expect(log.get_by_role("link", name="Sinu konto on valmis")).to_be_visible()
    expect(page.locator("#log-caption")).to_contain_text("Europe/Tallinn")
    shot(page, f"log-{width}-{language}")

    # The rules in detail: a bad regular expression is said in the reader's words, next to its field.
    page.get_by_role("link", name=words["scenarios"]).click()
    page.get_by_label(words["rule2"]).fill("re:[a-z")
    page.get_by_role("button", name=words["save"]).click()
    expect(page.get_by_role("alert")).to_contain_text(words["regex"])
    expect(page.get_by_label(words["rule2"])).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#match-2-error")).to_have_text(words["regex"])
    axe_audit.check(page)
    page.get_by_label(words["rule2"]).fill("")
    page.get_by_label(words["probability"]).fill("10")
    page.get_by_role("button", name=words["save"]).click()
    expect(in_force).to_contain_text(words["chaos"])

    # Clear all, after a confirmation; cancelling keeps everything.
    page.get_by_role("link", name=words["clear"]).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    axe_audit.check(page)
    shot(page, f"clear-dialog-{width}-{language}")
    dialog.get_by_role("link", name=words["cancel"]).click()
    expect(dialog).to_be_hidden()
    assert api(mailbox, "/api/v1/chaos")["Recipient"]["Probability"] == 10
    page.get_by_role("link", name=words["clear"]).click()
    dialog.get_by_role("button", name=words["confirm"]).click()
    expect(page.get_by_role("status")).to_have_text(words["cleared"])
    expect(in_force).to_contain_text(words["no_rule"])
    assert api(mailbox, "/api/v1/rules") == []
    assert all(trigger["Probability"] == 0 for trigger in api(mailbox, "/api/v1/chaos").values())
    assert errors == []


def test_without_script_messages_are_pages_and_clearing_asks_on_a_page(mailbox, browser):
    three_kinds_of_mail(mailbox)
    mailbox.add_rule("mari@example.com", "spam")
    context = browser.new_context(viewport={"width": 375, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.goto(mailbox.web_url + "/?lang=en")
    page.get_by_role("link", name=re.compile("Sisselogimise link")).click()
    expect(page.get_by_role("heading", level=1, name="Sisselogimise link")).to_be_visible()
    page.get_by_role("button", name="Mark as unread").click()
    expect(page.get_by_role("heading", level=1, name="Inbox")).to_be_visible()
    expect(page.locator("#message-list li.unread")).to_have_count(3)
    page.get_by_role("link", name=re.compile("Sisselogimise link")).click()
    page.get_by_role("link", name="Back to the list").click()
    expect(page.locator("#message-list li.unread")).to_have_count(2)
    page.get_by_role("link", name=re.compile("Taotluse link")).click()
    page.get_by_role("button", name="Delete this message").click()
    expect(page.get_by_role("heading", level=1, name="Inbox")).to_be_visible()
    expect(page.locator("#message-list a[data-id]")).to_have_count(2)

    page.goto(mailbox.web_url + "/scenarios?lang=en")
    page.get_by_role("link", name="Clear all rules and chaos…").click()
    expect(page.get_by_role("heading", level=1, name="Clear all rules and chaos?")).to_be_visible()
    page.get_by_role("button", name="Yes, clear them all").click()
    expect(page.get_by_role("status")).to_have_text(
        "Every rule and all chaos cleared: every e-mail is delivered."
    )
    assert api(mailbox, "/api/v1/rules") == []
    context.close()


@pytest.mark.parametrize("language", ["et", "ru", "en"])
def test_every_mailbox_page_in_each_language(mailbox, browser, axe_audit, language):
    """Every page of the inbox, at a phone's and a desktop's width (axe-core audits each as it loads),
    with a screenshot of each."""
    mailbox.add_rule("*@gmial.com", "spam")
    mailbox.add_rule("kati@example.com", "drop")
    three_kinds_of_mail(mailbox)
    send(mailbox, "Rämpsu sattunud", to="jaan@gmial.com", tags="login link")
    send(mailbox, "Kadunud", to="kati@example.com")
    message = mailbox.wait_for(subject="Sisselogimise link")
    api(
        mailbox,
        "/api/v1/rules",
        "PUT",
        [{"match": "olga@example.com", "action": "delay", "seconds": 90, "times": 2}],
    )
    pages = {
        "inbox": "/",
        "spam": "/?folder=spam",
        "search": "/?q=" + "tag:%22login%20link%22",
        "bad-search": "/?q=before:eile",
        "message": f"/message/{message.id}",
        "scenarios": "/scenarios",
        "clear": "/scenarios/clear",
        "log": "/log",
        "link-check": f"/message/{message.id}/link-check",
        "html-check": f"/message/{message.id}/html-check",
        "missing": "/message/unknown",
        # Last: the message page has started SpamAssassin by now (its first check waits for it).
        "spam-check": f"/message/{message.id}/spam-check",
    }
    errors: list[str] = []
    for width in (1280, 375):
        page = open_page(browser, width, errors)
        for name, path in pages.items():
            separator = "&" if "?" in path else "?"
            page.goto(f"{mailbox.web_url}{path}{separator}lang={language}", timeout=180_000)
            expect(page.locator("html")).to_have_attribute("lang", language)
            shot(page, f"{name}-{width}-{language}")
        page.context.close()
    # The not-found page answers 404, which Chromium logs; nothing else is an error.
    assert [error for error in errors if "404" not in error] == []
