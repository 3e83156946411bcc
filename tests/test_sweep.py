"""The sweep: each clock's reminder steps, raised once for exactly the people of DESIGN.md.

Expected recipients are written out from DESIGN.md, Clocks (users of the park),
never taken from tickets.services.sweep.recipients:

| clock    | yellow       | red                                 | red for 3 days                           |
| accept   | coordinators | coordinators                        | coordinators, leaders, inspectors        |
| handle   | lead         | lead, head, the firm's liaison      | inspectors, head, liaison                |
| feedback | the firm     | - (closes as closed_unconfirmed)    | -                                        |

In the park of conftest: one coordinator, one leader (park.leader, also the
liaison of firm_a), one inspector; hr_head heads HR; the lead is hr_official;
firm_a has one user (firm_user). Every park user has an e-mail address, so
every recipient gets an in-app and an e-mail outbox row.

Expected times are naive UTC as stored. Shanghai is UTC+8 all year: 24:00 of
a Shanghai day is 16:00 UTC of the same date, 18:00 Shanghai is 10:00 UTC.
The 2026 calendar as chinese-calendar has it (checked with
chinese_calendar.is_workday): Mid-Autumn Fri 25 Sep off; National Day Thu 1 -
Wed 7 Oct off; make-up working days Sun 20 Sep and Sat 10 Oct (and Sun 4 Jan).
2027 is not in the package and not loaded: a clock running into 2027 counts its
provisional statutory holidays (tickets/holidays.py): Fri 1 Jan 2027 is off.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest

from tickets.audit import verify_all
from tickets.extensions import db
from tickets.models import CalendarYear, Clock, Event, Notification, OutboxMessage, ReminderStep, SweepRun, Ticket
from tickets.services import outbox
from tickets.services.actions import perform
from tickets.services.calendar import seed_year, set_day
from tickets.services.sweep import sweep
from tickets.timeutil import from_local
from tickets.workdays import WorkCalendar

from .conftest import accept, file_request, handle

CHANNELS = ("inapp", "email")


def sh(*args) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the services store."""
    return from_local(datetime(*args))


@pytest.fixture
def cal(app):
    """2026 from chinese-calendar; 2027 deliberately not loaded."""
    assert seed_year(2026) > 0
    db.session.commit()
    assert db.session.get(CalendarYear, 2027) is None


# --- helpers --------------------------------------------------------------------


def clock_of(ticket: Ticket, kind: str) -> Clock:
    db.session.expire_all()
    return db.session.scalar(db.select(Clock).filter_by(ticket_id=ticket.id, kind=kind)
                             .order_by(Clock.id.desc()).limit(1))


def times(c: Clock) -> tuple[datetime, datetime, datetime]:
    return c.yellow_at, c.due_at, c.red3_at


def steps(ticket: Ticket, skipped: bool = False) -> list[tuple[str, str, int]]:
    """(clock kind, level, deadline version) of every raised (or skipped) step, in the order written."""
    return [(s.clock_kind, s.level, s.deadline_version) for s in db.session.scalars(
        db.select(ReminderStep).filter_by(ticket_id=ticket.id, skipped=skipped).order_by(ReminderStep.id))]


def deliver_inapp() -> None:
    for row_id in db.session.scalars(db.select(OutboxMessage.id).filter_by(channel="inapp", status="pending")):
        assert outbox.deliver(row_id) == "sent"


def inbox_of(user) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Notification).filter_by(user_id=user.id).where(
        Notification.key.like("step:%")).order_by(Notification.id)))


def step(ticket: Ticket, kind: str, level: str, version: int = 1) -> ReminderStep:
    return db.session.scalar(db.select(ReminderStep).filter_by(
        ticket_id=ticket.id, clock_kind=kind, level=level, deadline_version=version))


def reminders(ticket: Ticket) -> list[dict]:
    """The details of the ticket's reminder events, in chain order."""
    evs = db.session.scalars(db.select(Event).filter_by(ticket_id=ticket.id, action="reminder")
                             .order_by(Event.seq)).all()
    for ev in evs:
        assert ev.actor_id is None and ev.visibility == "internal"
    return [json.loads(ev.details) for ev in evs]


