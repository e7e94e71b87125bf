from datetime import date

import pytest

from webapp import isikukood
from webapp.isikukood import InvalidPersonalCode, Problem

TODAY = date(2026, 11, 29)
NINE_YEAR_OLD = isikukood.make(date(2017, 3, 4), female=False, serial=123)


def test_valid_child_code_is_returned_compact():
    spaced = f" {NINE_YEAR_OLD[:1]} {NINE_YEAR_OLD[1:7]}\u00a0{NINE_YEAR_OLD[7:]} "
    assert isikukood.check_child(spaced, today=TODAY) == NINE_YEAR_OLD


def test_make_builds_codes_that_stdnum_accepts():
    for born, female in [(date(1899, 12, 31), True), (date(1985, 6, 1), False), (date(2015, 2, 28), True)]:
        code = isikukood.make(born, female, serial=7)
        assert isikukood.check(code) == code


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("5170304abcd", Problem.FORMAT),
        ("51703041", Problem.LENGTH),
        ("517030412345", Problem.LENGTH),
        ("51702310000", Problem.BIRTH_DATE),  # 31 February
        ("91703040000", Problem.BIRTH_DATE),  # no such century digit
        (NINE_YEAR_OLD[:-1] + str((int(NINE_YEAR_OLD[-1]) + 1) % 10), Problem.CHECKSUM),
    ],
)
def test_each_invalid_kind_has_its_own_problem(value, problem):
    with pytest.raises(InvalidPersonalCode) as raised:
        isikukood.check_child(value, today=TODAY)
    assert raised.value.problem is problem


@pytest.mark.parametrize(
    ("born", "problem"),
    [
        (date(1826, 5, 5), Problem.TOO_OLD),  # a 200-year-old "child"
        (date(2000, 1, 1), Problem.TOO_OLD),
        (date(2025, 1, 1), Problem.TOO_YOUNG),
        (date(2027, 1, 1), Problem.FUTURE),
    ],
)
def test_age_must_be_a_school_childs(born, problem):
    code = isikukood.make(born, female=True, serial=1)
    with pytest.raises(InvalidPersonalCode) as raised:
        isikukood.check_child(code, today=TODAY)
    assert raised.value.problem is problem


def test_age_limits_are_inclusive_on_the_birthday():
    oldest = isikukood.make(date(2004, 11, 30), female=True, serial=2)  # 22 tomorrow
    youngest = isikukood.make(date(2023, 11, 29), female=False, serial=3)  # 3 today
    assert isikukood.check_child(oldest, today=TODAY) == oldest
    assert isikukood.check_child(youngest, today=TODAY) == youngest
    with pytest.raises(InvalidPersonalCode):
        isikukood.check_child(isikukood.make(date(2004, 11, 29), True, 2), today=TODAY)  # 22 today


@pytest.mark.parametrize(
    "typed", ["５１５０３１７１０１２", "５ １５０ ３１７ １０１２", "\u200951503171012\u00a0"]
)
def test_full_width_digits_give_the_ascii_code_that_matches_the_roster(typed):
    """Some phone keyboards and IMEs type full-width digits: the stored code is the plain one."""
    assert isikukood.check(typed) == "51503171012"


def test_digits_of_other_scripts_are_refused():
    with pytest.raises(isikukood.InvalidPersonalCode) as refused:
        isikukood.check("٥١٥٠٣١٧١٠١٢")
    assert refused.value.problem is isikukood.Problem.FORMAT
