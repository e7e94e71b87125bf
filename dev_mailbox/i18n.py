"""The inbox's own translations (et default, ru, en): locale choice and .po → .mo compilation."""

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request

TRANSLATIONS = Path(__file__).with_name("translations")
CACHE = Path(tempfile.gettempdir()) / f"dev_mailbox-translations-{os.getuid()}"
LOCALES = ("et", "ru", "en")
DEFAULT_LOCALE = "et"
LOCALE_COOKIE = "dev_mailbox_lang"


def compile_catalogues(source: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Build each messages.mo from its .po when missing or older (the .mo files are not in git),
    next to the .po files, or in a cache directory when the package is read-only; returns the
    directory to give Flask-Babel."""
    target = target or source
    try:
        for po_path in source.glob("*/LC_MESSAGES/messages.po"):
            mo_path = target / po_path.relative_to(source).with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file, locale=po_path.parent.parent.name)
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside, then renamed: a process starting meanwhile never reads half a file.
            partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
            with partial.open("wb") as mo_file:
                write_mo(mo_file, catalogue)
            partial.replace(mo_path)
    except OSError:
        if target != source:
            raise
        return compile_catalogues(source, CACHE)
    return target


def chosen_locale() -> str | None:
    """An explicit choice: ?lang= first, then the cookie it leaves."""
    for choice in (request.args.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if choice in LOCALES:
            return choice
    return None


def select_locale() -> str:
    """Explicit choice, then the browser's Accept-Language, then Estonian."""
    return chosen_locale() or request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE
