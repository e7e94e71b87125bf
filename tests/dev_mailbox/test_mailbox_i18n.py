"""The inbox's catalogues are complete: every extracted string has a real translation."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from mailbox_helpers import call, send

import dev_mailbox
from dev_mailbox.i18n import LOCALES, TRANSLATIONS
from dev_mailbox.testing import MailboxHandle
from dev_mailbox.web import TIME_ZONE_VARIABLE

PACKAGE = Path(dev_mailbox.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def extracted_ids() -> set[str | tuple[str, ...]]:
    """Each message id; a plural's as (singular, plural), as the catalogue keys it."""
    return {
        message if isinstance(message, str) else tuple(message[:2])
        for _, _, message, _, _ in extract_from_dir(str(PACKAGE), METHODS)
    }


def test_extraction_sees_templates_and_code():
    assert {"Skip to content", "Deliver", "rule %(position)s: delay needs seconds (a number)"} <= (
        extracted_ids()
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete_and_not_fuzzy(locale):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalogue = read_po(po_file)
    translated = {m.id: m for m in catalogue if m.id}
    assert extracted_ids() <= set(translated)
    for message in translated.values():
        # A plural has a string per form, each with the placeholders of the message id.
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        assert all(strings), message.id
        assert not message.fuzzy, message.id
        placeholders = sorted(set(re.findall(r"%\(\w+\)[sd]", " ".join(ids))))
        for string in strings:
            assert placeholders == sorted(set(re.findall(r"%\(\w+\)[sd]", string))), (message.id, string)


def test_catalogues_compile_elsewhere_when_the_package_is_read_only(tmp_path, monkeypatch):
    """An installed, read-only package still gets its .mo files: in a cache directory."""
    from babel.messages.mofile import read_mo

    from dev_mailbox import i18n

    source = tmp_path / "package"
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        copy = source / po_path.relative_to(TRANSLATIONS)
        copy.parent.mkdir(parents=True)
        copy.write_bytes(po_path.read_bytes())
    monkeypatch.setattr(i18n, "CACHE", tmp_path / "cache")
    real_open = Path.open

    def read_only(path, mode="r", *args, **kwargs):
        if "w" in mode and source in path.parents:
            raise PermissionError(f"read-only: {path}")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", read_only)
    directory = i18n.compile_catalogues(source)
    assert directory == tmp_path / "cache"
    with (directory / "ru" / "LC_MESSAGES" / "messages.mo").open("rb") as mo_file:
        assert read_mo(mo_file).get("Inbox").string == "Входящие"
    assert not list(source.glob("*/LC_MESSAGES/*.mo"))


def received_at(mailbox, moment: datetime) -> str:
    """Send one message and move it, and its line in the delivery log, to `moment`; its id."""
    send(mailbox, subject="Kellaaeg")
    message = mailbox.wait_for(subject="Kellaaeg")
    seconds = moment.timestamp()
    mailbox._store.write(
        lambda db: (
            db.execute("UPDATE messages SET created = ?", (seconds,)),
            db.execute("UPDATE delivery_log SET created = ?", (seconds,)),
        )
    )
    return message.id


def shown_times(mailbox, message_id: str, language: str) -> list[tuple[str, str]]:
    """The time as the list, the message page and the delivery log show it."""
    pages = []
    for path in ("/", f"/message/{message_id}", "/log"):
        status, body, _ = call(mailbox, "GET", f"{path}?lang={language}")
        assert status == 200, path
        pages.append(body.decode())
    return [re.search(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", page).groups() for page in pages]


@pytest.mark.smtp
@pytest.mark.parametrize(
    ("language", "winter", "summer"),
    [
        ("et", "04.12.26 03:16 (EET)", "01.07.26 12:00 (EEST)"),
        ("ru", "04.12.2026, 03:16 (EET)", "01.07.2026, 12:00 (EEST)"),
        ("en", "04/12/2026, 03:16 (EET)", "01/07/2026, 12:00 (EEST)"),
    ],
)
def test_times_are_tallinn_time_like_the_portal_and_name_the_zone(mailbox, language, winter, summer):
    message_id = received_at(mailbox, datetime(2026, 12, 4, 1, 16, tzinfo=UTC))
    for machine, shown in shown_times(mailbox, message_id, language):
        assert (machine, shown) == ("2026-12-04T03:16:00+02:00", winter)
    mailbox.clear()
    message_id = received_at(mailbox, datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    assert shown_times(mailbox, message_id, language)[0] == ("2026-07-01T12:00:00+03:00", summer)


@pytest.mark.smtp
def test_another_time_zone_can_be_chosen_and_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(TIME_ZONE_VARIABLE, "UTC")
    mailbox = MailboxHandle(tmp_path / "utc.sqlite3")
    mailbox.start()
    try:
        message_id = received_at(mailbox, datetime(2026, 12, 4, 1, 16, tzinfo=UTC))
        assert shown_times(mailbox, message_id, "et")[1] == (
            "2026-12-04T01:16:00+00:00",
            "04.12.26 01:16 (UTC)",
        )
    finally:
        mailbox.stop()


@pytest.mark.smtp
def test_a_time_zone_that_does_not_exist_falls_back_to_tallinn_time(tmp_path, monkeypatch):
    monkeypatch.setenv(TIME_ZONE_VARIABLE, "Mars/Olympus_Mons")
    mailbox = MailboxHandle(tmp_path / "mars.sqlite3")
    mailbox.start()
    try:
        message_id = received_at(mailbox, datetime(2026, 12, 4, 1, 16, tzinfo=UTC))
        assert shown_times(mailbox, message_id, "et")[0][1] == "04.12.26 03:16 (EET)"
    finally:
        mailbox.stop()