def outbox_rows(st: ReminderStep) -> list[tuple[int, str]]:
    return sorted((r.user_id, r.channel) for r in db.session.scalars(
        db.select(OutboxMessage).filter_by(step_id=st.id)))


def rows_for(*users) -> list[tuple[int, str]]:
    return sorted((u.id, ch) for u in users for ch in CHANNELS)


def ids(*users) -> list[int]:
    return sorted(u.id for u in users)


def check_step(ticket, kind, level, users, version=1):
    """The step exists once, its event names exactly `users`, its outbox holds exactly their rows."""
    st = step(ticket, kind, level, version)
    assert st is not None, (kind, level, version)
    assert st.recipients == len(users)
    evs = [d for d in reminders(ticket)
           if (d["clock"], d["level"], d["deadline_version"]) == (kind, level, version)]
    assert len(evs) == 1
    assert sorted(evs[0]["recipients"]) == ids(*users)
    assert outbox_rows(st) == rows_for(*users)
    for row in db.session.scalars(db.select(OutboxMessage).filter_by(step_id=st.id)):
        assert row.kind == "reminder" and row.status == "pending" and row.ticket_id == ticket.id
    return st, evs[0]


def filed_and_accepted(park, clock, y, m, d):
    """Filed at 09:00 and accepted at 10:00 (Shanghai) on the given day: the handle clock runs."""
    clock(y, m, d, 9, 0)
    t = file_request(park)
    clock(y, m, d, 10, 0)
    accept(park, t)
    return t


# --- the handle clock -------------------------------------------------------------


