"""The inbox's catalogues are complete: every extracted string has a real translation."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import dev_mailbox
from dev_mailbox.i18n import LOCALES, TRANSLATIONS

PACKAGE = Path(dev_mailbox.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def extracted_ids() -> set[str]:
    return {
        message for _, _, message, _, _ in extract_from_dir(str(PACKAGE), METHODS) if isinstance(message, str)
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
        assert message.string, message.id
        assert not message.fuzzy, message.id
        placeholders = sorted(set(re.findall(r"%\(\w+\)s", message.id)))
        assert placeholders == sorted(set(re.findall(r"%\(\w+\)s", message.string)))


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
