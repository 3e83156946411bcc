"""Working days and deadlines on the official Chinese calendar.

Every expected time below is written out by hand (naive UTC, as stored).
Shanghai is UTC+8 all year, so 24:00 of a Shanghai day is 16:00 UTC of the
same date, 18:00 Shanghai is 10:00 UTC and 12:00 Shanghai is 04:00 UTC.

The 2026 calendar (State Council notice for 2026, as chinese-calendar has it):
Mid-Autumn Fri 25 - Sun 27 September off; National Day Thu 1 - Wed 7 October
off; make-up working days Sunday 20 September and Saturday 10 October.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest

from tickets.audit import verify_all
from tickets.extensions import db
from tickets.models import CalendarDay, CalendarYear, Clock, Event
from tickets.services.calendar import package_years, seed_year, set_day
from tickets.timeutil import from_local
from tickets.workdays import WorkCalendar, level

from .conftest import accept, file_request


def sh(*args) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the services store."""
    return from_local(datetime(*args))


@pytest.fixture
def cal(app):
    """The real calendar for 2025 and 2026, from chinese-calendar (2027 deliberately not loaded)."""
    years = package_years()
    assert 2025 in years and 2026 in years
    assert seed_year(2025) > 0
    assert seed_year(2026) > 0
    db.session.commit()
    return WorkCalendar.load()


# --- the seed -----------------------------------------------------------------


def test_seed_holds_the_2026_holidays_and_make_up_days(cal):
    assert sh(2026, 1, 1, 0) == datetime(2025, 12, 31, 16, 0)  # the offset this file relies on
    # National Day and Mid-Autumn: weekdays off.
    for d in (date(2026, 9, 25), date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5),
              date(2026, 10, 6), date(2026, 10, 7)):
        assert cal.is_workday(d) is False, d
    # Make-up working weekend days.
    assert cal.is_workday(date(2026, 9, 20)) is True  # Sunday
    assert cal.is_workday(date(2026, 10, 10)) is True  # Saturday
    # Ordinary days.
    assert cal.is_workday(date(2026, 9, 30)) is True
    assert cal.is_workday(date(2026, 10, 8)) is True
    assert cal.is_workday(date(2026, 10, 11)) is False  # Sunday
    # Only the exceptions to Monday-Friday are rows.
    assert db.session.get(CalendarDay, date(2026, 10, 1)).is_workday is False
    assert db.session.get(CalendarDay, date(2026, 10, 10)).is_workday is True
    assert db.session.get(CalendarDay, date(2026, 10, 3)) is None  # Saturday off anyway
    assert db.session.get(CalendarDay, date(2026, 10, 8)) is None
    # A year already loaded is left alone.
    assert seed_year(2026) == 0
    assert db.session.get(CalendarYear, 2026).source == "chinese-calendar"


# --- National Day -------------------------------------------------------------


def test_five_working_days_from_the_eve_of_national_day(cal):
    # Started Wed 30 Sep: working days 8 Oct (Thu), 9 (Fri), 10 (make-up Sat), 12 (Mon), 13 (Tue).
    d = cal.deadline(sh(2026, 9, 30, 10, 0), 5)
    assert d.due_at == datetime(2026, 10, 13, 16, 0)  # 24:00 Tue 13 Oct, Shanghai
    assert d.yellow_at == datetime(2026, 10, 12, 16, 0)  # 00:00 Tue 13 Oct, Shanghai
    # Red for 3 days: 14, 15, 16 October.
    assert d.red3_at == datetime(2026, 10, 16, 16, 0)
    # With no year loaded, the statutory holidays alone (1-3 October, and Mon 5 October made
    # up for Saturday the 3rd; no make-up working Saturday) would have said: 6, 7, 8, 9 and
    # Mon 12 October, a provisional deadline.
    provisional = WorkCalendar().deadline(sh(2026, 9, 30, 10, 0), 5)
    assert provisional.due_at == datetime(2026, 10, 12, 16, 0)
    assert provisional.provisional_years == (2026,) and d.provisional_years == ()