def test_handle_clock_yellow_red_red3_reach_exactly_the_table(park, clock, cal):
    # Accepted Tue 17 Nov 2026; labor is 5 working days: 18, 19, 20, 23, 24 November.
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    assert times(clock_of(t, "handle")) == (
        datetime(2026, 11, 23, 16, 0),  # yellow: 00:00 Tue 24 Nov (1 working day left)
        datetime(2026, 11, 24, 16, 0),  # due: 24:00 Tue 24 Nov
        datetime(2026, 11, 27, 16, 0),  # red for 3 days: 24:00 Fri 27 Nov (25, 26, 27)
    )

    clock(2026, 11, 23, 23, 59, 59)
    assert sweep() == {}
    assert steps(t) == []

    clock(2026, 11, 24, 0, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    assert steps(t) == [("handle", "yellow", 1)]
    check_step(t, "handle", "yellow", [park.hr_official])
    assert reminders(t)[0]["recipients"] == [park.hr_official.id]

    clock(2026, 11, 25, 0, 0)
    assert sweep() == {"handle.red.raised": 1}
    check_step(t, "handle", "red", [park.hr_official, park.hr_head, park.leader])
    assert db.session.get(Ticket, t.id).supervised_at is None

    clock(2026, 11, 28, 0, 0)
    assert sweep() == {"handle.red3.raised": 1}
    _st, details = check_step(t, "handle", "red3", [park.inspector, park.hr_head, park.leader])
    assert details["supervision_list"] is True
    assert db.session.get(Ticket, t.id).supervised_at == datetime(2026, 11, 27, 16, 0)

    # The same moment again, and later: nothing is raised twice, nothing more is owed.
    assert sweep() == {}
    clock(2026, 12, 10, 9, 0)
    assert sweep() == {}
    assert steps(t) == [("handle", "yellow", 1), ("handle", "red", 1), ("handle", "red3", 1)]
    assert len(reminders(t)) == 3
    assert clock_of(t, "handle").next_step_at is None
    assert verify_all() == (1, [])


# --- the accept clock -------------------------------------------------------------


def test_accept_clock_reaches_coordinators_then_leaders_and_inspectors(park, clock, cal):
    # Filed Tue 17 Nov 09:00: 1 working day (Wed 18); yellow at 25% of it left.
    clock(2026, 11, 17, 9, 0)
    t = file_request(park)
    assert times(clock_of(t, "accept")) == (
        datetime(2026, 11, 18, 10, 0),  # 18:00 Wed 18 Nov
        datetime(2026, 11, 18, 16, 0),  # 24:00 Wed 18 Nov
        datetime(2026, 11, 23, 16, 0),  # 24:00 Mon 23 Nov (19, 20, 23)
    )

    clock(2026, 11, 18, 17, 59)
    assert sweep() == {}
    clock(2026, 11, 18, 18, 0)
    assert sweep() == {"accept.yellow.raised": 1}
    check_step(t, "accept", "yellow", [park.coordinator])

    clock(2026, 11, 19, 0, 0)
    assert sweep() == {"accept.red.raised": 1}
    check_step(t, "accept", "red", [park.coordinator])

    clock(2026, 11, 23, 23, 59)
    assert sweep() == {}
    clock(2026, 11, 24, 0, 0)
    assert sweep() == {"accept.red3.raised": 1}
    check_step(t, "accept", "red3", [park.coordinator, park.leader, park.inspector])
    assert db.session.get(Ticket, t.id).supervised_at == datetime(2026, 11, 23, 16, 0)
    assert sweep() == {}

    # Accepting stops the accept clock: its steps are done, the handle clock starts afresh.
    clock(2026, 11, 24, 9, 0)
    accept(park, t)
    assert sweep() == {}
    assert verify_all() == (1, [])


# --- the feedback clock -----------------------------------------------------------


def test_feedback_clock_reminds_the_firm_then_closes_unconfirmed(park, clock, cal):
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    clock(2026, 11, 18, 10, 0)
    handle(park, t)
    # 5 working days after Wed 18: 19, 20, 23, 24, 25 November.
    assert times(clock_of(t, "feedback"))[:2] == (
        datetime(2026, 11, 24, 16, 0),  # yellow: 00:00 Wed 25 Nov
        datetime(2026, 11, 25, 16, 0),  # due: 24:00 Wed 25 Nov
    )

    clock(2026, 11, 24, 23, 59)
    assert sweep() == {}
    clock(2026, 11, 25, 0, 0)
    assert sweep() == {"feedback.yellow.raised": 1}
    check_step(t, "feedback", "yellow", [park.firm_user])  # firm_a's users only, not firm_b's

    clock(2026, 11, 25, 23, 59)
    assert sweep() == {}
    assert db.session.get(Ticket, t.id).state == "handled"

    clock(2026, 11, 26, 0, 0)
    assert sweep() == {"feedback.expired": 1}
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert t.state == "closed_unconfirmed"
    last = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id).order_by(Event.seq.desc()).limit(1))
    assert (last.action, last.actor_id, last.from_state, last.to_state) == (
        "expire", None, "handled", "closed_unconfirmed")
    assert clock_of(t, "feedback").stopped_at == datetime(2026, 11, 25, 16, 0)
    # No red or red-for-3-days step on the feedback clock, and nothing more to do.
    assert steps(t) == [("feedback", "yellow", 1)]
    assert sweep() == {}
    clock(2026, 12, 10, 9, 0)
    assert sweep() == {}
    assert verify_all() == (1, [])


# --- a missed sweep ---------------------------------------------------------------


