"""`make demo` for a room: three participants on their phones, each reading only their own mail; the trainer
approves two and sends the third's next e-mail to spam, follows everyone's progress, and resets it all.

The demo is started exactly as `make demo` starts it (`python -m webapp.devserver` with APP_ENV=demo),
bound to every address as in a room, with DEMO_HOST=127.0.0.1: the test talks over loopback only, never
to the machine's own network address.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import OUTPUT
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "room-token-0123456789abcdef"
TRAINER, PASSWORD = "koolitaja@kool.example", "Kevadine-Kask-2026"
PHONE = {"width": 360, "height": 780}
PARTICIPANT_PASSWORD = "Kolm sinist jõehobu!"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _empty_database(url: str) -> None:
    """No tables at all (the launcher migrates from nothing, as on a new machine)."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


class DemoRoom:
    def __init__(self, tmp_path: Path) -> None:
        self.port, self.mailbox_port, self.smtp_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mailbox_url = f"http://127.0.0.1:{self.mailbox_port}"
        self.database = database_url(tmp_path)
        _empty_database(self.database)
        environment = {
            **os.environ,
            "APP_ENV": "demo",
            "DEMO_HOST": "127.0.0.1",
            "DEMO_PORT": str(self.port),
            "DEMO_MAILBOX_PORT": str(self.mailbox_port),
            "MAIL_PORT": str(self.smtp_port),
            "DATABASE_URL": self.database,
            "DEMO_MAILBOX_DB": str(tmp_path / "demo_mailbox.sqlite3"),
            "DEV_MAILBOX_TOKEN": TOKEN,
            "OUTBOX_POLL_SECONDS": "0.2",
        }
        self.log = (tmp_path / "demo.log").open("w+")
        self.process = subprocess.Popen(  # noqa: S603 - the demo, as make demo starts it
            [sys.executable, "-m", "webapp.devserver"],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the mailbox it starts ends with it
        )
        deadline = time.monotonic() + 60
        while not self._answers():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1):  # noqa: S310 - loopback
                pass
            request = urllib.request.Request(  # noqa: S310 - loopback
                self.mailbox_url + "/api/v1/rules", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            with urllib.request.urlopen(request, timeout=1):  # noqa: S310
                return True
        except OSError:
            return False

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        """As a service manager stops it (SIGTERM): the launcher stops its mailbox; whatever is left of
        the group after that is ended, and the test fails."""
        self.process.terminate()
        self.process.wait(20)
        self.log.close()
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            left_running = False
        else:
            left_running = True
            os.killpg(self.process.pid, signal.SIGKILL)
        _empty_database(self.database)
        assert not left_running, "the demo left its mailbox running after SIGTERM"


@pytest.fixture
def demo_room(tmp_path):
    room = DemoRoom(tmp_path)
    yield room
    room.stop()


def shot(page: Page, name: str) -> None:
    folder = OUTPUT / "demo_room"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, caret="initial")


def log_in_trainer(page: Page, url: str) -> None:
    page.goto(url + "/kool/sisene")
    page.get_by_label("E-posti aadress").fill(TRAINER)
    page.get_by_label("Parool").fill(PASSWORD)
    page.get_by_role("button", name="Logi sisse").click()
    expect(page.get_by_role("heading", name="Koolitaja leht")).to_be_visible()


