"""The walk: a parent's way through the live portal in Chromium, step by step as in the school's guide, each
step a phone-sized screenshot with the element to press outlined and a sentence that quotes the screen's own
words, read from the page as it was photographed."""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import gettext as _
from markupsafe import Markup
from playwright.sync_api import Browser, Locator, Page, expect

from dev_mailbox.testing import MailboxHandle, Message
from webapp.models import Student

PHONE = {"width": 360, "height": 740}
BROWSER_LOCALES = {"et": "et-EE", "ru": "ru-RU", "en": "en-GB"}
PARENT = {
    "email": "mari.magi@example.ee",
    "first_name": "Mari",
    "last_name": "Mägi",
    "phone": "+372 5555 1234",
}
PASSWORD = "Kollane-Kaalikas-Jookseb-9"  # noqa: S105 - the guide's invented parent
MAIL_TIMEOUT = 30.0

# Outlines what to press; styles set through the DOM, which the portal's CSP allows (a <style> it would not).
OUTLINE = """([elements, on]) => elements.forEach(element => {
  element.style.outline = on ? "4px solid #d4145a" : "";
  element.style.outlineOffset = on ? "2px" : "";
})"""
# The top of the page, unless that leaves the element to press off the screen: then the element mid-screen.
# Nothing has the focus, no caret shows: a focus ring would look like a second outline.
SHOW = """element => {
  document.activeElement?.blur();
  document.documentElement.style.caretColor = "transparent";
  window.scrollTo(0, 0);
  const hidden = element.getBoundingClientRect().bottom > window.innerHeight - 24;
  if (hidden) element.scrollIntoView({block: "center"});
}"""
# A rule's own words, without its ✓/✗ mark and the words only a screen reader hears.
RULE_TEXT = """items => items.map(item => Array.from(item.childNodes)
  .filter(node => node.nodeType === Node.TEXT_NODE).map(node => node.textContent).join("").trim())"""


class Part(StrEnum):
    APPLY = "apply"
    LOG_IN = "log-in"
    NO_EMAIL = "no-email"


@dataclass
class Step:
    part: Part
    text: Markup  # the step in the guide's language, the screen's words in <b>
    labels: list[str]  # every word of the screen quoted in `text` and `items`
    screen_text: str  # the screen's text when it was photographed
    screen_title: str
    screenshot: bytes  # PNG
    items: list[str] = field(default_factory=list)  # quoted under the text as a list (the password rules)
    caption: str = ""  # under the screenshot of an e-mail: its subject and sender, as an inbox lists it


def words(locator: Locator) -> str:
    return " ".join(locator.inner_text().split())


def bold(words: str) -> Markup:
    return Markup("<b>{}</b>").format(words)


class Camera:
    """Photographs the page step by step, outlining what to press."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.steps: list[Step] = []

    def step(
        self,
        part: Part,
        text: str,
        *targets: Locator,
        items: Sequence[str] = (),
        caption: str = "",
        **labels: Locator,
    ) -> None:
        """`text` is translated, with a %(name)s for each label; the last target is the one to press."""
        quoted = {name: words(locator) for name, locator in labels.items()}
        handles = [target.element_handle() for target in targets]
        if handles:
            handles[-1].evaluate(SHOW)
            self.page.evaluate(OUTLINE, [handles, True])
        self.steps.append(
            Step(
                part=part,
                text=Markup.escape(text) % {name: bold(said) for name, said in quoted.items()},
                labels=[*quoted.values(), *items],
                screen_text=" ".join(self.page.evaluate("document.body.innerText").split()),
                screen_title=self.page.title(),
                # caret="initial": Playwright would hide the caret with a <style>, which the portal's CSP
                # refuses; SHOW hides it through the DOM.
                screenshot=self.page.screenshot(caret="initial"),
                items=list(items),
                caption=caption,
            )
        )
        if handles:
            self.page.evaluate(OUTLINE, [handles, False])


def phone(browser: Browser, language: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, locale=BROWSER_LOCALES[language], timezone_id="Europe/Tallinn"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def mailed(mailbox: MailboxHandle, path: str) -> Message:
    """The newest e-mail to the parent with a link to `path`, waiting for it to come."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while time.monotonic() < deadline:
        for message in reversed(mailbox.messages(to=PARENT["email"])):
            if any(path in link for link in message.links):
                return message
        time.sleep(0.2)
    raise RuntimeError(f"no e-mail with a {path} link came to {PARENT['email']} in {MAIL_TIMEOUT:g} s")


