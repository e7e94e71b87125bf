"""Every string a person reads is translated: the catalogues are complete and match the code."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["et", "ru", "en"]


def catalogue(language: str):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    untranslated = [
        message.id
        for message in catalogue(language)
        if message.id
        and (
            message.fuzzy
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    ]
    assert untranslated == []


def test_catalogues_hold_every_message_of_the_code(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 - our own extraction, as `flask translate update` runs it
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "--no-location",
            "-o",
            str(template),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as file:
        in_code = {message.id for message in read_po(file) if message.id}
    for language in LANGUAGES:
        in_catalogue = {message.id for message in catalogue(language) if message.id}
        assert in_code - in_catalogue == set(), f"run `flask translate update` and translate ({language})"


def test_seed_labels_are_used_verbatim_in_estonian():
    estonian = {message.id: message.string for message in catalogue("et") if message.id}
    for english, seed_label in {
        "Create a new account": "Loo uus konto",
        "Submit your details and apply for an account": "Esita andmed ja taotle kontot",
        "More information & help": "Lisainfo & abi",
        "Apply without logging in": "Esita taotlus sisse logimata",
        "Next": "Edasi",
        "DONE!": "VALMIS!",
        "Your profile": "Sinu profiil",
        "Edit profile": "Muuda profiili",
        "Save": "Salvesta",
    }.items():
        assert estonian[english] == seed_label
