"""Errors and the typo suggestion on the application forms, as a parent meets them on a 360 px phone, in
Estonian, Russian and English: the summary follows the inline checks, an inline error and the suggestion
are announced, focus goes to the suggestion, and addresses break only where they may.

Each story runs twice: on `page` (the real CSP, any script error fails) with screenshots, and on
`audit_page`, where axe-core checks every state the story passes through."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible

LANGUAGES = ["et", "ru", "en"]
TEXT = {
    "et": {
        "email": "Sinu e-posti aadress",
        "code": "Lapse isikukood",
        "next": "Edasi",
        "required": "See väli on kohustuslik.",
        "checksum": "Viimane number (kontrollnumber) ei klapi.",
        "did_you_mean": "Kas mõtlesid {}?",
        "keep": "Ei, jäta {}",
        "use": "Jah, kasuta {}",
        "first": "Sinu eesnimi",
        "last": "Sinu perekonnanimi",
        "relation": "ema",
        "child_first": "Lapse eesnimi",
        "child_last": "Lapse perekonnanimi",
        "send": "Saada taotlus",
        "done": "VALMIS!",
    },
    "ru": {
        "email": "Ваш e-mail",
        "code": "Личный код ребёнка",
        "next": "Далее",
        "required": "Это поле обязательно.",
        "checksum": "Последняя цифра (контрольная) не совпадает.",
        "did_you_mean": "Возможно, вы имели в виду {}?",
        "keep": "Нет, оставить {}",
        "use": "Да, использовать {}",
        "first": "Ваше имя",
        "last": "Ваша фамилия",
        "relation": "мать",
        "child_first": "Имя ребёнка",
        "child_last": "Фамилия ребёнка",
        "send": "Отправить заявление",
        "done": "ГОТОВО!",
    },
    "en": {
        "email": "Your e-mail address",
        "code": "Child's personal code",
        "next": "Next",
        "required": "This field is required.",
        "checksum": "The last digit (check digit) does not match.",
        "did_you_mean": "Did you mean {}?",
        "keep": "No, keep {}",
        "use": "Yes, use {}",
        "first": "Your first name",
        "last": "Your last name",
        "relation": "mother",
        "child_first": "Child's first name",
        "child_last": "Child's last name",
        "send": "Send the application",
        "done": "DONE!",
    },
}
SUMMARY = ".error-summary"
SUMMARY_ENTRIES = ".error-summary li"
LIVE_REGIONS = "[role=status], [role=alert], [aria-live]:not([aria-live=off])"


def open_in(page: Page, url: str, language: str) -> None:
    """Open a page and choose its language with the header's buttons, as a parent would."""
    page.goto(url)
    if language != "et":
        page.get_by_role("button", name=re.compile(rf"^{language.upper()}\b")).click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def check_and_leave(page: Page, label: str, value: str) -> None:
    """Type a value and leave the field with Tab: htmx checks it on change; wait for that answer."""
    field = page.get_by_label(label)
    with page.expect_response(re.compile(r"/taotlus/kontrolli/")):
        field.fill(value)
        field.press("Tab")


def summary_texts(page: Page) -> list[str]:
    return [" ".join(text.split()) for text in page.locator(SUMMARY_ENTRIES).all_inner_texts()]


def application_form_url(app, url: str, child_code: str) -> str:
    """The e-mailed link to step 2, issued directly: these tests are about the form, not the mail."""
    from webapp import tokens
    from webapp.extensions import db

    with app.app_context():
        secret, _token = tokens.issue(
            tokens.Purpose.APPLY, "mari@example.ee", timedelta(days=1), "et", child_personal_code=child_code
        )
        db.session.commit()
    return f"{url}/taotlus/vorm/{secret}"


def both_ways(page: Page, audit_page: Page, screenshot, story) -> None:
    """The story with the real CSP and screenshots, then again for axe-core at every state."""
    story(page, lambda name: screenshot(name))
    story(audit_page, lambda _name: assert_accessible(audit_page))


