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