def test_a_clock_nine_days_past_due_swept_first_raises_only_red3_once_to_all_it_owes(park, clock, cal):
    # Due 24:00 Tue 24 Nov; nothing swept since the acceptance (the worker was down) until
    # Thu 3 Dec, nine days later: yellow, red and red for 3 days are all past at once.
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    clock(2026, 12, 3, 9, 0)
    assert sweep() == {"handle.red3.raised": 1, "handle.yellow.skipped": 1, "handle.red.skipped": 1}
    assert steps(t) == [("handle", "red3", 1)]
    assert steps(t, skipped=True) == [("handle", "yellow", 1), ("handle", "red", 1)]
    for level in ("yellow", "red"):
        st = step(t, "handle", level)
        assert st.skipped and st.recipients == 0 and outbox_rows(st) == []
    # One event, one message each: red3's people and those red would have told (the lead).
    everyone = [park.inspector, park.hr_head, park.leader, park.hr_official]
    _st, details = check_step(t, "handle", "red3", everyone)
    assert len(reminders(t)) == 1 and details["skipped"] == ["yellow", "red"]
    deliver_inapp()
    for user in everyone:
        notes = inbox_of(user)
        assert [json.loads(n.params)["level"] for n in notes] == ["red3"], user.username
    # Never sent later either: the skipped steps are owed once, like the raised ones.
    assert sweep() == {}
    clock(2026, 12, 20, 9, 0)
    assert sweep() == {}
    assert clock_of(t, "handle").next_step_at is None
    assert len(inbox_of(park.hr_official)) == 1
    assert verify_all() == (1, [])


def test_a_sweep_after_yellow_that_finds_red_and_red3_past_skips_only_red(park, clock, cal):
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    clock(2026, 11, 24, 9, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    clock(2026, 11, 30, 9, 0)  # red since Wed 25 00:00, red for 3 days since Sat 28 00:00
    assert sweep() == {"handle.red3.raised": 1, "handle.red.skipped": 1}
    assert steps(t) == [("handle", "yellow", 1), ("handle", "red3", 1)]
    assert steps(t, skipped=True) == [("handle", "red", 1)]
    check_step(t, "handle", "red3", [park.inspector, park.hr_head, park.leader, park.hr_official])
    assert sweep() == {}
    assert verify_all() == (1, [])


def test_a_sweep_on_time_still_raises_each_level_in_turn(park, clock, cal):
    # The rule is only for levels found past together: one sweep per level sends each.
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    for day, level in ((24, "yellow"), (25, "red"), (28, "red3")):
        clock(2026, 11, day, 0, 1)
        assert sweep() == {f"handle.{level}.raised": 1}
    assert steps(t, skipped=True) == []
    deliver_inapp()
    assert [json.loads(n.params)["level"] for n in inbox_of(park.hr_official)] == ["yellow", "red"]


def test_a_missed_feedback_window_closes_without_the_late_reminder(park, clock, cal):
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    clock(2026, 11, 18, 10, 0)
    handle(park, t)
    clock(2026, 12, 1, 9, 0)
    # The window has closed: the firm is told of the closing only, not that it is near.
    assert sweep() == {"feedback.yellow.skipped": 1, "feedback.expired": 1}
    assert db.session.get(Ticket, t.id).state == "closed_unconfirmed"
    assert steps(t) == [] and steps(t, skipped=True) == [("feedback", "yellow", 1)]
    assert sweep() == {}
    assert verify_all() == (1, [])


# --- an extension after the yellow step -------------------------------------------


def test_extension_after_yellow_starts_a_new_version_and_voids_the_old_reminder(park, clock, cal, app, tmp_path):
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    clock(2026, 11, 24, 9, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    old_rows = [r.id for r in db.session.scalars(
        db.select(OutboxMessage).filter_by(step_id=step(t, "handle", "yellow").id))]
    assert len(old_rows) == 2

    clock(2026, 11, 24, 10, 0)
    perform(t, "request_extension", park.hr_official, days=3, reason="企业需补充材料", public_reason="等待企业材料")
    clock(2026, 11, 24, 11, 0)
    perform(t, "decide_extension", park.hr_head, decision="approve", comment="同意")
    c = clock_of(t, "handle")
    # 8 working days now: ... 24, 25, 26, 27 November.
    assert c.deadline_version == 2
    assert times(c) == (
        datetime(2026, 11, 26, 16, 0),  # yellow: 00:00 Fri 27 Nov
        datetime(2026, 11, 27, 16, 0),  # due: 24:00 Fri 27 Nov
        datetime(2026, 12, 2, 16, 0),  # red for 3 days: 24:00 Wed 2 Dec (30 Nov, 1, 2 Dec)
    )

    # The queued reminder of version 1 is a no-op when its delivery comes.
    assert [outbox.deliver(i) for i in old_rows] == ["void", "void"]
    assert {db.session.get(OutboxMessage, i).status for i in old_rows} == {"void"}
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)
                             .where(Notification.key.like("step:%"))) == 0

    # Version 1's red time passes: nothing (that deadline is gone).
    clock(2026, 11, 25, 0, 0)
    assert sweep() == {}
    clock(2026, 11, 26, 23, 59)
    assert sweep() == {}
    # Version 2's yellow: raised again, once.
    clock(2026, 11, 27, 0, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    assert steps(t) == [("handle", "yellow", 1), ("handle", "yellow", 2)]
    new, _ = check_step(t, "handle", "yellow", [park.hr_official], version=2)
    assert sweep() == {}
    new_rows = {r.channel: r.id for r in db.session.scalars(db.select(OutboxMessage).filter_by(step_id=new.id))}
    assert outbox.deliver(new_rows["inapp"]) == "sent"
    assert outbox.deliver(new_rows["inapp"]) == "skipped"
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)
                             .filter_by(user_id=park.hr_official.id)
                             .where(Notification.key.like("step:%"))) == 1

    clock(2026, 11, 28, 0, 0)
    assert sweep() == {"handle.red.raised": 1}
    assert step(t, "handle", "red", 2) is not None and step(t, "handle", "red", 1) is None
    assert verify_all() == (1, [])


