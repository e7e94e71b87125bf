"""Dates and times read as sentences in Estonian, Russian and English: the answer date after an
application, English in British style for an Estonian school, and the language code "en" kept for
everything that is not a date."""

import re

import pytest
import sqlalchemy as sa
import time_machine

from tests.conftest import STAFF_PASSWORD, page_text, populate_school, submit_application
from webapp.extensions import db
from webapp.models import Application

# Submitted at (UTC) → the date the school should answer by, as each language writes it.
ANSWER_DATES = {
    # Wednesday noon in Tallinn → Friday.
    "a Friday": (
        "2026-12-02 10:00:00+00:00",
        {
            "et": "Kooli vastuse tähtaeg on reede, 4. detsember 2026 (kaks tööpäeva, riigipühi arvestamata).",
            "ru": "Срок ответа школы — пятница, 4 декабря 2026 г. (два рабочих дня, государственные праздники"
            " не в счёт).",
            "en": "The school should answer by Friday, 4 December 2026 (two working days; public holidays do"
            " not count).",
        },
    ),
    # Thursday 29 October → Monday 2 November, over a weekend into another month.
    "another month": (
        "2026-10-29 08:00:00+00:00",
        {
            "et": "Kooli vastuse tähtaeg on esmaspäev, 2. november 2026",
            "ru": "Срок ответа школы — понедельник, 2 ноября 2026 г.",
            "en": "The school should answer by Monday, 2 November 2026",
        },
    ),
    # 23:30 UTC on Tuesday 22 December is Wednesday in Tallinn; 24–26 December are holidays.
    "a holiday gap": (
        "2026-12-22 23:30:00+00:00",
        {
            "et": "Kooli vastuse tähtaeg on teisipäev, 29. detsember 2026",
            "ru": "Срок ответа школы — вторник, 29 декабря 2026 г.",
            "en": "The school should answer by Tuesday, 29 December 2026",
        },
    ),
    # New Year's Day between: the answer comes in the next year.
    "across the year end": (
        "2026-12-31 09:00:00+00:00",
        {
            "et": "Kooli vastuse tähtaeg on teisipäev, 5. jaanuar 2027",
            "ru": "Срок ответа школы — вторник, 5 января 2027 г.",
            "en": "The school should answer by Tuesday, 5 January 2027",
        },
    ),
}


def choose_language(client, language: str) -> None:
    assert client.post("/keel", data={"lang": language}).status_code == 303


@pytest.mark.parametrize("language", ["et", "ru", "en"])
@pytest.mark.parametrize("case", list(ANSWER_DATES))
def test_the_answer_date_reads_as_a_sentence(app, client, child_code, case, language):
    submitted_at, sentences = ANSWER_DATES[case]
    choose_language(client, language)
    with time_machine.travel(submitted_at, tick=False):
        submit_application(app, client, child_code)
        done = page_text(client.get("/taotlus/valmis"))
    assert sentences[language] in done


def test_english_dates_and_times_are_british(app, client):
    """The staff page of an application: day before month, and the 24-hour clock."""
    school = populate_school(app)
    # 13:14 UTC is 15:14 in Tallinn in winter.
    with time_machine.travel("2026-12-04 13:14:00+00:00", tick=False):
        application_id = submit_application(app, client, school.child_5a)
    choose_language(client, "en")
    client.post("/kool/sisene", data={"email": school.admin, "password": STAFF_PASSWORD})
    page = page_text(client.get(f"/kool/taotlus/{application_id}"))
    assert "Submitted 04/12/2026, 15:14" in page
    assert not re.search(r"\b(AM|PM)\b", page) and "12/4/26" not in page


@pytest.mark.parametrize(
    ("language", "submitted"),
    [("et", "Esitatud 04.12.26 15:14"), ("ru", "Подано 04.12.2026, 15:14")],
)
def test_estonian_and_russian_keep_their_own_formats(app, client, language, submitted):
    school = populate_school(app)
    with time_machine.travel("2026-12-04 13:14:00+00:00", tick=False):
        application_id = submit_application(app, client, school.child_5a)
    choose_language(client, language)
    client.post("/kool/sisene", data={"email": school.admin, "password": STAFF_PASSWORD})
    assert submitted in page_text(client.get(f"/kool/taotlus/{application_id}"))


def test_english_keeps_the_language_code_en(app, client, child_code):
    """Only dates are British: the catalogue, <html lang>, the language buttons and the stored choice
    still say "en"."""
    choose_language(client, "en")
    html = client.get("/abi").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert re.search(r'value="en"[^>]*aria-current="true"', html)
    assert "More information & help" in html
    submit_application(app, client, child_code)
    with app.app_context():
        assert db.session.scalar(sa.select(Application.locale)) == "en"


def test_times_in_sentences_are_tallinn_time_on_the_24_hour_clock(app, client, child_code):
    """The per-address cap names the time the next link can be sent: 24-hour clock in every language."""
    choose_language(client, "en")
    with time_machine.travel("2026-12-04 13:14:00+00:00", tick=False):
        for _ in range(4):
            response = client.post(
                "/taotlus/", data={"email": "mari@example.ee", "child_personal_code": child_code}
            )
        sent = page_text(client.get(response.headers["Location"]))
    assert re.search(r"The next one can be sent after 1[56]:\d\d\.", sent), sent
