import pytest

from webapp.email_typos import suggest


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("mari@gmial.com", "mari@gmail.com"),
        ("mari@gmail.con", "mari@gmail.com"),
        ("mari@gmai.com", "mari@gmail.com"),
        ("mari@gmail.ee", "mari@gmail.com"),  # the right name with the wrong ending
        ("mari@hotmial.com", "mari@hotmail.com"),
        ("mari@mial.ee", "mari@mail.ee"),
        ("mari@hit.ee", "mari@hot.ee"),
        ("mari@onlin.ee", "mari@online.ee"),
        ("olga@yandex.ry", "olga@yandex.ru"),
        ("olga@mail.tu", "olga@mail.ru"),
        ("janis@inbox.lw", "janis@inbox.lv"),
        ("mari@outlok.com", "mari@outlook.com"),
        ("mari@icloud.co", "mari@icloud.com"),
        ("mari@yaho.com", "mari@yahoo.com"),
    ],
)
def test_misspelled_common_domains_get_a_suggestion(typed, suggested):
    assert suggest(typed) == suggested


@pytest.mark.parametrize(
    "address",
    [
        "mari@gmail.com",
        "mari@mail.ee",
        "mari@hot.ee",
        "mari@kool.ee",
        "mari@ut.ee",
        "it@apkool.ee",
        "mari@tallinn.ee",
        "no-at-sign",
        "@gmail.com",
        "mari@" + "x" * 100 + ".ee",
    ],
)
def test_correct_or_unrelated_domains_get_none(address):
    assert suggest(address) is None