# --- calendar edge cases ------------------------------------------------------------


def test_calendar_facts_the_edge_cases_rely_on(cal):
    off = [date(2026, 9, 25), date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5), date(2026, 10, 6),
           date(2026, 10, 7)]
    for d in off:
        assert chinese_calendar.is_workday(d) is False, d
    assert date(2026, 9, 20).weekday() == 6 and chinese_calendar.is_workday(date(2026, 9, 20)) is True
    assert date(2026, 10, 10).weekday() == 5 and chinese_calendar.is_workday(date(2026, 10, 10)) is True
    assert date(2026, 12, 29).weekday() == 1  # Tuesday
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 1))
    assert WorkCalendar.load().missing_years([2026, 2027]) == [2027]


def test_handle_deadline_across_national_day(park, clock, cal):
    # Accepted Wed 30 Sep: working days 8 Oct (Thu), 9 (Fri), 10 (make-up Sat), 12 (Mon), 13 (Tue).
    t = filed_and_accepted(park, clock, 2026, 9, 30)
    assert times(clock_of(t, "handle")) == (
        datetime(2026, 10, 12, 16, 0),  # yellow: 00:00 Tue 13 Oct
        datetime(2026, 10, 13, 16, 0),  # due: 24:00 Tue 13 Oct
        datetime(2026, 10, 16, 16, 0),  # red for 3 days: 24:00 Fri 16 Oct (14, 15, 16)
    )
    # Monday to Friday alone would have been due at 24:00 Wed 7 October: nothing then.
    clock(2026, 10, 8, 0, 0)
    assert sweep() == {}
    clock(2026, 10, 12, 23, 59)
    assert sweep() == {}
    clock(2026, 10, 13, 0, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    clock(2026, 10, 13, 23, 59)
    assert sweep() == {}
    clock(2026, 10, 14, 0, 0)
    assert sweep() == {"handle.red.raised": 1}
    clock(2026, 10, 16, 23, 59)
    assert sweep() == {}
    clock(2026, 10, 17, 0, 0)
    assert sweep() == {"handle.red3.raised": 1}
    assert steps(t) == [("handle", "yellow", 1), ("handle", "red", 1), ("handle", "red3", 1)]


def test_accept_clock_on_a_make_up_working_sunday(park, clock, cal):
    # Filed Sat 19 Sep 2026; Sun 20 Sep is a make-up working day: the one working day of the limit.
    clock(2026, 9, 19, 10, 0)
    t = file_request(park)
    assert times(clock_of(t, "accept")) == (
        datetime(2026, 9, 20, 10, 0),  # yellow: 18:00 Sun 20 Sep
        datetime(2026, 9, 20, 16, 0),  # due: 24:00 Sun 20 Sep
        datetime(2026, 9, 23, 16, 0),  # red for 3 days: 24:00 Wed 23 Sep (21, 22, 23)
    )
    clock(2026, 9, 20, 17, 59)
    assert sweep() == {}
    clock(2026, 9, 20, 18, 0)  # a Sunday, and still a reminder: it is a working day
    assert sweep() == {"accept.yellow.raised": 1}
    check_step(t, "accept", "yellow", [park.coordinator])
    clock(2026, 9, 21, 0, 0)
    assert sweep() == {"accept.red.raised": 1}
    clock(2026, 9, 24, 0, 0)
    assert sweep() == {"accept.red3.raised": 1}


def test_handle_clock_counts_the_make_up_sunday_and_skips_mid_autumn(park, clock, cal):
    # Accepted Fri 18 Sep: 20 (make-up Sun), 21, 22, 23, 24 September.
    t = filed_and_accepted(park, clock, 2026, 9, 18)
    assert times(clock_of(t, "handle")) == (
        datetime(2026, 9, 23, 16, 0),  # yellow: 00:00 Thu 24 Sep
        datetime(2026, 9, 24, 16, 0),  # due: 24:00 Thu 24 Sep (Monday-Friday alone: Fri 25)
        datetime(2026, 9, 30, 16, 0),  # red for 3 days: 28, 29, 30 Sep (25 is Mid-Autumn)
    )
    clock(2026, 9, 25, 0, 0)
    assert sweep() == {"handle.yellow.skipped": 1, "handle.red.raised": 1}
    clock(2026, 9, 30, 23, 59)
    assert sweep() == {}
    clock(2026, 10, 1, 0, 0)
    assert sweep() == {"handle.red3.raised": 1}


def test_end_of_year_without_next_years_calendar_counts_the_provisional_new_year(park, clock, cal):
    # Accepted Tue 29 Dec 2026 with 5 days: Wed 30 (1), Thu 31 Dec (2); Fri 1 Jan 2027 is
    # New Year's Day, a provisional holiday of unloaded 2027; Mon 4 (3), Tue 5 (4), Wed 6 Jan (5).
    t = filed_and_accepted(park, clock, 2026, 12, 29)
    assert times(clock_of(t, "handle")) == (
        datetime(2027, 1, 5, 16, 0),  # yellow: 00:00 Wed 6 Jan 2027
        datetime(2027, 1, 6, 16, 0),  # due: 24:00 Wed 6 Jan 2027
        datetime(2027, 1, 11, 16, 0),  # red for 3 days: 24:00 Mon 11 Jan (7, 8, 11)
    )
    clock(2027, 1, 1, 9, 0)
    assert sweep() == {}
    clock(2027, 1, 5, 23, 59)
    assert sweep() == {}
    clock(2027, 1, 6, 0, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    clock(2027, 1, 7, 0, 0)
    assert sweep() == {"handle.red.raised": 1}
    clock(2027, 1, 11, 23, 59)
    assert sweep() == {}
    clock(2027, 1, 12, 0, 0)
    assert sweep() == {"handle.red3.raised": 1}


def test_end_of_year_clock_moves_when_a_day_of_the_new_year_is_entered(park, clock, cal):
    """The admin enters Mon 4 Jan 2027 as a holiday after the yellow step: a new version, old steps void."""
    t = filed_and_accepted(park, clock, 2026, 12, 29)  # due 24:00 Wed 6 Jan, as above
    clock(2027, 1, 6, 8, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    v1_rows = [r.id for r in db.session.scalars(
        db.select(OutboxMessage).filter_by(step_id=step(t, "handle", "yellow").id))]
    clock(2027, 1, 6, 9, 0)
    assert set_day(date(2027, 1, 4), False, "临时停工", park.admin.id) == 1
    c = clock_of(t, "handle")
    assert c.deadline_version == 2
    # 30, 31 Dec; 1 Jan (provisional) and 4 Jan (entered) off; Tue 5 (3), Wed 6 (4), Thu 7 Jan (5).
    assert times(c) == (
        datetime(2027, 1, 6, 16, 0),  # yellow: 00:00 Thu 7 Jan
        datetime(2027, 1, 7, 16, 0),  # due: 24:00 Thu 7 Jan
        datetime(2027, 1, 12, 16, 0),  # red for 3 days: 24:00 Tue 12 Jan (8, 11, 12)
    )
    assert [outbox.deliver(i) for i in v1_rows] == ["void", "void"]
    clock(2027, 1, 6, 23, 59)
    assert sweep() == {}
    clock(2027, 1, 7, 0, 0)  # version 1's red time, version 2's yellow time
    assert sweep() == {"handle.yellow.raised": 1}
    assert steps(t) == [("handle", "yellow", 1), ("handle", "yellow", 2)]
    assert verify_all() == (1, [])


def test_the_last_minute_before_due_in_shanghai(park, clock, cal):
    # Due 24:00 Tue 24 Nov Shanghai = 16:00 UTC Tue 24 Nov; in UTC it is still the afternoon.
    t = filed_and_accepted(park, clock, 2026, 11, 17)
    clock(2026, 11, 24, 9, 0)
    assert sweep() == {"handle.yellow.raised": 1}
    clock(2026, 11, 24, 23, 59)
    assert sweep() == {}
    clock(2026, 11, 24, 23, 59, 59)
    assert sweep() == {}
    assert step(t, "handle", "red") is None
    clock(2026, 11, 25, 0, 0)
    assert sweep() == {"handle.red.raised": 1}
    st = step(t, "handle", "red")
    assert st.raised_at == datetime(2026, 11, 24, 16, 0)
    assert reminders(t)[-1]["due"].startswith("2026-11-24T16:00:00")


# --- the command line -------------------------------------------------------------------


def test_cli_sweep_prints_counts_and_outbox_status_prints_pending_and_last_sweep(app, park, clock, cal):
    filed_and_accepted(park, clock, 2026, 11, 17)
    runner = app.test_cli_runner()
    clock(2026, 11, 24, 9, 0)
    result = runner.invoke(args=["deadlines", "sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["handle.yellow.raised: 1"]

    # Filing told the coordinator; accepting told the lead and the firm; the yellow step the lead:
    # four users, each in-app and by e-mail, nothing delivered yet.
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "email: pending 4" in lines
    assert "inapp: pending 4" in lines
    last = [line for line in lines if line.startswith("last sweep: ")]
    assert len(last) == 1
    assert "2026-11-24 01:00:00" in last[0] and "'handle.yellow.raised': 1" in last[0]
    assert any(line.startswith("queue depth: ") for line in lines)

    result = runner.invoke(args=["deadlines", "sweep"])
    assert result.exit_code == 0 and result.output.splitlines() == ["nothing due"]
    assert db.session.scalar(db.select(db.func.count()).select_from(SweepRun)) == 2


def test_bihuan_frozen_now_fixes_the_clock_of_a_process(monkeypatch):
    """The env var the race test (and demos) use to start a CLI or worker "at" a moment."""
    from tickets.timeutil import frozen, now, set_now

    set_now(None)
    monkeypatch.setenv("BIHUAN_FROZEN_NOW", "2026-11-24T16:00:00Z")
    assert now() == datetime(2026, 11, 24, 16, 0)
    monkeypatch.setenv("BIHUAN_FROZEN_NOW", "2026-11-25T00:00:00+08:00")
    assert now() == datetime(2026, 11, 24, 16, 0)
    with frozen(datetime(2026, 1, 1, 0, 0)):  # the services' own freezing still wins
        assert now() == datetime(2026, 1, 1, 0, 0)
    monkeypatch.delenv("BIHUAN_FROZEN_NOW")
    real = datetime.now(timezone.utc).replace(tzinfo=None)
    assert now().tzinfo is None and abs(now() - real) < timedelta(seconds=5)
