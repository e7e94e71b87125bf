"""Which language a person reads: their explicit choice, then the browser's, then Estonian."""

from babel import Locale
from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"et": "Eesti", "ru": "Русский", "en": "English"}
# English is read at an Estonian school: dates and times as in Britain ("4 December", "15:14"), while
# the catalogue, <html lang>, stored choices and e-mails all keep the language code "en".
FORMAT_LOCALES = {"en": "en_GB"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    choice = request.cookies.get(LANGUAGE_COOKIE)
    if choice in languages:
        return choice
    account_locale = getattr(current_user, "locale", None)
    if account_locale in languages:
        return account_locale
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def formatting_locale() -> Locale:
    """The locale dates and times are written in: the reader's language, English the British way."""
    language = str(get_locale())
    return Locale.parse(FORMAT_LOCALES.get(language, language))
