"""The weekly meeting's decision on one item, as a record-only lifecycle action.

`perform(ticket, "meeting_decision", coordinator, list_id=, what=, who_user_id=
or who_text=, by_date=, new_due=)` runs `meeting_decision` below: it validates,
keeps the decision row, writes an internal event, and where the meeting set a
new due date, gives the handle clock a new deadline version. The caller
(perform) checks the lifecycle table and the permission function, and commits.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from ..audit import append_event, format_time
from ..extensions import db
from ..models import MeetingDecision, MeetingList, Ticket, User
from ..timeutil import local_today, now, to_local
from ..workdays import WorkCalendar
from . import clocks
from .common import parse_id, raise_if, require_text

WHAT_MAX = 2000
WHO_MAX = 200


def parse_day(value) -> date | None:
    """A date from a form ("2026-11-27") or a date; None when empty or not a date."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _who(errors: dict, data: dict) -> tuple[User | None, str]:
    user = None
    if parse_id(data.get("who_user_id")):
        user = db.session.get(User, parse_id(data["who_user_id"]))
        if user is None or not user.active or user.has("firm"):
            errors["who_user_id"] = _l("Please choose an active member of staff.")
            user = None
    text = require_text(errors, "who_text", data.get("who_text"), _l("Who"), WHO_MAX, min_len=0)
    if user is None and not text and "who_user_id" not in errors:
        errors["who"] = _l("Please name who is to do it.")
    return user, ("" if user is not None else text)


def _new_due(errors: dict, ticket: Ticket, value, today: date, cal: WorkCalendar):
    """The handle clock to move and the new last day, or (None, None) when none was asked."""
    if value in (None, ""):
        return None, None
    day = parse_day(value)
    clock = clocks.open_clock(ticket, "handle") if ticket.state == "accepted" else None
    if day is None:
        errors["new_due"] = _l("Please give the new due date as a date.")
    elif clock is None:
        errors["new_due"] = _l("A new due date can be set only while the request is being handled.")
    elif day < today or day <= to_local(clock.started_at).date():
        errors["new_due"] = _l("The new due date cannot be in the past.")
    elif day > today + timedelta(days=366):
        errors["new_due"] = _l("The date must be within a year.")
    elif not cal.is_workday(day):
        errors["new_due"] = _l("The new due date must be a working day.")
    return clock, day


def meeting_decision(ticket: Ticket, actor: User, data: dict, files) -> None:
    errors: dict = {}
    meeting = db.session.get(MeetingList, parse_id(data.get("list_id"))) if parse_id(data.get("list_id")) else None
    if meeting is None:
        errors["list_id"] = _l("The meeting list was not found.")
    what = require_text(errors, "what", data.get("what"), _l("What was decided"), WHAT_MAX)
    who_user, who_text = _who(errors, data)
    today = local_today()
    by_date = parse_day(data.get("by_date"))
    if by_date is None:
        errors["by_date"] = _l("Please give the date by which it is to be done.")
    elif by_date < today:
        errors["by_date"] = _l("The date by which it is to be done cannot be in the past.")
    elif by_date > today + timedelta(days=366):
        errors["by_date"] = _l("The date must be within a year.")
    cal = WorkCalendar.load()
    clock, new_due = _new_due(errors, ticket, data.get("new_due"), today, cal)
    raise_if(errors)
    details = {
        "list_id": meeting.id, "week": meeting.week, "what": what,
        "who_user_id": who_user.id if who_user else None, "who": who_user.name if who_user else who_text,
        "by_date": by_date.isoformat(),
    }
    if new_due is not None:
        old_due = clock.due_at
        clocks.set_due(ticket, clock, new_due, cal)
        details.update({"clock": clock.kind, "round": clock.round, "old_due": format_time(old_due),
                        "new_due": format_time(clock.due_at), "deadline_version": clock.deadline_version})
    db.session.add(MeetingDecision(
        list_id=meeting.id, ticket_id=ticket.id, what=what, who_user_id=who_user.id if who_user else None,
        who_text=who_text, by_date=by_date, new_due=new_due, decided_by_id=actor.id, decided_at=now()))
    # Internal: DESIGN.md, the firm never sees meeting decisions.
    append_event(ticket, actor.id, "meeting_decision", visibility="internal", details=details)
