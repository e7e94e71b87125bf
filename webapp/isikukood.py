"""Estonian personal codes (isikukood): python-stdnum's checks plus the age of a school child."""

import re
import unicodedata
from datetime import date
from enum import StrEnum

from stdnum.ee import ik
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

# A school's children: from pre-school registration to the end of upper secondary school.
CHILD_MIN_AGE = 3
CHILD_MAX_AGE = 21


class Problem(StrEnum):
    """Why a code was refused; each has its own message in the user's language."""

    FORMAT = "format"
    LENGTH = "length"
    BIRTH_DATE = "birth_date"
    CHECKSUM = "checksum"
    FUTURE = "future"
    TOO_YOUNG = "too_young"
    TOO_OLD = "too_old"


class InvalidPersonalCode(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def normalise(value: str) -> str:
    """Compatibility forms folded (the full-width digits some phone keyboards type) and every kind
    of white space dropped, inside the code too (people type "5 1205 ...")."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


def check(value: str) -> str:
    """The compact code if it is a valid isikukood, else InvalidPersonalCode."""
    try:
        # The compact ASCII code is what is stored and compared with the roster.
        code = ik.validate(normalise(value))
    except InvalidLength:  # a subclass of InvalidFormat: test it first
        raise InvalidPersonalCode(Problem.LENGTH) from None
    except InvalidFormat:
        raise InvalidPersonalCode(Problem.FORMAT) from None
    except InvalidChecksum:
        raise InvalidPersonalCode(Problem.CHECKSUM) from None
    except ValueError:  # InvalidComponent: century digit or calendar date
        raise InvalidPersonalCode(Problem.BIRTH_DATE) from None
    return code


def age_on(birth_date: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def check_child(value: str, today: date | None = None) -> str:
    """Like `check`, and the code must belong to someone of school-child age."""
    code = check(value)
    today = today or date.today()
    born = ik.get_birth_date(code)
    if born > today:
        raise InvalidPersonalCode(Problem.FUTURE)
    age = age_on(born, today)
    if age < CHILD_MIN_AGE:
        raise InvalidPersonalCode(Problem.TOO_YOUNG)
    if age > CHILD_MAX_AGE:
        raise InvalidPersonalCode(Problem.TOO_OLD)
    return code


def make(birth_date: date, female: bool, serial: int) -> str:
    """A valid code for a birth date (demo data and tests); serial is 0..999."""
    century = (birth_date.year - 1800) // 100
    first = 1 + 2 * century + (1 if female else 0)
    stem = f"{first}{birth_date:%y%m%d}{serial:03d}"
    return stem + ik.calc_check_digit(stem + "0")