# 1. The summary follows the inline checks.


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_summary_follows_the_inline_checks_on_step_one(
    portal, page, audit_page, screenshot, child_code, language
):
    _app, url = portal
    text = TEXT[language]
    wrong = child_code[:-1] + str((int(child_code[-1]) + 1) % 10)

    def story(page: Page, look) -> None:
        open_in(page, url + "/taotlus/", language)
        page.get_by_role("button", name=text["next"]).click()
        expect(page.locator(SUMMARY)).to_be_focused()
        expect(page.locator(SUMMARY_ENTRIES)).to_have_count(2)
        look("summary")
        check_and_leave(page, text["email"], "mari@example.ee")
        expect(page.locator(SUMMARY_ENTRIES)).to_have_count(1)
        assert text["email"] not in summary_texts(page)[0]
        assert text["required"] in summary_texts(page)[0]
        look("email-fixed")
        check_and_leave(page, text["code"], wrong)  # still wrong, in another way: the entry says so
        expect(page.locator(SUMMARY_ENTRIES)).to_have_count(1)
        expect(page.locator(SUMMARY_ENTRIES)).to_contain_text(text["checksum"])
        assert text["required"] not in summary_texts(page)[0]
        look("code-wrong-another-way")
        check_and_leave(page, text["code"], child_code)
        expect(page.locator(SUMMARY)).to_have_count(0)
        expect(page.locator(".error")).to_have_count(0)
        look("all-fixed")

    both_ways(page, audit_page, screenshot, story)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_summary_follows_the_inline_checks_on_step_two(
    portal, page, audit_page, screenshot, child_code, language
):
    app, url = portal
    text = TEXT[language]

    def story(page: Page, look) -> None:
        open_in(page, application_form_url(app, url, child_code), language)
        page.get_by_role("button", name=text["send"]).click()
        expect(page.locator(SUMMARY_ENTRIES)).to_have_count(6)
        look("summary")
        for label, value in [
            (text["first"], "Mari-Liis"),
            (text["last"], "Mägi"),
            (text["child_first"], "Jüri"),
        ]:
            before = page.locator(SUMMARY_ENTRIES).count()
            check_and_leave(page, label, value)
            expect(page.locator(SUMMARY_ENTRIES)).to_have_count(before - 1)
        with page.expect_response(re.compile(r"/taotlus/kontrolli/")):
            page.get_by_label(text["relation"], exact=True).check()
        expect(page.locator(SUMMARY_ENTRIES)).to_have_count(2)
        # The radio button keeps the focus after its field is swapped: arrows still move between them.
        expect(page.get_by_label(text["relation"], exact=True)).to_be_focused()
        with page.expect_response(re.compile(r"/taotlus/kontrolli/")):
            page.get_by_role("checkbox").check()
        expect(page.locator(SUMMARY_ENTRIES)).to_have_count(1)
        expect(page.get_by_role("checkbox")).to_be_focused()
        look("one-left")
        check_and_leave(page, text["child_last"], "Mägi")
        expect(page.locator(SUMMARY)).to_have_count(0)
        look("all-fixed")
        page.get_by_role("button", name=text["send"]).click()
        expect(page.get_by_role("heading", name=text["done"])).to_be_visible()

    # Each run needs its own link: a link makes one application.
    both_ways(page, audit_page, screenshot, story)


def test_every_summary_entry_leads_to_its_field(portal, page, child_code):
    app, url = portal
    page.goto(application_form_url(app, url, child_code))
    page.get_by_role("button", name=TEXT["et"]["send"]).click()
    expect(page.locator(SUMMARY_ENTRIES)).to_have_count(6)
    targets = page.eval_on_selector_all(
        SUMMARY_ENTRIES + " a",
        "(links) => links.map((link) => document.getElementById(link.hash.slice(1))?.tagName || link.hash)",
    )
    assert set(targets) == {"INPUT"}, targets  # the relation's entry too: it leads to the first choice


def test_quick_changes_are_checked_in_turn_so_the_summary_ends_true(portal, page, child_code):
    """Two fields fixed faster than the server answers: their checks go one after the other, each with the
    form as it then is. (Sent side by side, the answer for the last field deleted the summary and the
    older answer then found nothing to update: htmx:oobErrorNoTarget, and on another order a stale
    summary.) The answers are held here and let go newest first, the order that went wrong."""
    _app, url = portal
    text = TEXT["et"]
    page.goto(url + "/taotlus/")
    page.get_by_role("button", name=text["next"]).click()
    expect(page.locator(SUMMARY_ENTRIES)).to_have_count(2)
    held = []
    page.route(re.compile(r"/taotlus/kontrolli/"), lambda route: held.append(route))
    for label, value in [(text["email"], "mari@example.ee"), (text["code"], child_code)]:
        page.get_by_label(label).fill(value)
        page.get_by_label(label).press("Tab")
    page.wait_for_timeout(300)
    assert len(held) == 1  # the second check waits for the first
    for _check in range(2):  # the first is let go; then the second is sent, and let go
        for _tick in range(200):
            if held:
                break
            page.wait_for_timeout(50)
        with page.expect_response(re.compile(r"/taotlus/kontrolli/")):
            held.pop().continue_()
    expect(page.locator(SUMMARY)).to_have_count(0)
    expect(page.locator(".error")).to_have_count(0)


