"""Working days in Estonia: Monday to Friday, less the public holidays."""

from datetime import date, timedelta
from functools import cache

import holidays


@cache
def _estonian_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("EE", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _estonian_holidays(day.year)


def add_working_days(start: date, count: int) -> date:
    """The date `count` working days after `start` (start itself does not count)."""
    day = start
    while count > 0:
        day += timedelta(days=1)
        count -= is_working_day(day)
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days have passed from `start` to `end` (`start` excluded, `end` included)."""
    days = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        days += is_working_day(day)
    return days
