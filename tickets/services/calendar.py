"""The working-day calendar: seeding from chinese-calendar and admin edits."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import CalendarDay, CalendarYear
from ..timeutil import now
from ..workdays import WorkCalendar
from .clocks import recompute_open_clocks
from .errors import InvalidInput


def package_years() -> list[int]:
    """The years the installed chinese-calendar package knows."""
    import chinese_calendar

    days = list(chinese_calendar.holidays) + list(chinese_calendar.workdays)
    return sorted({d.year for d in days})


def seed_year(year: int) -> int:
    """Load a year's exceptions to Monday-to-Friday from chinese-calendar; returns rows written.

    A year already loaded is left alone, so admin edits survive a re-seed.
    """
    import chinese_calendar

    if db.session.get(CalendarYear, year) is not None:
        return 0
    written = 0
    day = date(year, 1, 1)
    while day.year == year:
        workday = chinese_calendar.is_workday(day)
        if workday != (day.weekday() < 5):
            _hol, name = chinese_calendar.get_holiday_detail(day)
            db.session.merge(CalendarDay(day=day, is_workday=workday, name=str(name or "")))
            written += 1
        day += timedelta(days=1)
    db.session.add(CalendarYear(year=year, source="chinese-calendar", loaded_at=now()))
    return written


def seed_known_years(first: int = 2020) -> dict[int, int]:
    out = {y: seed_year(y) for y in package_years() if y >= first}
    db.session.commit()
    return out


def set_day(day: date, is_workday: bool, name: str, actor_id: int | None) -> int:
    """Set one day as working or not; recompute open clocks it touches. Returns clocks moved."""
    name = (name or "").strip()
    if len(name) > 100:
        raise InvalidInput(_l("The name may have at most 100 characters."))
    row = db.session.get(CalendarDay, day)
    cal = WorkCalendar.load()
    before = cal.is_workday(day)
    # What the day would be without a row: Monday-Friday in a loaded year, the statutory
    # derivation in a provisional one. A row is kept only where the admin differs from that,
    # so that an edit on a provisional holiday (a working 1 January) is not lost.
    default = WorkCalendar({d: w for d, w in cal.overrides.items() if d != day}, cal.loaded_years).is_workday(day)
    if is_workday == default:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(CalendarDay(day=day, is_workday=is_workday, name=name, updated_by_id=actor_id))
    else:
        row.is_workday, row.name, row.updated_by_id = is_workday, name, actor_id
    # A single hand edit does not make a year "loaded": the deadlines there stay provisional
    # until the year's whole schedule is loaded.
    db.session.flush()
    moved = recompute_open_clocks({day}, actor_id) if before != is_workday else 0
    db.session.commit()
    return moved


def load_year(year: int, actor_id: int | None) -> tuple[int, int]:
    """The admin's "load from chinese-calendar": (days written, open clocks recomputed).

    Unlike the CLI seed, this runs with tickets open, so every open clock whose
    window covers a day whose status changed gets a new deadline version.
    """
    from .schedule import changed_days

    if year not in package_years():
        raise InvalidInput(_l("The chinese-calendar package does not know %(year)s yet.", year=str(year)))
    if db.session.get(CalendarYear, year) is not None:
        raise InvalidInput(_l("%(year)s is already loaded; edit single days below.", year=str(year)))
    before = WorkCalendar.load()
    written = seed_year(year)
    db.session.flush()
    after = WorkCalendar.load()
    changed = changed_days(before, after, date(year, 1, 1), date(year, 12, 31))
    moved = recompute_open_clocks(changed, actor_id, after)
    db.session.commit()
    return written, moved