def open_mail(page: Page, mailbox: MailboxHandle, path: str) -> tuple[Locator, str]:
    """Show the e-mail with a `path` link as the parent's mail program would: its link, and a caption
    with what the inbox lists of it."""
    message = mailed(mailbox, path)
    # As it came through SMTP, without the web inbox around it; in a blank page, not over the portal's.
    page.goto("about:blank")
    page.set_content(message.html)
    caption = _(
        "The e-mail “%(subject)s” from %(sender)s", subject=message.subject, sender=message.headers["From"]
    )
    return page.locator(f'a[href*="{path}"]').first, caption


def walk(
    browser: Browser,
    portal: str,
    mailbox: MailboxHandle,
    language: str,
    child: Student,
    admin: tuple[str, str],
) -> list[Step]:
    """The guide's steps, walked in `language` (translations need a request context in that locale).
    `child` is a roster student without parents; `admin` the (e-mail, password) of the school's admin."""
    page = phone(browser, language)
    camera = Camera(page)
    apply_for_an_account(camera, portal, mailbox, child)
    approve(browser, portal, language, admin)
    log_in_and_set_a_password(camera, mailbox)
    page.context.close()

    page = phone(browser, language)
    camera.page = page
    when_the_email_does_not_come(camera, portal)
    page.context.close()
    return camera.steps


def apply_for_an_account(camera: Camera, portal: str, mailbox: MailboxHandle, child: Student) -> None:
    page = camera.page
    page.goto(portal + "/")
    link = page.locator('main a[href="/konto/uus"]')
    camera.step(Part.APPLY, _("On the school's login page, press “%(link)s”."), link, link=link)
    link.click()

    link = page.locator('main a[href="/konto/taotle"]')
    camera.step(Part.APPLY, _("On the page that opens, press “%(link)s”."), link, link=link)
    link.click()

    link = page.locator('main a[href="/abi"]')
    camera.step(Part.APPLY, _("If you have no ID-card or Smart-ID, press “%(link)s”."), link, link=link)
    link.click()

    link = page.locator('main a[href="/taotlus/"]')
    camera.step(Part.APPLY, _("Then press “%(link)s”."), link, link=link)
    link.click()

    page.locator("#email").fill(PARENT["email"])
    page.locator("#child_personal_code").fill(child.personal_code)
    page.locator("#child_personal_code").press("Tab")  # the field is checked as it is left
    page.wait_for_load_state("networkidle")
    button = page.locator("#start-form button[type=submit]")
    camera.step(
        Part.APPLY,
        _(
            "Fill in the form: your e-mail address under “%(email)s” and your child's personal code under"
            " “%(code)s”. Press “%(next)s”."
        ),
        page.locator("#email"),
        page.locator("#child_personal_code"),
        button,
        email=page.locator("label[for=email]"),
        code=page.locator("label[for=child_personal_code]"),
        next=button,
    )
    button.click()

    page.wait_for_url("**/taotlus/saadetud")
    camera.step(
        Part.APPLY,
        _(
            "“%(heading)s”: the school sends you a letter with a link to the application form. If it has not"
            " come within a few minutes, check the spam folder too."
        ),
        page.locator("main .notice"),
        heading=page.locator("main h1"),
    )

    link, caption = open_mail(page, mailbox, "/taotlus/vorm/")
    camera.step(Part.APPLY, _("In the letter, press “%(link)s”."), link, caption=caption, link=link)
    page.goto(link.get_attribute("href"))

    page.locator("#parent_first_name").fill(PARENT["first_name"])
    page.locator("#parent_last_name").fill(PARENT["last_name"])
    page.locator("#phone").fill(PARENT["phone"])
    page.locator("input[name=relation][value=ema]").check()
    page.locator("#child_first_name").fill(child.first_name)
    page.locator("#child_last_name").fill(child.last_name)
    page.locator("#consent").check()
    page.wait_for_load_state("networkidle")
    button = page.locator("#application-form button[type=submit]")
    camera.step(
        Part.APPLY,
        _(
            "The link opens the application form, with your e-mail address and your child's personal code"
            " already filled in. Fill in the rest and press “%(send)s”."
        ),
        button,
        send=button,
    )
    button.click()

    page.wait_for_url("**/taotlus/valmis")
    camera.step(
        Part.APPLY,
        _(
            "“%(done)s” The school's administrator checks your details. The administrator is human too"
            " and checks applications on working days, in working hours; the page says by when to expect"
            " an answer."
        ),
        page.locator("main .notice"),
        done=page.locator("main h1"),
    )


