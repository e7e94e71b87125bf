"""The inbox's own translations (et default, ru, en): locale choice and .po → .mo compilation."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request

TRANSLATIONS = Path(__file__).with_name("translations")
LOCALES = ("et", "ru", "en")
DEFAULT_LOCALE = "et"
LOCALE_COOKIE = "dev_mailbox_lang"


def compile_catalogues(directory: Path = TRANSLATIONS) -> None:
    """Build each messages.mo from its .po when missing or older (the .mo files are not in git)."""
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalogue)


def chosen_locale() -> str | None:
    """An explicit choice: ?lang= first, then the cookie it leaves."""
    for choice in (request.args.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if choice in LOCALES:
            return choice
    return None


def select_locale() -> str:
    """Explicit choice, then the browser's Accept-Language, then Estonian."""
    return chosen_locale() or request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE
