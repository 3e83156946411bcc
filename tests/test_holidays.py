"""The provisional statutory holidays of a year whose schedule is not loaded.

Expected dates are worked out by hand from 全国年节及纪念日放假办法 (2024 revision) and a
published lunar table, never taken from tickets.holidays:

2027: 春节 初一 is Sat 6 February 2027, so 除夕 is Fri 5 February and 初二, 初三 are Sun 7
and Mon 8 February. Two of the four days fall on the weekend (6, 7), so Article 6 owes two
working days after the block: Tue 9 and Wed 10 February. 国庆 1-3 October 2027 are Fri, Sat,
Sun: two owed, Mon 4 and Tue 5 October. 元旦 Fri 1 January. 劳动节 1, 2 May are Sat, Sun:
Mon 3 and Tue 4 May. 清明 Mon 5 April; 端午 (lunar 5/5) Wed 9 June; 中秋 (lunar 8/15) Wed
15 September.
"""
from __future__ import annotations

from datetime import date

import chinese_calendar
import pytest

from tickets.holidays import provisional_holidays, statutory_days
from tickets.workdays import WorkCalendar


def off_days(year: int) -> dict[date, tuple[str, bool]]:
    return {d: (h.festival, h.make_up) for d, h in provisional_holidays(year).items()}


def test_2027_spring_festival_is_4_days_from_the_eve_and_2_made_up():
    assert date(2027, 2, 6).weekday() == 5  # 初一, a Saturday
    days = off_days(2027)
    spring = {d: v for d, v in days.items() if v[0] == "spring_festival"}
    assert spring == {
        date(2027, 2, 5): ("spring_festival", False),  # 除夕, Fri
        date(2027, 2, 6): ("spring_festival", False),  # 初一, Sat
        date(2027, 2, 7): ("spring_festival", False),  # 初二, Sun
        date(2027, 2, 8): ("spring_festival", False),  # 初三, Mon
        date(2027, 2, 9): ("spring_festival", True),  # made up for Sat 6
        date(2027, 2, 10): ("spring_festival", True),  # made up for Sun 7
    }
    cal = WorkCalendar()  # nothing loaded: every year provisional
    assert [cal.is_workday(date(2027, 2, d)) for d in range(4, 12)] == [
        True, False, False, False, False, False, False, True]  # Thu 4 worked, Thu 11 worked


def test_2027_national_day_is_1_to_3_october_and_2_made_up():
    days = off_days(2027)
    national = {d: v for d, v in days.items() if v[0] == "national_day"}
    assert national == {
        date(2027, 10, 1): ("national_day", False),  # Fri
        date(2027, 10, 2): ("national_day", False),  # Sat
        date(2027, 10, 3): ("national_day", False),  # Sun
        date(2027, 10, 4): ("national_day", True),  # Mon, made up for Sat 2
        date(2027, 10, 5): ("national_day", True),  # Tue, made up for Sun 3
    }
    cal = WorkCalendar()
    assert cal.is_workday(date(2027, 9, 30)) is True
    assert cal.is_workday(date(2027, 10, 6)) is True  # Wed: back at work
    # No make-up working weekend is known for a provisional year: Sat 9 October stays off.
    assert cal.is_workday(date(2027, 10, 9)) is False


def test_every_day_off_of_2027():
    assert sorted(off_days(2027)) == [
        date(2027, 1, 1),
        date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
        date(2027, 4, 5),
        date(2027, 5, 1), date(2027, 5, 2), date(2027, 5, 3), date(2027, 5, 4),
        date(2027, 6, 9),
        date(2027, 9, 15),
        date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3), date(2027, 10, 4), date(2027, 10, 5),
    ]
    # 13 statutory days, as Article 2 adds them up (1 + 4 + 1 + 2 + 1 + 1 + 3).
    assert len(statutory_days(2027)) == 13


def test_two_holidays_on_one_day_owe_a_day():
    # 2028: 中秋 (lunar 8/15) is Tue 3 October, also a National Day holiday; 1 October is a
    # Sunday. Two days owed after the block (Sun 1 - Tue 3): Wed 4 and Thu 5 October.
    days = off_days(2028)
    assert [d for d in days if d.month == 10] == [date(2028, 10, d) for d in (1, 2, 3, 4, 5)]
    assert days[date(2028, 10, 4)][1] and days[date(2028, 10, 5)][1]
    # 元旦 2028 is a Saturday: made up on Mon 3 January.
    assert days[date(2028, 1, 3)] == ("new_year", True)


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_derivation_agrees_with_the_published_schedules(year):
    """Each derived day off, statutory or made up, is a day off in the real schedule of chinese-calendar."""
    days = off_days(year)
    assert len(statutory_days(year)) == 13
    for day in days:
        assert chinese_calendar.is_workday(day) is False, day
        assert chinese_calendar.is_holiday(day) is True, day


def test_derived_days_for_2025_and_2026_by_hand():
    # 2025: 端午 Sat 31 May, made up Mon 2 June (the schedule had 31 May - 2 June off).
    assert off_days(2025)[date(2025, 6, 2)] == ("dragon_boat", True)
    # 2026: 清明 Sun 5 April, made up Mon 6 April; 劳动节 Fri 1, Sat 2 May, Sat made up Mon 4 May;
    # 国庆 Thu 1 - Sat 3 October, Sat made up Mon 5 October.
    d2026 = off_days(2026)
    assert d2026[date(2026, 4, 5)] == ("qingming", False)
    assert d2026[date(2026, 4, 6)] == ("qingming", True)
    assert d2026[date(2026, 5, 4)] == ("labour_day", True)
    assert d2026[date(2026, 10, 5)] == ("national_day", True)
    # 春节 2026: 初一 Tue 17 February; 除夕 Mon 16 to 初三 Thu 19, all weekdays: nothing owed.
    assert [d for d, v in d2026.items() if v[0] == "spring_festival"] == [date(2026, 2, d) for d in (16, 17, 18, 19)]


def test_a_loaded_year_or_a_row_wins_over_the_derivation():
    loaded = WorkCalendar({}, loaded_years={2027})
    assert loaded.is_workday(date(2027, 1, 1)) is True  # loaded, and no row: a plain Friday
    edited = WorkCalendar({date(2027, 1, 1): True})  # an admin made it a working day
    assert edited.is_workday(date(2027, 1, 1)) is True
    assert edited.is_workday(date(2027, 2, 5)) is False
    assert provisional_holidays(2027) is provisional_holidays(2027)  # cached per year
    with pytest.raises(TypeError):
        provisional_holidays(2027)[date(2027, 3, 1)] = None  # read-only: the cache cannot be changed