def apply_and_read_own_mail(phone: Page, url: str, child_code: str, first_name: str) -> tuple[str, str]:
    """Step 1 with the address the form offers, the own demo mailbox, the link, the application."""
    phone.goto(url + "/taotlus/")
    address = phone.get_by_label("Sinu e-posti aadress").input_value()
    assert re.fullmatch(r"[a-z]+\.[a-z2-9]{4}@demo\.kool", address)
    phone.get_by_label("Lapse isikukood").fill(child_code)
    phone.get_by_role("button", name="Edasi").click()
    expect(phone.get_by_role("heading", name="Kontrolli oma e-posti")).to_be_visible()
    phone.get_by_role("link", name="Ava minu demo postkast").click()
    expect(phone.get_by_role("heading", name="Sinu e-post")).to_be_visible()
    own_mailbox = phone.url
    inbox = phone.locator("#mail .folder--inbox")
    expect(inbox.get_by_role("link")).to_have_count(1, timeout=20_000)  # live: it comes by itself
    inbox.get_by_role("link").click()
    phone.locator(".body a").first.click()  # the link in the e-mail, back to the portal
    phone.get_by_label("Sinu eesnimi").fill(first_name)
    phone.get_by_label("Sinu perekonnanimi").fill("Osaleja")
    phone.get_by_label("ema").check()
    phone.get_by_label("Lapse eesnimi").fill("Jüri")
    phone.get_by_label("Lapse perekonnanimi").fill("Mägi")
    phone.get_by_label("Olen nõus").check()
    phone.get_by_role("button", name="Saada taotlus").click()
    expect(phone.get_by_role("heading", name="VALMIS!")).to_be_visible()
    return address, own_mailbox


def participant_card(trainer: Page, address: str):
    return trainer.locator(".participant").filter(has=trainer.get_by_role("heading", name=address))


