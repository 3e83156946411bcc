"""Loading a year's official holiday schedule (the State Council's 放假安排): check, then replace.

The schedule arrives as rows, from the admin form, a CSV or XLSX file (schedule_files.py) or
the CLI: a holiday range (first day, last day, name) or a make-up working day (调休: a
Saturday or Sunday that is worked). Every row is checked first and every problem is named
with its row; on any problem nothing changes. Loading replaces the year's `calendar_days`
rows, marks the year loaded, and recomputes every open clock whose window covers a day
whose status changed (from the provisional derivation, or the earlier load), all in one
transaction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..holidays import festival_label, statutory_days
from ..models import CalendarDay, CalendarYear
from ..timeutil import now
from ..workdays import WorkCalendar
from .clocks import recompute_open_clocks
from .errors import InvalidInput

HOLIDAY, WORKDAY = "holiday", "workday"
# What a person may write in the kind column; the codes are holiday and workday.
KIND_WORDS = {"holiday": HOLIDAY, "放假": HOLIDAY, "休": HOLIDAY, "假": HOLIDAY,
              "workday": WORKDAY, "上班": WORKDAY, "班": WORKDAY}
# The longest run of days off in chinese-calendar (2004-2026) is 10 (Spring Festival 2020,
# extended); a longer range is a typing error (a wrong month), not a holiday.
MAX_HOLIDAY_DAYS = 15
MAX_ROWS = 200
# The statutory days are those of the 2024 revision of the 办法, in force from 2025.
STATUTORY_CHECK_FROM = 2025
SOURCES = ("chinese-calendar", "admin", "file")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass
class ScheduleRow:
    """One line of a schedule as the person wrote it; `where` names it in messages ("Row 3")."""

    where: str
    kind: str = ""
    first: str = ""
    last: str = ""
    name: str = ""

    def is_blank(self) -> bool:
        return not any(v.strip() for v in (self.kind, self.first, self.last, self.name))


@dataclass
class BadRow:
    where: str
    reasons: list[str] = field(default_factory=list)


class ScheduleRefused(InvalidInput):
    """The schedule has problems; `rows` lists each with its reasons. Nothing was changed."""

    def __init__(self, message, rows: list[BadRow]):
        super().__init__(message)
        self.rows = rows


@dataclass
class LoadResult:
    year: int
    written: int  # calendar_days rows: the days that differ from Monday to Friday
    changed: list[date]  # days whose working status changed
    moved: int  # open clocks recomputed


def parse_day(text: str) -> date | None:
    """2027-01-01, 2027/1/1, 2027.1.1 or 2027年1月1日; None when it is not a date."""
    m = _DATE.match((text or "").strip())
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def check_schedule(year: int, rows: list[ScheduleRow]) -> dict[date, tuple[bool, str]]:
    """Every row against the rules; {day: (is_workday, name)} for the days that differ from
    Monday to Friday, or ScheduleRefused naming every bad row."""
    bad: dict[str, BadRow] = {}
    order: list[str] = []

    def fail(where, reason):
        if where not in bad:
            bad[where] = BadRow(where)
            order.append(where)
        bad[where].reasons.append(str(reason))

    rows = [r for r in rows if not r.is_blank()]
    if not rows:
        raise InvalidInput(_l("The schedule has no rows: enter at least the holidays."))
    if len(rows) > MAX_ROWS:
        raise InvalidInput(_l("A schedule has at most %(n)d rows.", n=MAX_ROWS))
    taken: dict[date, tuple[str, str]] = {}  # day -> (where, kind) of the row that has it
    holidays: dict[date, str] = {}
    workdays: dict[date, tuple[str, str]] = {}
    for r in rows:
        kind = KIND_WORDS.get(r.kind.strip().lower())
        name = r.name.strip()
        if kind is None:
            fail(r.where, _l("The kind must be holiday or workday (a make-up working day), not “%(kind)s”.",
                             kind=r.kind.strip()))
        if len(name) > 100:
            fail(r.where, _l("The name may have at most 100 characters."))
        first = parse_day(r.first)
        last = parse_day(r.last) if r.last.strip() else first
        for text, day in ((r.first, first), (r.last, last)):
            if text.strip() and day is None:
                fail(r.where, _l("“%(text)s” is not a date; write it as YYYY-MM-DD.", text=text.strip()))
        if not r.first.strip():
            fail(r.where, _l("The first day is missing."))
        if first is None or last is None or kind is None:
            continue
        if first.year != year or last.year != year:
            fail(r.where, _l("Every day must be in %(year)s.", year=str(year)))
            continue
        if last < first:
            fail(r.where, _l("The last day %(last)s is before the first day %(first)s.",
                             last=last.isoformat(), first=first.isoformat()))
            continue
        if kind == HOLIDAY:
            if not name:
                fail(r.where, _l("A holiday needs a name, e.g. 春节 or National Day."))
            if (last - first).days + 1 > MAX_HOLIDAY_DAYS:
                fail(r.where, _l("A holiday lasts at most %(n)d days; check the dates.", n=MAX_HOLIDAY_DAYS))
                continue
        elif last != first:
            fail(r.where, _l("A make-up working day is a single day: leave the last day empty."))
            continue
        elif first.weekday() < 5:
            fail(r.where, _l("%(day)s is a weekday: a make-up working day is a Saturday or a Sunday.",
                             day=first.isoformat()))
            continue
        day = first
        while day <= last:
            if day in taken:
                other, other_kind = taken[day]
                reason = (_l("%(day)s is also in %(other)s.", day=day.isoformat(), other=other)
                          if other_kind == kind else
                          _l("%(day)s cannot be both a holiday and a working day (see %(other)s).",
                             day=day.isoformat(), other=other))
                fail(r.where, reason)
            else:
                taken[day] = (r.where, kind)
                if kind == HOLIDAY:
                    holidays[day] = name
                else:
                    workdays[day] = (r.where, name)
            day += timedelta(days=1)
    if not holidays and not bad:
        raise InvalidInput(_l("The schedule has no holiday: a year always has the statutory holidays."))
    if year >= STATUTORY_CHECK_FROM:
        _check_statutory(year, holidays, workdays, fail)
    if bad:
        raise ScheduleRefused(_l("%(n)d rows have problems; nothing was changed. Correct them and try again.",
                                 n=len(bad)), [bad[w] for w in order])
    out = {d: (False, n) for d, n in holidays.items() if d.weekday() < 5}
    out.update({d: (True, n) for d, (_w, n) in workdays.items()})
    return dict(sorted(out.items()))


def _check_statutory(year, holidays, workdays, fail) -> None:
    """A published schedule always gives the days of Article 2; one that does not is the wrong file."""
    for day, festival in statutory_days(year):
        if day in workdays:
            fail(workdays[day][0], _l("%(day)s is a statutory holiday (%(festival)s); it cannot be a working day.",
                                      day=day.isoformat(), festival=festival_label(festival)))
        elif day.weekday() < 5 and day not in holidays:
            fail(str(_l("The schedule")),
                 _l("%(day)s is a statutory holiday (%(festival)s) but no holiday row covers it.",
                    day=day.isoformat(), festival=festival_label(festival)))


def load_schedule(year: int, rows: list[ScheduleRow], source: str, actor_id: int | None) -> LoadResult:
    """Check the schedule; then replace the year's days, mark it loaded, recompute the open clocks.

    All in one transaction: on any problem nothing changes.
    """
    assert source in SOURCES
    days = check_schedule(year, rows)
    try:
        before = WorkCalendar.load()
        first, last = date(year, 1, 1), date(year, 12, 31)
        for row in db.session.scalars(db.select(CalendarDay).where(CalendarDay.day.between(first, last))):
            db.session.delete(row)
        db.session.flush()
        for day, (is_workday, name) in days.items():
            db.session.add(CalendarDay(day=day, is_workday=is_workday, name=name, updated_by_id=actor_id))
        year_row = db.session.get(CalendarYear, year)
        if year_row is None:
            year_row = CalendarYear(year=year)
            db.session.add(year_row)
        year_row.source, year_row.loaded_at = source, now()
        db.session.flush()
        after = WorkCalendar.load()
        changed = changed_days(before, after, first, last)
        moved = recompute_open_clocks(changed, actor_id, after)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return LoadResult(year, len(days), changed, moved)


def changed_days(before: WorkCalendar, after: WorkCalendar, first: date, last: date) -> list[date]:
    """The days from `first` to `last` that are working days in one calendar and not the other."""
    out, day = [], first
    while day <= last:
        if before.is_workday(day) != after.is_workday(day):
            out.append(day)
        day += timedelta(days=1)
    return out
