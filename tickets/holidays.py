"""The statutory holidays of a year whose official schedule is not loaded yet (provisional).

The State Council publishes each year's holiday schedule (放假安排) around December, with
the make-up working weekends (调休) it chooses. Until an admin loads it, a year counts the
holidays that the law itself fixes, so that a deadline running into it is not counted
across New Year's Day or the Spring Festival as if they were working days.

全国年节及纪念日放假办法 (State Council, revised 10 November 2024 by Decree No. 795, in force
from 1 January 2025), Article 2, holidays for all citizens:
    元旦 1 day (1 January); 春节 4 days (除夕 and 初一 to 初三 of the first lunar month);
    清明节 1 day (the day of the 清明 solar term); 劳动节 2 days (1 and 2 May);
    端午节 1 day (lunar 5/5); 中秋节 1 day (lunar 8/15); 国庆节 3 days (1 to 3 October).
Article 6: "全体公民放假的假日，如果适逢周六、周日，应当在工作日补假。" A holiday for all
citizens that falls on a Saturday or Sunday is made up (补假) on a working day; we take the
next working day after the holiday block, which is what every published schedule does.
Two holidays on the same day (中秋 fell on 1 October in 2020 and falls on 3 October in 2028)
are two days owed, so the second is made up the same way.

The make-up working weekends are not in the law (Article 7 only allows them), so a derived
year has none: it is provisional, and every deadline that touches it says so.

The rules are those of the 2024 revision; years before 2025 had fewer days (春节 3, 劳动节 1)
but are all in chinese-calendar, so they are loaded, never derived, in practice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from flask_babel import lazy_gettext as _l

# The festivals of Article 2, in the order of the year; a code, never a label (STYLE.md rule 11).
FESTIVALS = {
    "new_year": _l("New Year's Day"),
    "spring_festival": _l("Spring Festival"),
    "qingming": _l("Qingming Festival"),
    "labour_day": _l("Labour Day"),
    "dragon_boat": _l("Dragon Boat Festival"),
    "mid_autumn": _l("Mid-Autumn Festival"),
    "national_day": _l("National Day"),
}


@dataclass(frozen=True)
class DerivedDay:
    """A day off in a provisional year: a statutory holiday, or a make-up day (补假) for one."""

    day: date
    festival: str
    make_up: bool = False


def _lunar_day(year: int, month: int, day: int) -> date:
    from lunar_python import Lunar

    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def _qingming(year: int) -> date:
    from lunar_python import Solar

    # The lunar year that contains mid-April holds that spring's 清明 in its solar-term table.
    s = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    return date(s.getYear(), s.getMonth(), s.getDay())


def statutory_days(year: int) -> list[tuple[date, str]]:
    """Article 2: (day, festival) for each holiday day of the year, in order (a day may appear twice)."""
    new_year_of_lunar = _lunar_day(year, 1, 1)  # 初一; 除夕 is the day before, whatever the month's length
    days = [(date(year, 1, 1), "new_year")]
    days += [(new_year_of_lunar + timedelta(days=i), "spring_festival") for i in (-1, 0, 1, 2)]
    days += [(_qingming(year), "qingming")]
    days += [(date(year, 5, 1), "labour_day"), (date(year, 5, 2), "labour_day")]
    days += [(_lunar_day(year, 5, 5), "dragon_boat"), (_lunar_day(year, 8, 15), "mid_autumn")]
    days += [(date(year, 10, d), "national_day") for d in (1, 2, 3)]
    return sorted(days, key=lambda p: p[0])


def _weekend(day: date) -> bool:
    return day.weekday() >= 5


@lru_cache(maxsize=None)
def provisional_holidays(year: int) -> MappingProxyType:
    """Every day off the law gives in `year`: {day: DerivedDay}, statutory days and their make-up days.

    A pure function of the year, so cached; read-only so that no caller can change the cache.
    """
    off: dict[date, DerivedDay] = {}
    owed: dict[str, int] = {}
    last_day: dict[str, date] = {}
    for day, festival in statutory_days(year):
        last_day[festival] = day
        if day in off or _weekend(day):
            # Article 6: a holiday on a Saturday or Sunday, or a second holiday on a day that
            # is already one, is owed as a working day off.
            owed[festival] = owed.get(festival, 0) + 1
        if day not in off:
            off[day] = DerivedDay(day, festival)
    # Earlier festivals first, so that each make-up day goes to the festival nearest before it.
    for festival in sorted(owed, key=last_day.get):
        day, left = last_day[festival], owed[festival]
        while left:
            day += timedelta(days=1)
            # Weekend days and days already off belong to the block: skip to its next working day.
            if not _weekend(day) and day not in off:
                off[day] = DerivedDay(day, festival, make_up=True)
                left -= 1
    return MappingProxyType(dict(sorted(off.items())))


def festival_label(code: str) -> str:
    return str(FESTIVALS.get(code, code))
