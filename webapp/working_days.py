"""Working days in Estonia: Monday to Friday, less the public holidays."""

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

SCHOOL_TIMEZONE = ZoneInfo("Europe/Tallinn")
# The school answers within this many working days (the seed's "more than 2 working days").
ANSWER_WITHIN = 2


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


def school_date(moment: datetime) -> date:
    """The date in Estonia of a naive UTC time: 23:30 UTC is already tomorrow in Tallinn."""
    return moment.replace(tzinfo=UTC).astimezone(SCHOOL_TIMEZONE).date()


def answer_due(submitted_at: datetime) -> date:
    return add_working_days(school_date(submitted_at), ANSWER_WITHIN)