def test_a_room_of_three_follows_the_trainer(browser, demo_room):
    url = demo_room.url
    trainer = browser.new_context(viewport={"width": 1280, "height": 720}, locale="et-EE").new_page()
    log_in_trainer(trainer, url)
    expect(trainer.get_by_text("Osalejaid veel pole.")).to_be_visible()
    codes = [code.strip() for code in trainer.locator(".children .code").all_inner_texts()]
    assert len(codes) == 5
    shot(trainer, "trainer-empty-1280-et")

    phones = [browser.new_context(viewport=PHONE, locale="et-EE").new_page() for _ in range(3)]
    addresses, mailboxes = zip(
        *[
            apply_and_read_own_mail(phone, url, codes[2], name)
            for phone, name in zip(phones, ("Mari", "Jaan", "Kati"), strict=True)
        ],
        strict=True,
    )
    shot(phones[0], "participant-done-360-et")

    # Each one's mailbox holds their own two e-mails (the link, the receipt), never the others'.
    for phone, address, mailbox in zip(phones, addresses, mailboxes, strict=True):
        phone.goto(mailbox)
        expect(phone.locator(".brand .address")).to_have_text(address)
        expect(phone.locator("#mail .folder--inbox").get_by_role("link")).to_have_count(2, timeout=20_000)
        for other in addresses:
            if other != address:
                assert other not in phone.content()
    forged = phones[0].url.replace("/minu/", "/minu/x")
    assert phones[0].request.get(forged).status == 404
    assert phones[0].request.get(demo_room.mailbox_url + "/api/v1/messages").status == 401
    shot(phones[0], "participant-mailbox-360-et")

    # The trainer plays the school: two approved, the third's next e-mail goes to spam.
    for address in addresses:
        expect(participant_card(trainer, address).locator(".step--done")).to_have_count(1, timeout=10_000)
    for address in addresses[:2]:
        participant_card(trainer, address).get_by_role("button", name="Kinnita").click()
        expect(trainer.get_by_role("status")).to_contain_text(
            f"Kinnitatud: sisselogimise link on teel aadressile {address}"
        )
    participant_card(trainer, addresses[2]).get_by_role("button", name="Järgmine kiri rämpsposti").click()
    expect(participant_card(trainer, addresses[2]).locator(".scenario")).to_contain_text(
        "Järgmine kiri rämpsposti"
    )
    participant_card(trainer, addresses[2]).get_by_role("button", name="Kinnita").click()
    shot(trainer, "trainer-approved-1280-et")

    spam = phones[2].locator("#mail .folder--spam")
    expect(spam.get_by_role("link")).to_have_count(1, timeout=20_000)  # live, in the spam folder
    expect(phones[2].locator("#mail .folder--inbox").get_by_role("link")).to_have_count(2)
    shot(phones[2], "participant-spam-360-et")

    # The first logs in from the approval e-mail and sets a password; the second only logs in.
    for phone, sets_password in ((phones[0], True), (phones[1], False)):
        inbox = phone.locator("#mail .folder--inbox").get_by_role("link")
        expect(inbox).to_have_count(3, timeout=20_000)
        inbox.first.click()  # newest first: the approval
        phone.locator(".body a").first.click()
        phone.get_by_role("button", name=re.compile("^Logi sisse kasutajana")).click()
        expect(phone.get_by_role("heading", name="Sinu profiil")).to_be_visible()
        if sets_password:
            phone.get_by_role("link", name="Muuda profiili").click()
            phone.get_by_label("Uus parool", exact=True).fill(PARTICIPANT_PASSWORD)
            phone.get_by_label("Uus parool uuesti").fill(PARTICIPANT_PASSWORD)
            phone.get_by_role("button", name="Salvesta").click()
            expect(phone.get_by_role("status")).to_contain_text("Sinu parool on salvestatud.")

    # The trainer's page follows by itself: 4, 3 and 2 steps done.
    for address, steps in zip(addresses, (4, 3, 2), strict=True):
        expect(participant_card(trainer, address).locator(".step--done")).to_have_count(steps, timeout=15_000)
    shot(trainer, "trainer-progress-1280-et")

    # Side by side on a 1280×720 projector: each half 640 px, nothing wider (the audit checks overflow).
    trainer.set_viewport_size({"width": 640, "height": 720})
    trainer.get_by_role("button", name="Esitluse suurus").click()
    expect(trainer.locator("html")).to_have_class(re.compile("presentation"))
    shot(trainer, "trainer-presentation-640-et")
    trainer.get_by_role("button", name="Esitluse suurus").click()
    trainer.set_viewport_size({"width": 1280, "height": 720})

    # Reset: everything the room did is gone; the trainer stays logged in.
    trainer.get_by_role("button", name="Alusta demot otsast").click()
    expect(trainer.get_by_role("status")).to_contain_text("Demo algab otsast")
    expect(trainer.get_by_text("Osalejaid veel pole.")).to_be_visible()
    for phone in phones:
        phone.reload()
        expect(phone.locator("#mail .messages")).to_have_count(0)
    phones[0].goto(url + "/profiil")
    expect(phones[0].get_by_role("heading", name="Sinu profiil")).to_have_count(0)
    request = urllib.request.Request(  # noqa: S310 - loopback
        demo_room.mailbox_url + "/api/v1/rules", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.read().strip() == b"[]"
    shot(trainer, "trainer-after-reset-1280-et")
    for context in [trainer.context, *(phone.context for phone in phones)]:
        context.close()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_trainer_and_a_participant_in_russian_and_english(browser, demo_room, language):
    url = demo_room.url
    locale = {"ru": "ru-RU", "en": "en-GB"}[language]
    trainer = browser.new_context(viewport={"width": 1280, "height": 720}, locale=locale).new_page()
    trainer.goto(url + "/kool/sisene")
    trainer.locator("[name=email]").fill(TRAINER)
    trainer.locator("[name=password]").fill(PASSWORD)
    trainer.locator("main form button[type=submit]").click()
    expect(trainer.locator("html")).to_have_attribute("lang", language)
    expect(trainer.get_by_role("heading", level=1)).to_have_text(
        {"ru": "Страница тренера", "en": "Trainer's page"}[language]
    )
    code = trainer.locator(".children .code").first.inner_text().strip()

    phone = browser.new_context(viewport=PHONE, locale=locale).new_page()
    phone.goto(url + "/taotlus/")
    phone.locator("[name=child_personal_code]").fill(code)
    phone.locator("#start-form button[type=submit]").click()
    shot(phone, f"participant-check-email-360-{language}")
    phone.locator(".demo-mailbox a").click()
    expect(phone.locator("html")).to_have_attribute("lang", language)
    expect(phone.locator("#mail .folder--inbox").get_by_role("link")).to_have_count(1, timeout=20_000)
    shot(phone, f"participant-mailbox-360-{language}")
    phone.locator("#mail .folder--inbox").get_by_role("link").click()
    shot(phone, f"participant-message-360-{language}")

    expect(trainer.locator(".participant")).to_have_count(1, timeout=15_000)
    shot(trainer, f"trainer-1280-{language}")
    for context in (trainer.context, phone.context):
        context.close()