def test_handle_clock_of_a_ticket_accepted_before_national_day(park, cal, clock):
    clock(2026, 9, 29, 9)
    t = file_request(park)  # labor: 5 working days
    # The accept clock: one working day, Wed 30 September.
    assert t.due_at == datetime(2026, 9, 30, 16, 0)
    clock(2026, 9, 30, 17)
    accept(park, t)
    assert t.clock_kind == "handle"
    assert t.due_at == datetime(2026, 10, 13, 16, 0)
    assert t.yellow_at == datetime(2026, 10, 12, 16, 0)
    assert t.red3_at == datetime(2026, 10, 16, 16, 0)
    c = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle"))
    assert (c.limit_days, c.deadline_version, c.original_due_at) == (5, 1, datetime(2026, 10, 13, 16, 0))
    # The deadline is on the public record.
    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, action="clock_started"))
    assert json.loads(ev.details)["due"] == "2026-10-13T16:00:00.000000Z"


def test_accept_clock_started_on_a_holiday_counts_from_the_next_working_day(cal):
    # Filed on 3 October (holiday): the one working day is Thu 8 October.
    d = cal.deadline(sh(2026, 10, 3, 11, 0), 1)
    assert d.due_at == datetime(2026, 10, 8, 16, 0)
    assert d.yellow_at == datetime(2026, 10, 8, 10, 0)  # 18:00 Shanghai


# --- make-up working days -----------------------------------------------------


def test_make_up_saturday_counts_as_a_working_day(cal):
    # Started Fri 9 October; the next working day is the make-up Saturday 10 October.
    d = cal.deadline(sh(2026, 10, 9, 9, 0), 1)
    assert d.due_at == datetime(2026, 10, 10, 16, 0)
    assert d.yellow_at == datetime(2026, 10, 10, 10, 0)
    # Red for 3 days: Mon 12, Tue 13, Wed 14 October.
    assert d.red3_at == datetime(2026, 10, 14, 16, 0)
    # Two days from Thu 8 October: 9 and 10 October.
    assert cal.deadline(sh(2026, 10, 8, 9, 0), 2).due_at == datetime(2026, 10, 10, 16, 0)
    # Three days from Fri 9 October: 10, 12, 13 October (Sunday 11 is off).
    assert cal.deadline(sh(2026, 10, 9, 9, 0), 3).due_at == datetime(2026, 10, 13, 16, 0)


def test_make_up_sunday_before_mid_autumn(cal):
    # Started Fri 18 September: Sat 19 is off, Sun 20 is a make-up working day.
    assert cal.deadline(sh(2026, 9, 18, 15, 0), 1).due_at == datetime(2026, 9, 20, 16, 0)
    # Started Thu 24 September, 2 days: 25-27 off (Mid-Autumn), so Mon 28 and Tue 29.
    assert cal.deadline(sh(2026, 9, 24, 15, 0), 2).due_at == datetime(2026, 9, 29, 16, 0)


def test_accept_clock_of_a_request_filed_on_friday_9_october(park, cal, clock):
    clock(2026, 10, 9, 16)
    t = file_request(park)
    assert t.clock_kind == "accept"
    assert t.due_at == datetime(2026, 10, 10, 16, 0)


# --- the year boundary ----------------------------------------------------------


def test_year_boundary_into_an_unloaded_year_counts_its_provisional_holidays(cal):
    assert cal.missing_years([2026, 2027]) == [2027]
    assert cal.missing_years(range(2025, 2027)) == []
    # Started Mon 28 December 2026: 29, 30, 31 December; Fri 1 January 2027 is New Year's
    # Day, a statutory holiday of unloaded 2027 (provisional); then Mon 4 and Tue 5 January.
    d = cal.deadline(sh(2026, 12, 28, 10, 0), 5)
    assert d.due_at == datetime(2027, 1, 5, 16, 0)
    # Yellow from the end of Monday 4 January: one working day (Tuesday) left.
    assert d.yellow_at == datetime(2027, 1, 4, 16, 0)
    # Red for 3 days: 6, 7, 8 January.
    assert d.red3_at == datetime(2027, 1, 8, 16, 0)
    assert d.provisional_years == (2027,)
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.provisional_years(sh(2026, 12, 28, 10, 0), d.due_at) == (2027,)
    # A deadline inside 2026 is not provisional, even one due at 24:00 of 31 December.
    assert cal.deadline(sh(2026, 12, 28, 10, 0), 3).due_at == datetime(2026, 12, 31, 16, 0)
    assert cal.deadline(sh(2026, 12, 28, 10, 0), 3).provisional_years == ()


def test_year_boundary_once_the_new_year_holiday_is_entered(cal):
    # With 2027 loaded and 1 January 2027 a holiday (as the published schedule will have it),
    # the 5th day is still Tue 5 January, and no longer provisional.
    overrides = dict(cal.overrides)
    overrides[date(2027, 1, 1)] = False
    cal2027 = WorkCalendar(overrides, cal.loaded_years | {2027})
    assert cal2027.missing_years([2026, 2027]) == []
    d = cal2027.deadline(sh(2026, 12, 28, 10, 0), 5)
    assert (d.due_at, d.provisional_years) == (datetime(2027, 1, 5, 16, 0), ())


def test_year_boundary_from_a_late_evening_start(cal):
    # 23:30 Shanghai on Thu 31 December 2026 is 15:30 UTC the same day: the clock started
    # on the 31st (Shanghai); 1 January 2027 is a provisional holiday, so day 1 is Mon 4 January.
    started = sh(2026, 12, 31, 23, 30)
    assert started == datetime(2026, 12, 31, 15, 30)
    assert cal.deadline(started, 1).due_at == datetime(2027, 1, 4, 16, 0)
    # 00:30 Shanghai on 1 January is still 31 December in UTC, but counts from 1 January.
    started = sh(2027, 1, 1, 0, 30)
    assert started == datetime(2026, 12, 31, 16, 30)
    assert cal.deadline(started, 1).due_at == datetime(2027, 1, 4, 16, 0)
    # 00:30 Shanghai on Mon 4 January is Sun 3 January in UTC: day 1 is Tue 5 January
    # (taking the UTC date would have made it Monday the 4th).
    started = sh(2027, 1, 4, 0, 30)
    assert started == datetime(2027, 1, 3, 16, 30)
    assert cal.deadline(started, 1).due_at == datetime(2027, 1, 5, 16, 0)


# --- a calendar edit ------------------------------------------------------------


def test_calendar_edit_recomputes_an_open_handle_clock(park, cal, clock):
    clock(2026, 11, 2, 9)  # Monday
    t = file_request(park)
    accept(park, t)  # labor, 5 working days: 3, 4, 5, 6, 9 November
    assert t.due_at == datetime(2026, 11, 9, 16, 0)
    handle_clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle"))
    assert handle_clock.deadline_version == 1

    clock(2026, 11, 5, 9)
    other = file_request(park, title="另一件事")  # accept clock 5..6 November, red3 11 November
    other_accept = db.session.scalar(db.select(Clock).filter_by(ticket_id=other.id, kind="accept"))
    assert other_accept.due_at == datetime(2026, 11, 6, 16, 0)
    events_before = t.event_count

    # Wed 4 November becomes a holiday.
    moved = set_day(date(2026, 11, 4), False, "临时停工", park.admin.id)
    assert moved == 1
    db.session.expire_all()
    handle_clock = db.session.get(Clock, handle_clock.id)
    assert handle_clock.deadline_version == 2
    assert handle_clock.due_at == datetime(2026, 11, 10, 16, 0)  # one working day later
    assert handle_clock.yellow_at == datetime(2026, 11, 9, 16, 0)
    assert handle_clock.red3_at == datetime(2026, 11, 13, 16, 0)
    assert handle_clock.original_due_at == datetime(2026, 11, 9, 16, 0)
    t = db.session.get(type(t), t.id)
    assert t.due_at == datetime(2026, 11, 10, 16, 0)
    assert t.queue_due_at == datetime(2026, 11, 10, 16, 0)
    # A clock whose window does not cover the changed day is left alone.
    other_accept = db.session.get(Clock, other_accept.id)
    assert (other_accept.deadline_version, other_accept.due_at) == (1, datetime(2026, 11, 6, 16, 0))

    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, action="clock_recomputed"))
    assert ev is not None and ev.seq == events_before + 1 == t.event_count
    assert json.loads(ev.details) == {
        "clock": "handle", "round": 1, "changed_day": "2026-11-04",
        "old_due": "2026-11-09T16:00:00.000000Z", "new_due": "2026-11-10T16:00:00.000000Z",
        "deadline_version": 2,
    }
    assert ev.actor_id == park.admin.id
    row = db.session.get(CalendarDay, date(2026, 11, 4))
    assert (row.is_workday, row.name) == (False, "临时停工")
    checked, breaks = verify_all()
    assert checked == 2 and breaks == []

    # Setting the same value again moves nothing; setting it back is version 3.
    assert set_day(date(2026, 11, 4), False, "临时停工", park.admin.id) == 0
    assert set_day(date(2026, 11, 4), True, "", park.admin.id) == 1
    assert db.session.get(CalendarDay, date(2026, 11, 4)) is None  # back to plain Monday-Friday
    handle_clock = db.session.get(Clock, handle_clock.id)
    assert (handle_clock.deadline_version, handle_clock.due_at) == (3, datetime(2026, 11, 9, 16, 0))
    assert verify_all()[1] == []


# --- yellow, red, red for 3 days ---------------------------------------------------


@pytest.mark.parametrize(
    "limit, yellow, due",
    [
        # Started Mon 2 November 2026, 09:00 Shanghai.
        (1, datetime(2026, 11, 3, 10, 0), datetime(2026, 11, 3, 16, 0)),  # 18:00 Tue 3 Nov
        (2, datetime(2026, 11, 4, 4, 0), datetime(2026, 11, 4, 16, 0)),  # 12:00 Wed 4 Nov
        # Due on a Monday: one working day is left from 24:00 on the Friday before.
        (5, datetime(2026, 11, 6, 16, 0), datetime(2026, 11, 9, 16, 0)),  # 00:00 Sat 7 Nov
        (10, datetime(2026, 11, 13, 16, 0), datetime(2026, 11, 16, 16, 0)),  # 00:00 Sat 14 Nov
    ],
)
def test_yellow_threshold(cal, limit, yellow, due):
    d = cal.deadline(sh(2026, 11, 2, 9, 0), limit)
    assert (d.yellow_at, d.due_at) == (yellow, due)


def test_red_for_three_days_is_three_working_days_after_due(cal):
    # Due 24:00 Mon 9 November; red3 at 24:00 Thu 12 November.
    assert cal.deadline(sh(2026, 11, 2, 9, 0), 5).red3_at == datetime(2026, 11, 12, 16, 0)
    # Due 24:00 Thu 5 November; Fri 6, Mon 9, Tue 10: red3 at 24:00 Tue 10 November.
    assert cal.deadline(sh(2026, 11, 4, 9, 0), 1).red3_at == datetime(2026, 11, 10, 16, 0)
    # Due 24:00 Wed 30 September; the holiday does not count: 8, 9, 10 October.
    assert cal.deadline(sh(2026, 9, 29, 9, 0), 1).red3_at == datetime(2026, 10, 10, 16, 0)


def test_level(cal):
    d = cal.deadline(sh(2026, 11, 2, 9, 0), 2)  # yellow 04:00 UTC 4 Nov, due 16:00 UTC 4 Nov
    args = (d.yellow_at, d.due_at, d.red3_at)
    assert level(datetime(2026, 11, 2, 1, 0), *args) == "green"
    assert level(datetime(2026, 11, 4, 3, 59, 59), *args) == "green"
    assert level(datetime(2026, 11, 4, 4, 0), *args) == "yellow"
    assert level(datetime(2026, 11, 4, 15, 59, 59), *args) == "yellow"
    assert level(datetime(2026, 11, 4, 16, 0), *args) == "red"
    # Red for 3 days: 5, 6, 9 November -> 24:00 Mon 9 November.
    assert d.red3_at == datetime(2026, 11, 9, 16, 0)
    assert level(datetime(2026, 11, 9, 15, 59, 59), *args) == "red"
    assert level(datetime(2026, 11, 9, 16, 0), *args) == "red3"
    assert level(datetime(2027, 6, 1), *args) == "red3"
    # No clock: no level; a clock without yellow or red3 times still says red when due passed.
    assert level(datetime(2026, 11, 4), None, None, None) is None
    assert level(datetime(2026, 11, 4, 16, 0), None, d.due_at, None) == "red"
    assert level(datetime(2026, 11, 4, 5, 0), None, d.due_at, None) == "green"


# --- working time between two moments ------------------------------------------------


def test_working_days_between(cal):
    wdb = cal.working_days_between
    # Half of Friday 6 November and half of Monday 9 November.
    assert wdb(sh(2026, 11, 6, 12, 0), sh(2026, 11, 9, 12, 0)) == 1.0
    # Six hours of a working day.
    assert wdb(sh(2026, 11, 3, 9, 0), sh(2026, 11, 3, 15, 0)) == 0.25
    # A whole working week.
    assert wdb(sh(2026, 11, 2, 0, 0), sh(2026, 11, 9, 0, 0)) == 5.0
    # Across National Day only 30 September counts.
    assert wdb(sh(2026, 9, 30, 0, 0), sh(2026, 10, 8, 0, 0)) == 1.0
    # Fri 9 October and the make-up Saturday 10 October.
    assert wdb(sh(2026, 10, 9, 0, 0), sh(2026, 10, 12, 0, 0)) == 2.0
    # Inside the holiday: nothing.
    assert wdb(sh(2026, 10, 2, 10, 0), sh(2026, 10, 3, 10, 0)) == 0.0
    # Reversed or empty spans.
    assert wdb(sh(2026, 11, 9, 0, 0), sh(2026, 11, 2, 0, 0)) == 0.0
    assert wdb(sh(2026, 11, 3, 9, 0), sh(2026, 11, 3, 9, 0)) == 0.0
    # From a Shanghai midnight that is 16:00 UTC the day before.
    assert wdb(datetime(2026, 11, 2, 16, 0), datetime(2026, 11, 3, 16, 0)) == 1.0  # Tue 3 Nov
    # Across the year boundary into unloaded 2027: 31 Dec only; 1 Jan is a provisional holiday.
    assert wdb(sh(2026, 12, 31, 0, 0), sh(2027, 1, 2, 0, 0)) == 1.0


def test_yellow_spans_the_national_day_holiday(cal):
    # Started Thu 24 Sep 2026: 25-27 Sep are off (Mid-Autumn), so the 4 working days are
    # Mon 28, Tue 29, Wed 30 Sep and Thu 8 Oct. One working day is left from the end of
    # Wed 30 Sep: the whole National Day week is yellow.
    d = cal.deadline(sh(2026, 9, 24, 10, 0), 4)
    assert d.due_at == datetime(2026, 10, 8, 16, 0)
    assert d.yellow_at == datetime(2026, 9, 30, 16, 0)
    assert level(datetime(2026, 10, 3, 2, 0), d.yellow_at, d.due_at, d.red3_at) == "yellow"


def test_working_days_between_counts_as_day_by_day():
    """The prefix-sum count gives what summing each day's working part gives, on random spans."""
    import random

    from tickets.timeutil import SHANGHAI, to_local

    cal = WorkCalendar({date(2026, 10, 10): True, date(2026, 10, 12): False, date(2027, 2, 7): True},
                       loaded_years=[2026])

    def day_by_day(start, end):
        if end <= start:
            return 0.0
        a, b = to_local(start), to_local(end)
        total, day = timedelta(0), a.date()
        while day <= b.date():
            if cal.is_workday(day):
                lo = max(a, datetime.combine(day, time(0), SHANGHAI))
                hi = min(b, datetime.combine(day + timedelta(days=1), time(0), SHANGHAI))
                total += max(hi - lo, timedelta(0))
            day += timedelta(days=1)
        return round(total / timedelta(days=1), 2)

    rng = random.Random(7)
    origin = datetime(2025, 12, 20)
    for _ in range(2000):
        start = origin + timedelta(minutes=rng.randrange(60 * 24 * 500))
        end = start + timedelta(minutes=rng.choice([rng.randrange(60 * 30), rng.randrange(60 * 24 * 90)]))
        if rng.random() < 0.05:
            start, end = end, start
        assert cal.working_days_between(start, end) == day_by_day(start, end), (start, end)
