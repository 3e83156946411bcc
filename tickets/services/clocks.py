"""Starting, stopping, extending and recomputing a ticket's clocks."""
from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy.orm import selectinload

from ..audit import append_event, format_time
from ..extensions import db
from ..models import NO_DUE, Clock, Ticket
from ..timeutil import from_local, now, to_local
from ..workdays import WorkCalendar

# The clock a ticket runs in each open state; terminal states run none.
CLOCK_OF_STATE = {"submitted": "accept", "accepted": "handle", "handled": "feedback"}


def limit_for(ticket: Ticket, kind: str) -> int:
    if kind == "accept":
        return current_app.config["ACCEPT_LIMIT_DAYS"]
    if kind == "feedback":
        return current_app.config["FEEDBACK_LIMIT_DAYS"]
    return ticket.category.limit_days


def open_clock(ticket: Ticket, kind: str | None = None) -> Clock | None:
    kind = kind or CLOCK_OF_STATE.get(ticket.state)
    if kind is None:
        return None
    return db.session.scalar(
        db.select(Clock)
        .filter_by(ticket_id=ticket.id, kind=kind, stopped_at=None)
        .order_by(Clock.id.desc())
        .limit(1)
    )


def _mirror(ticket: Ticket, clock: Clock | None) -> None:
    """Copy the clock in force onto the ticket, for the indexed queues."""
    if clock is None:
        ticket.clock_kind = ticket.yellow_at = ticket.due_at = ticket.red3_at = None
        ticket.queue_due_at = NO_DUE
    else:
        ticket.clock_kind = clock.kind
        ticket.yellow_at, ticket.due_at, ticket.red3_at = clock.yellow_at, clock.due_at, clock.red3_at
        ticket.queue_due_at = clock.due_at


def start_clock(ticket: Ticket, kind: str, cal: WorkCalendar | None = None) -> Clock:
    cal = cal or WorkCalendar.load()
    started = now()
    limit = limit_for(ticket, kind)
    d = cal.deadline(started, limit)
    clock = Clock(
        ticket_id=ticket.id,
        kind=kind,
        round=ticket.round if kind in ("handle", "feedback") else 0,
        started_at=started,
        limit_days=limit,
        yellow_at=d.yellow_at,
        due_at=d.due_at,
        red3_at=d.red3_at,
        original_due_at=d.due_at,
        deadline_version=1,
        next_step_at=d.yellow_at,
    )
    if kind == "handle":
        # A round is credited to the department and lead that start it (DESIGN.md, Measures).
        clock.credit_department_id, clock.credit_user_id = ticket.department_id, ticket.lead_id
    db.session.add(clock)
    _mirror(ticket, clock)
    return clock


def hold_round(ticket: Ticket, clock: Clock | None) -> None:
    """Credit an open round to the ticket's current department and lead, unless it is already overdue.

    Called when a transfer moves the ticket and when the due time moves: a round that fell
    due under one official stays credited to them when it is transferred afterwards, and
    passes to the current holder again only if a new due time puts it back in time.
    """
    if clock is None or clock.kind != "handle" or clock.stopped_at is not None or now() >= clock.due_at:
        return
    clock.credit_department_id, clock.credit_user_id = ticket.department_id, ticket.lead_id


def decide_accept(ticket: Ticket, actor) -> None:
    """Stop the accept clock, credited to the coordinator who accepted or rejected the request."""
    clock = stop_clock(ticket, "accept")
    if clock is not None:
        clock.credit_department_id, clock.credit_user_id = actor.department_id, actor.id


def stop_clock(ticket: Ticket, kind: str | None = None) -> Clock | None:
    clock = open_clock(ticket, kind)
    if clock is not None:
        clock.stopped_at = now()
        clock.next_step_at = None
    _mirror(ticket, None)
    return clock


