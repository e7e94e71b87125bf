from datetime import date

import pytest

from webapp.working_days import add_working_days, is_working_day, working_days_between


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (date(2026, 11, 30), date(2026, 12, 2)),  # Monday → Wednesday
        (date(2026, 11, 27), date(2026, 12, 1)),  # Friday → Tuesday, over the weekend
        (date(2026, 12, 23), date(2026, 12, 29)),  # 24, 25, 26 Dec are holidays, 27 is Sunday
        (date(2025, 12, 22), date(2025, 12, 29)),  # Mon 22: Tue 23 counts, then Christmas to Monday
        (date(2026, 6, 22), date(2026, 6, 26)),  # Võidupüha 23 June and Jaanipäev 24 June
        (date(2026, 12, 31), date(2027, 1, 5)),  # New Year's Day across the year end
    ],
)
def test_two_working_days_later(start, expected):
    assert add_working_days(start, 2) == expected


def test_holidays_and_weekends_are_not_working_days():
    assert not is_working_day(date(2026, 2, 24))  # Independence Day
    assert not is_working_day(date(2026, 12, 24))
    assert not is_working_day(date(2026, 11, 29))  # a Sunday
    assert is_working_day(date(2026, 12, 23))


def test_working_days_between_counts_like_add():
    start = date(2026, 12, 18)
    for count in range(1, 12):
        assert working_days_between(start, add_working_days(start, count)) == count