# 4. No double punctuation between a label and its error.


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_double_punctuation_in_the_summary(portal, page, child_code, language):
    app, url = portal
    open_in(page, application_form_url(app, url, child_code), language)
    page.get_by_role("button", name=TEXT[language]["send"]).click()
    entries = summary_texts(page)
    assert len(entries) == 6
    for entry in entries:
        assert not re.search(r"[.!?:;…]\s*:", entry), entry
        assert re.search(r"\w\)?: \w", entry), entry  # still "label: error"


# 2. An inline error is announced once per change.

# What a screen reader would read out: text added inside a live region that is already on the page, and an
# alert inserted whole. (A status region inserted with its text is often not read.)
LISTEN = """(selector) => {
  window.announced = [];
  new MutationObserver((records) => {
    for (const record of records) {
      const region = record.target.closest && record.target.closest(selector);
      for (const node of record.addedNodes) {
        const text = node.textContent.trim();
        const alert = node.matches && node.matches("[role=alert]");
        if (text && (region || alert)) window.announced.push({region: (region || node).id, text});
      }
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def listen_to_live_regions(page: Page) -> None:
    page.evaluate(LISTEN, LIVE_REGIONS)


def announced(page: Page) -> list[dict]:
    return page.evaluate("() => window.announced")


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_inline_error_is_announced_once_per_change(
    portal, page, audit_page, screenshot, child_code, language
):
    _app, url = portal
    text = TEXT[language]
    wrong, also_wrong = (child_code[:-1] + str((int(child_code[-1]) + n) % 10) for n in (1, 2))

    def story(page: Page, look) -> None:
        open_in(page, url + "/taotlus/", language)
        checks: list[str] = []
        page.on(
            "request", lambda request: checks.append(request.url) if "/kontrolli/" in request.url else None
        )
        listen_to_live_regions(page)
        code = page.get_by_label(text["code"])
        code.press_sequentially(wrong, delay=20)
        assert checks == [] and announced(page) == []  # typing alone checks and says nothing
        with page.expect_response(re.compile(r"/kontrolli/")):
            code.press("Tab")
        expect(page.locator("#child_personal_code-error")).to_contain_text(text["checksum"])
        said = announced(page)
        assert len(said) == 1, said
        assert said[0]["region"] == "child_personal_code-error-slot" and said[0]["text"].startswith(
            text["checksum"]
        )
        look("announced")
        # Another change, the same error: said again, once.
        check_and_leave(page, text["code"], also_wrong)
        expect(page.locator("#child_personal_code-error")).to_contain_text(text["checksum"])
        page.wait_for_function("window.announced.length > 1")
        assert [entry["text"] for entry in announced(page)] == [said[0]["text"]] * 2
        # Fixed: the error goes, and nothing is said.
        check_and_leave(page, text["code"], child_code)
        expect(page.locator("#child_personal_code-error")).to_have_count(0)
        assert len(announced(page)) == 2
        look("fixed")

    both_ways(page, audit_page, screenshot, story)


# 3. After a submit that shows the suggestion, focus is on it and it is read out.


@pytest.mark.parametrize("language", LANGUAGES)
def test_focus_moves_to_the_suggestion_after_submit(
    portal, page, audit_page, screenshot, child_code, language
):
    _app, url = portal
    text = TEXT[language]
    question = text["did_you_mean"].format("mari@gmail.com")

    def story(page: Page, look) -> None:
        open_in(page, url + "/taotlus/", language)
        page.get_by_label(text["code"]).fill(child_code)
        page.get_by_label(text["email"]).fill("mari@gmial.com")
        page.get_by_role("button", name=text["next"]).click()
        expect(page.get_by_text(question)).to_be_visible()
        page.wait_for_load_state("load")  # app.js has run
        focused = page.evaluate(
            """() => ({inSuggestion: !!document.activeElement.closest('.suggestion'),
                       text: document.activeElement.textContent,
                       labelledBy: document.activeElement.getAttribute('aria-labelledby')})"""
        )
        assert focused["inSuggestion"], focused
        # What a screen reader reads on focus: the element's name (aria-labelledby) or its text.
        assert question in " ".join(focused["text"].split()), focused
        if focused["labelledBy"]:
            name = page.evaluate("(id) => document.getElementById(id).textContent", focused["labelledBy"])
            assert question in " ".join(name.split())
        look("suggestion-focused")
        # One Tab reaches the first choice, "keep": Enter on it keeps the typed address.
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name=text["keep"].format("mari@gmial.com"))).to_be_focused()

    both_ways(page, audit_page, screenshot, story)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_suggestion_from_the_inline_check_is_announced_without_taking_focus(
    portal, page, audit_page, screenshot, language
):
    _app, url = portal
    text = TEXT[language]
    question = text["did_you_mean"].format("mari@gmail.com")

    def story(page: Page, look) -> None:
        open_in(page, url + "/taotlus/", language)
        listen_to_live_regions(page)
        check_and_leave(page, text["email"], "mari@gmial.com")
        expect(page.get_by_text(question)).to_be_visible()
        said = announced(page)
        assert len(said) == 1 and said[0]["region"] == "email-suggestion-slot", said
        assert " ".join(said[0]["text"].split()).startswith(question)
        # The parent has moved on to the child's code, and may be typing: the focus stays there.
        expect(page.get_by_label(text["code"])).to_be_focused()
        look("suggestion-announced")

    both_ways(page, audit_page, screenshot, story)


# 5. At 360 px an address breaks only before "@" (or a dot of its local part), and "?" stays with it.

LINES_OF = """([selector, needle]) => [...document.querySelectorAll(selector)].map((element) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const pieces = [];
  let text = "";
  while (walker.nextNode()) {
    pieces.push([walker.currentNode, text.length]);
    text += walker.currentNode.data;
  }
  const start = text.indexOf(needle);
  if (start < 0) return {text, lines: 0};
  // A position in the text node that holds it: a start in the next node, an end in the previous one.
  const at = (offset, isStart) => {
    for (const [node, base] of pieces) {
      const end = base + node.data.length;
      if (isStart ? offset < end : offset <= end) return [node, offset - base];
    }
  };
  const range = document.createRange();
  range.setStart(...at(start, true));
  range.setEnd(...at(start + needle.length, false));
  const tops = [];
  for (const rect of range.getClientRects()) {
    const sameLine = tops.some((top) => Math.abs(top - rect.top) < rect.height / 2);
    if (rect.width > 0 && !sameLine) tops.push(rect.top);
  }
  return {text, lines: tops.length};
})"""


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("mari-liis.maasikas-tamm@gmial.com", "mari-liis.maasikas-tamm@gmail.com"),
        ("aleksandra.konstantinovna.vasiljeva@yandex.ry", "aleksandra.konstantinovna.vasiljeva@yandex.ru"),
        ("marililiismaasikastamm@gmial.com", "marililiismaasikastamm@gmail.com"),
    ],
    ids=["hyphens", "long-russian", "no-breaks"],
)
def test_an_address_in_the_suggestion_breaks_only_where_it_may(
    portal, page, audit_page, screenshot, child_code, language, typed, suggested
):
    _app, url = portal
    text = TEXT[language]
    domain = "@" + suggested.split("@")[1]
    typed_domain = "@" + typed.split("@")[1]

    def story(page: Page, look) -> None:
        open_in(page, url + "/taotlus/", language)
        page.get_by_label(text["email"]).fill(typed)
        page.get_by_label(text["code"]).fill(child_code)
        page.get_by_role("button", name=text["next"]).click()
        expect(page.get_by_text(text["did_you_mean"].format(suggested))).to_be_visible()
        look("suggestion")
        question = page.evaluate(LINES_OF, [".suggestion p", domain + "?"])
        assert [entry["lines"] for entry in question] == [1], question
        keep = page.evaluate(LINES_OF, [".suggestion button[name=keep_email]", typed_domain])
        use = page.evaluate(LINES_OF, [".suggestion button[name=use_suggestion]", domain])
        assert [entry["lines"] for entry in keep + use] == [1, 1], keep + use
        # The local part breaks, if at all, only before a dot: never after a hyphen, as if hyphenated.
        for selector, needle in [
            (".suggestion p", suggested.split("@")[0]),
            (".suggestion button[name=keep_email]", typed.split("@")[0]),
        ]:
            for part in re.split(r"(?=\.)", needle):
                lines = page.evaluate(LINES_OF, [selector, part])
                assert [entry["lines"] for entry in lines] == [1], (part, lines)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        # The buttons' names are still the whole address: a screen reader and a voice user say it so.
        expect(page.get_by_role("button", name=text["keep"].format(typed), exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=text["use"].format(suggested), exact=True)).to_be_visible()

    both_ways(page, audit_page, screenshot, story)