def extend_clock(ticket: Ticket, clock: Clock, days: int, cal: WorkCalendar | None = None) -> None:
    """Move the due time by `days` working days: a new deadline version."""
    cal = cal or WorkCalendar.load()
    clock.limit_days += days
    d = cal.deadline(clock.started_at, clock.limit_days)
    clock.yellow_at, clock.due_at, clock.red3_at = d.yellow_at, d.due_at, d.red3_at
    clock.deadline_version += 1
    # A new deadline version starts its ladder again; steps of the old one are void.
    clock.next_step_at = clock.yellow_at
    hold_round(ticket, clock)
    _mirror(ticket, clock)


def recompute_open_clocks(changed, actor_id: int | None, cal: WorkCalendar | None = None) -> int:
    """After a calendar edit: every open clock whose window covers a changed day gets a new version.

    `changed` is the set of days whose working status changed; `cal` the calendar after the
    change (loaded here if not given). The calendar and the open clocks are read once, however
    many days changed. Returns how many clocks moved. The caller commits.
    """
    days = sorted(set(changed))
    if not days:
        return 0
    cal = cal or WorkCalendar.load()
    # A clock's window runs from its start day to its red-for-3-days day; only clocks that
    # started before the last changed day ends and end after the first one begins can cover one.
    first_start = from_local(datetime.combine(days[0], time(0)))
    last_end = from_local(datetime.combine(days[-1] + timedelta(days=1), time(0)))
    clocks = db.session.scalars(
        db.select(Clock)
        .where(Clock.stopped_at.is_(None), Clock.started_at < last_end, Clock.red3_at >= first_start)
        .options(selectinload(Clock.ticket))
        .order_by(Clock.id)
    ).all()
    moved = 0
    for clock in clocks:
        start_day = to_local(clock.started_at).date()
        end_day = to_local(clock.red3_at).date()
        i = bisect_left(days, start_day)
        if i == len(days) or days[i] > end_day:
            continue
        d = cal.deadline(clock.started_at, clock.limit_days)
        if (d.yellow_at, d.due_at, d.red3_at) == (clock.yellow_at, clock.due_at, clock.red3_at):
            continue
        old_due = clock.due_at
        clock.yellow_at, clock.due_at, clock.red3_at = d.yellow_at, d.due_at, d.red3_at
        clock.deadline_version += 1
        clock.next_step_at = clock.yellow_at
        ticket = clock.ticket
        hold_round(ticket, clock)
        if ticket.clock_kind == clock.kind:
            _mirror(ticket, clock)
        append_event(
            ticket,
            actor_id,
            "clock_recomputed",
            visibility="internal",
            details={
                "clock": clock.kind,
                "round": clock.round,
                # The first changed day the clock's window covers.
                "changed_day": days[i].isoformat(),
                "old_due": format_time(old_due),
                "new_due": format_time(clock.due_at),
                "deadline_version": clock.deadline_version,
            },
        )
        moved += 1
    return moved


def set_due(ticket: Ticket, clock: Clock, new_due_day: date, cal: WorkCalendar | None = None) -> None:
    """Make `new_due_day` (a working day after the start) the clock's last day: a new deadline version.

    The limit becomes the working days from the start to that day, so that a later
    calendar recompute (which derives the due time from the limit) keeps the date.
    The caller checks that the day is a working day after the clock's start day.
    """
    cal = cal or WorkCalendar.load()
    day, limit = to_local(clock.started_at).date(), 0
    while day < new_due_day:
        day = cal.nth_workday_after(day, 1)
        limit += 1
    clock.limit_days = limit
    d = cal.deadline(clock.started_at, limit)
    clock.yellow_at, clock.due_at, clock.red3_at = d.yellow_at, d.due_at, d.red3_at
    clock.deadline_version += 1
    # A new deadline version starts its ladder again; steps of the old one are void.
    clock.next_step_at = clock.yellow_at
    hold_round(ticket, clock)
    _mirror(ticket, clock)
