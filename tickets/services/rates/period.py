"""The period of a report: Shanghai days, their UTC bounds, and week or month buckets."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from ...timeutil import from_local, local_today
from ..errors import InvalidInput

# Longest period a report covers: two years keeps a week grouping to about a hundred buckets.
MAX_DAYS = 731


@dataclass(frozen=True)
class Bucket:
    key: str  # "2026-W45", "2026-11"
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive


@dataclass(frozen=True)
class Period:
    """Shanghai days `first` to `last`, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """00:00 Shanghai of the first day, as naive UTC."""
        return from_local(datetime.combine(self.first, time(0)))

    @property
    def end(self) -> datetime:
        """24:00 Shanghai of the last day, as naive UTC (exclusive)."""
        return from_local(datetime.combine(self.last + timedelta(days=1), time(0)))

    def buckets(self, by: str) -> list[Bucket]:
        """The weeks (ISO, Monday first) or months the period touches, clipped to it."""
        out = []
        day = self.first
        while day <= self.last:
            if by == "week":
                nxt = day - timedelta(days=day.weekday()) + timedelta(days=7)
                year, week, _wd = day.isocalendar()
                key = f"{year}-W{week:02d}"
            else:
                nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
                key = f"{day.year}-{day.month:02d}"
            stop = min(nxt, self.last + timedelta(days=1))
            out.append(Bucket(key, from_local(datetime.combine(day, time(0))),
                              from_local(datetime.combine(stop, time(0)))))
            day = stop
        return out

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def week_of(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period(first, nxt - timedelta(days=1))


def trend_period(last: date, weeks: int = 12) -> Period:
    """The `weeks` whole weeks ending with the week of `last`."""
    end = week_of(last).last
    return Period(end - timedelta(days=7 * weeks - 1), end)


def today() -> date:
    return local_today()


def shortcuts() -> list[tuple[str, Period]]:
    """The periods a report page offers in one click: this and last week, this and last month."""
    day = today()
    this_week, this_month = week_of(day), month_of(day)
    return [
        (_l("This week"), this_week),
        (_l("Last week"), week_of(this_week.first - timedelta(days=1))),
        (_l("This month"), this_month),
        (_l("Last month"), month_of(this_month.first - timedelta(days=1))),
    ]


# The trend reaches 12 weeks back and a period's end one day on: stay far from date's limits.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


def parse_period(first: str | None = None, last: str | None = None, week: str | None = None,
                 month: str | None = None) -> Period:
    """A period from the picker: an ISO week ("2026-W45"), a month ("2026-11"), or from/to days.

    Nothing given: the current month. Raises InvalidInput on a bad value.
    """
    errors: dict = {}
    period = None
    if week:
        m = re.fullmatch(r"(\d{4})-W(\d{1,2})", week.strip())
        try:
            period = week_of(date.fromisocalendar(int(m[1]), int(m[2]), 1)) if m else None
        except (ValueError, OverflowError):
            period = None
        if period is None:
            errors["week"] = _l("Please give a week as 2026-W45.")
    elif month:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
        try:
            period = month_of(date(int(m[1]), int(m[2]), 1)) if m else None
        except (ValueError, OverflowError):
            period = None
        if period is None:
            errors["month"] = _l("Please give a month as 2026-11.")
    elif first or last:
        days = []
        for name, value in (("from", first), ("to", last)):
            try:
                days.append(date.fromisoformat((value or "").strip()))
            except ValueError:
                errors[name] = _l("Please give a date as 2026-11-01.")
        if not errors:
            period = Period(*days)
            if period.last < period.first:
                errors["to"] = _l("The period ends before it starts.")
            elif (period.last - period.first).days >= MAX_DAYS:
                errors["to"] = _l("A period is at most two years.")
    else:
        period = month_of(today())
    if not errors and period is not None and not (EARLIEST <= period.first and period.last <= LATEST):
        errors["from"] = _l("Please give a period between 2000 and 2099.")
    if errors:
        raise InvalidInput(_l("Please correct the period."), errors)
    return period
