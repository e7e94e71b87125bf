"""Which language a person reads: their explicit choice, then the browser's, then Estonian."""

from flask import current_app, request
from flask_login import current_user

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"et": "Eesti", "ru": "Русский", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    choice = request.cookies.get(LANGUAGE_COOKIE)
    if choice in languages:
        return choice
    account_locale = getattr(current_user, "locale", None)
    if account_locale in languages:
        return account_locale
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