def approve(browser: Browser, portal: str, language: str, admin: tuple[str, str]) -> None:
    """The school's part: the administrator logs in and approves the application, in the staff pages."""
    page = phone(browser, language)
    page.goto(portal + "/kool/sisene")
    page.locator("#email").fill(admin[0])
    page.locator("#password").fill(admin[1])
    page.locator("main form button[type=submit]").click()
    page.get_by_role("link", name=f"{PARENT['first_name']} {PARENT['last_name']}").click()
    page.locator('form[action$="/kinnita"] button').click()
    page.locator(".decision__result").wait_for()
    page.context.close()


def log_in_and_set_a_password(camera: Camera, mailbox: MailboxHandle) -> None:
    page = camera.page
    link, caption = open_mail(page, mailbox, "/sisene/")
    camera.step(
        Part.LOG_IN,
        _(
            "When the school has approved your application, a letter with a login link comes. Press"
            " “%(link)s”: no password is needed."
        ),
        link,
        caption=caption,
        link=link,
    )
    page.goto(link.get_attribute("href"))

    button = page.locator("main form button[type=submit]")
    camera.step(
        Part.LOG_IN,
        _("The page says whose account the link opens. Press “%(button)s”, and you are logged in."),
        button,
        button=button,
    )
    button.click()

    page.wait_for_url("**/profiil/")
    menu = page.locator(".account-menu summary")
    menu.click()
    link = page.locator('.account-menu a[href="/profiil/"]')
    camera.step(
        Part.LOG_IN,
        _(
            "You are on your profile page. You can always come back to it: press the account icon at the top"
            " right, then “%(link)s”."
        ),
        menu,
        link,
        link=link,
    )
    link.click()

    link = page.locator('main a[href="/profiil/muuda"]')
    camera.step(Part.LOG_IN, _("On your profile page, press “%(link)s”."), link, link=link)
    link.click()

    page.locator("#new_password").fill(PASSWORD)
    page.locator("#repeat_password").fill(PASSWORD)
    rules = page.locator(".rules")
    rules.wait_for()  # the strength check answers as one types
    expect(rules.locator(".rule--unmet")).to_have_count(0)
    camera.step(
        Part.LOG_IN,
        _(
            "Type the password you want twice, under “%(new)s” and under “%(repeat)s”. The list under the"
            " field shows which of the rules your password meets:"
        ),
        page.locator("#new_password"),
        page.locator("#repeat_password"),
        rules,
        items=rules.locator("li").evaluate_all(RULE_TEXT),
        new=page.locator("label[for=new_password]"),
        repeat=page.locator("label[for=repeat_password]"),
    )

    button = page.locator("#password-form button[type=submit]")
    camera.step(
        Part.LOG_IN,
        _("Press “%(save)s”. From now on you can also log in with your e-mail address and this password."),
        button,
        save=button,
    )
    button.click()
    page.wait_for_url("**/profiil/")


def when_the_email_does_not_come(camera: Camera, portal: str) -> None:
    page = camera.page
    page.goto(portal + "/abi")
    page.locator("#resend-email").fill(PARENT["email"])
    button = page.locator("main form.resend button[type=submit]")
    camera.step(
        Part.NO_EMAIL,
        _(
            "Has a letter not come (the school's answer may take two working days)? Check the spam folder of"
            " your mailbox first. Then ask for the letter again on the page “%(help)s”: type your address"
            " under “%(field)s” and press “%(button)s”."
        ),
        page.locator("#resend-email"),
        button,
        help=page.locator("main h1"),
        field=page.locator("label[for=resend-email]"),
        button=button,
    )

    page.goto(portal + "/")
    id_card, smart_id = page.locator("main .providers a").all()
    camera.step(
        Part.NO_EMAIL,
        _(
            "Sometimes the e-mail address was mistyped, and the letter cannot reach you. If you use an"
            " ID-card or Smart-ID, log in with “%(id_card)s” or “%(smart_id)s”: no link is needed. Then"
            " correct your e-mail address in your profile."
        ),
        id_card,
        smart_id,
        id_card=id_card,
        smart_id=smart_id,
    )

    page.goto(portal + "/abi")
    link = page.locator('main a[href^="mailto:"]')
    camera.step(
        Part.NO_EMAIL, _("Or write about the problem to the school's IT: %(address)s."), link, address=link
    )

    teacher = page.locator("main #no-email ~ ul > li").last
    camera.step(
        Part.NO_EMAIL,
        _("Or contact your child's class teacher, who can also change the child's and the parent's details."),
        teacher,
    )
