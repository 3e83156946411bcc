"""Working days on the official Chinese calendar, in Asia/Shanghai.

The `calendar_days` table holds the exceptions to Monday-to-Friday (statutory
holidays on weekdays, make-up working weekends). A year without a `calendar_years`
row has no official schedule loaded: it counts the statutory holidays the law
fixes (tickets/holidays.py) and no make-up working days, so its deadlines are
provisional and say so. A `calendar_days` row always wins, loaded year or not:
it is an admin's edit of that day.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from datetime import date, datetime, time, timedelta

from .extensions import db
from .holidays import provisional_holidays
from .models import CalendarDay, CalendarYear
from .timeutil import SHANGHAI, from_local, to_local

LEVELS = ("green", "yellow", "red", "red3")


@dataclass(frozen=True)
class Deadline:
    yellow_at: datetime
    due_at: datetime
    red3_at: datetime
    # The years from the start day to the due day whose schedule is not loaded: when not
    # empty, the due time may still move when the State Council's schedule is loaded.
    provisional_years: tuple[int, ...] = ()


def due_day(due_at: datetime) -> date:
    """The last day of a deadline: due at 24:00 of that day, stored as 00:00 of the next."""
    return (to_local(due_at) - timedelta(microseconds=1)).date()


class WorkCalendar:
    def __init__(self, overrides: dict[date, bool] | None = None, loaded_years=()):
        # Read-only: the counts below are cached, so a changed calendar is a new WorkCalendar.
        self.overrides = MappingProxyType(dict(overrides or {}))
        self.loaded_years = frozenset(loaded_years)
        # Working days before each day from 1 January of _first_year (a prefix sum), built on demand.
        self._first_year: int | None = None
        self._last_year: int | None = None
        self._before: list[int] = []

    @classmethod
    def load(cls) -> "WorkCalendar":
        """The calendar as the database has it now (a few hundred rows)."""
        rows = db.session.execute(db.select(CalendarDay.day, CalendarDay.is_workday)).all()
        years = db.session.scalars(db.select(CalendarYear.year)).all()
        return cls({d: w for d, w in rows}, years)

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year not in self.loaded_years and day in provisional_holidays(day.year):
            return False
        return day.weekday() < 5

    def is_provisional(self, day: date) -> bool:
        """The day's year has no official schedule loaded."""
        return day.year not in self.loaded_years

    def provisional_years(self, started_at: datetime, due_at: datetime) -> tuple[int, ...]:
        """The years from a clock's start day to its due day (Shanghai) with no schedule loaded."""
        first, last = to_local(started_at).year, due_day(due_at).year
        return tuple(y for y in range(first, last + 1) if y not in self.loaded_years)

    def nth_workday_after(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n >= 1)."""
        count = 0
        while True:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
                if count == n:
                    return day

    def deadline(self, started_at: datetime, limit_days: int) -> Deadline:
        """Yellow, due and red-for-3-days times (naive UTC) of a clock.

        Counting starts on the first working day after the start; due is 24:00
        of the N-th working day; yellow when at most min(1, 25% of N) working
        days are left (non-working days do not count, so a Monday deadline is
        yellow from the Friday evening); red for 3 days at 24:00 of the 3rd
        working day after due.
        """
        start_day = to_local(started_at).date()
        last = self.nth_workday_after(start_day, limit_days)
        due_local = datetime.combine(last + timedelta(days=1), time(0), SHANGHAI)
        threshold = min(1.0, 0.25 * limit_days)
        if threshold >= 1.0:
            # One whole working day left: that is already so from the end of the
            # previous working day, across any weekend or holiday in between.
            before = last - timedelta(days=1)
            while not self.is_workday(before):
                before -= timedelta(days=1)
            yellow_local = datetime.combine(before + timedelta(days=1), time(0), SHANGHAI)
        else:
            yellow_local = datetime.combine(last, time(0), SHANGHAI) + timedelta(days=1 - threshold)
        red3_day = self.nth_workday_after(last, 3)
        red3_local = datetime.combine(red3_day + timedelta(days=1), time(0), SHANGHAI)
        unloaded = tuple(y for y in range(start_day.year, last.year + 1) if y not in self.loaded_years)
        return Deadline(from_local(yellow_local), from_local(due_local), from_local(red3_local), unloaded)

    def _workdays(self, first: date, last: date) -> int:
        """How many working days in [first, last): two look-ups in a prefix sum, whatever the span."""
        if last <= first:
            return 0
        if self._first_year is None or first.year < self._first_year or last.year > self._last_year:
            lo = min(first.year, self._first_year or first.year)
            hi = max(last.year, self._last_year or last.year)
            day, counts, n = date(lo, 1, 1), [], 0
            while day <= date(hi, 12, 31):  # counts[i]: working days before the i-th day from 1 January lo
                counts.append(n)
                n += self.is_workday(day)
                day += timedelta(days=1)
            counts.append(n)
            self._first_year, self._last_year, self._before = lo, hi, counts
        base = date(self._first_year, 1, 1).toordinal()
        return self._before[last.toordinal() - base] - self._before[first.toordinal() - base]

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time from `start` to `end` (naive UTC), in working days; 0 if end <= start.

        The part of the first and of the last day (if working days), and the whole working days
        between them from a prefix sum: the same cost for a day as for a year.
        """
        if end <= start:
            return 0.0
        a, b = to_local(start), to_local(end)
        first, last = a.date(), b.date()
        # Summed as exact timedeltas, divided once: no rounding error piles up over a long span.
        if first == last:
            total = b - a if self.is_workday(first) else timedelta(0)
        else:
            total = timedelta(days=self._workdays(first + timedelta(days=1), last))
            if self.is_workday(first):
                total += datetime.combine(first + timedelta(days=1), time(0), SHANGHAI) - a
            if self.is_workday(last):
                total += b - datetime.combine(last, time(0), SHANGHAI)
        return round(total / timedelta(days=1), 2)

    def missing_years(self, years) -> list[int]:
        return sorted(set(years) - self.loaded_years)


def level(now: datetime, yellow_at, due_at, red3_at) -> str | None:
    """green, yellow, red or red3 (red for 3 working days) for a clock; None without one."""
    if due_at is None:
        return None
    if red3_at is not None and now >= red3_at:
        return "red3"
    if now >= due_at:
        return "red"
    if yellow_at is not None and now >= yellow_at:
        return "yellow"
    return "green"
