"""What the admin pages read about the calendar."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..extensions import db
from ..holidays import festival_label, provisional_holidays
from ..models import CalendarDay, CalendarYear, User
from ..services.calendar import package_years
from ..timeutil import now, to_local


def this_year() -> int:
    """The current year in Shanghai (the service clock is UTC; New Year's Eve differs by 8 hours)."""
    return to_local(now()).year


@dataclass
class MissingYear:
    year: int
    loadable: bool  # the installed chinese-calendar package knows it


def missing_years() -> list[MissingYear]:
    """This year and next, where not loaded: deadlines there are provisional."""
    years = [this_year(), this_year() + 1]
    loaded = set(db.session.scalars(db.select(CalendarYear.year).where(CalendarYear.year.in_(years))))
    known = set(package_years())
    return [MissingYear(y, y in known) for y in years if y not in loaded]


def year_exceptions(year: int) -> list[CalendarDay]:
    """The days of a year that differ from Monday to Friday, in order."""
    return db.session.scalars(
        db.select(CalendarDay)
        .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(CalendarDay.day)
    ).all()


def year_status(year: int) -> CalendarYear | None:
    return db.session.get(CalendarYear, year)


@dataclass
class ProvisionalDay:
    day: date
    label: str
    make_up: bool  # a make-up day (补假) for a statutory holiday on a weekend


def provisional_days(year: int) -> list[ProvisionalDay]:
    """The days off the law gives in a year whose schedule is not loaded (tickets/holidays.py)."""
    return [ProvisionalDay(d.day, festival_label(d.festival), d.make_up)
            for d in provisional_holidays(year).values()]


def loaded_by(year: int) -> User | None:
    """Who loaded a year's schedule: its rows are written by the loader (None: the command line)."""
    return db.session.scalar(
        db.select(User).join(CalendarDay, CalendarDay.updated_by_id == User.id)
        .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))).limit(1))
