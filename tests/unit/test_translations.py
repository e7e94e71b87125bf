"""Every string a person reads is translated: the catalogues are complete and match the code."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["et", "ru", "en"]
# The portal's catalogues and the dev mailbox's.
CATALOGUE_DIRECTORIES = {
    "portal": ROOT / "translations",
    "dev mailbox": ROOT / "dev_mailbox" / "translations",
}


def catalogue(language: str, catalogues: str = "portal"):
    path = CATALOGUE_DIRECTORIES[catalogues] / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return read_po(file, locale=language)


def forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """A message's text, or each of its plural forms."""
    return text if isinstance(text, tuple) else (text,)


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\(\w+\)[sd]", text))


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


def test_russian_seed_labels_speak_to_parents_as_vy():
    russian = {message.id: message.string for message in catalogue("ru") if message.id}
    assert russian["Your profile"] == "Ваш профиль"
    assert russian["Create a new account"] == "Создать новый аккаунт"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("catalogues", CATALOGUE_DIRECTORIES)
def test_every_translation_keeps_the_placeholders(catalogues, language):
    for message in catalogue(language, catalogues):
        if not message.id:
            continue
        expected = set().union(*(placeholders(text) for text in forms(message.id)))
        for text in forms(message.string):
            assert placeholders(text) == expected, (message.id, text)


# The seed speaks to parents as "вы": no "ты", none of its pronouns, verb endings or imperatives.
INFORMAL_WORDS = {
    *"ты тебя тебе тобой твой твоя твоё твое твои твоего твоей твоему твоим твоих твоими твою".split(),
    *(
        "проверь введи нажми жми открой войди зайди напиши выбери отправь сохрани задай используй "
        "попробуй вернись свяжись подтверди исправь укажи добавь избегай начни закрой перейди обнови "
        "запроси измени отмени посмотри подожди скопируй вставь удали заполни прочитай сообщи"
    ).split(),
}
SECOND_PERSON_SINGULAR = re.compile(r"(ешь|ёшь|ишь)(ся)?$")  # знаешь, получишь, можешь
NOT_SECOND_PERSON = {"лишь"}
# "получил(а)", "согласен(на)": a word with its feminine ending in brackets.
GENDER_HEDGE = re.compile(r"[а-яё]\([а-яё]{1,3}\)", re.IGNORECASE)


def informal_words(text: str) -> list[str]:
    return [
        word
        for word in re.findall(r"[а-яё]+", text.lower())
        if word in INFORMAL_WORDS or (SECOND_PERSON_SINGULAR.search(word) and word not in NOT_SECOND_PERSON)
    ]


def russian_texts(catalogues: str):
    """(message id, text) for every translated text, each plural form on its own."""
    for message in catalogue("ru", catalogues):
        if message.id:
            for text in forms(message.string):
                yield message.id, text


def test_the_register_and_hedge_checks_find_what_they_look_for():
    text = "Проверь почту: ты получишь письмо, лишь нажми. Твой профиль; вы получите, нажмите"
    assert informal_words(text) == ["проверь", "ты", "получишь", "нажми", "твой"]
    assert all(GENDER_HEDGE.search(hedged) for hedged in ("Я получил(а)", "согласен(на)", "привязан(а)"))
    assert not GENDER_HEDGE.search("Личный код ребёнка (isikukood), класс (5А) и ящик (спам)")


@pytest.mark.parametrize("catalogues", CATALOGUE_DIRECTORIES)
def test_russian_never_uses_the_informal_ty(catalogues):
    assert [
        (message_id, informal_words(text))
        for message_id, text in russian_texts(catalogues)
        if informal_words(text)
    ] == []


@pytest.mark.parametrize("catalogues", CATALOGUE_DIRECTORIES)
def test_russian_has_no_gender_hedges(catalogues):
    """Not "получил(а)", "согласен(на)", "привязан(а)": a sentence that needs none."""
    assert [message_id for message_id, text in russian_texts(catalogues) if GENDER_HEDGE.search(text)] == []
