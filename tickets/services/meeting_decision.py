"""The weekly meeting's decision on one item, as a record-only lifecycle action.

`perform(ticket, "meeting_decision", coordinator, list_id=, what=, who_user_id=
or who_text=, by_date=, new_due=, chair_id=)` runs `meeting_decision` below: it
validates, keeps the decision row and writes an internal event. A new due date is
an extension approved at the meeting (DESIGN.md, Clocks): the handle clock gets a
new deadline version, and it is recorded like any other approved extension, an
ExtensionRequest requested by the round's lead official and decided by the leader
who chaired (never the lead), with its public event, so that the extension figures
and the inspector's desk count it. The caller (perform) checks the lifecycle table
and the permission function, and commits.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from ..audit import append_event, format_time
from ..extensions import db
from ..models import ExtensionRequest, MeetingDecision, MeetingList, Ticket, User
from ..timeutil import local_today, now, to_local
from ..workdays import WorkCalendar
from . import clocks
from .approvals import extension_approved
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
    elif day <= to_local(clock.due_at - timedelta(microseconds=1)).date():
        # Due at 24:00 of its last day, i.e. 00:00 of the next: the last day is the one before.
        errors["new_due"] = _l("The new due date must be later than the current one: the meeting moves a "
                               "deadline only by extending it.")
    return clock, day


def _chair(errors: dict, ticket: Ticket, value, required: bool) -> User | None:
    """The leader who chaired; required when the meeting extends the deadline, never the lead official."""
    chair = db.session.get(User, parse_id(value)) if parse_id(value) else None
    if chair is None and value not in (None, ""):
        errors["chair_id"] = _l("Please choose the leader who chaired the meeting.")
    elif chair is None:
        if required:
            errors["chair_id"] = _l("A new due date is an extension approved at the meeting: please choose the "
                                    "leader who chaired it.")
    elif not chair.active or not chair.has("leader"):
        errors["chair_id"] = _l("The chair must be an active user with the role leader.")
    elif chair.id == ticket.lead_id:
        errors["chair_id"] = _l("The lead official of this request cannot approve its extension as chair.")
    return chair if "chair_id" not in errors else None


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
    # (A chair is asked for once the date itself is acceptable: one thing to correct at a time.)
    chair = _chair(errors, ticket, data.get("chair_id"), required=new_due is not None and "new_due" not in errors)
    raise_if(errors)
    details = {
        "list_id": meeting.id, "week": meeting.week, "what": what,
        "who_user_id": who_user.id if who_user else None, "who": who_user.name if who_user else who_text,
        "by_date": by_date.isoformat(), "chair_id": chair.id if chair else None,
        "chair": chair.name if chair else "",
    }
    decision = MeetingDecision(
        list_id=meeting.id, ticket_id=ticket.id, what=what, who_user_id=who_user.id if who_user else None,
        who_text=who_text, by_date=by_date, new_due=new_due, decided_by_id=actor.id, decided_at=now(),
        chair_id=chair.id if chair else None)
    db.session.add(decision)
    db.session.flush()
    extension = None
    if new_due is not None:
        old_due, old_limit = clock.due_at, clock.limit_days
        clocks.set_due(ticket, clock, new_due, cal)
        if clock.limit_days <= old_limit:  # (a limit out of step with the due time; perform rolls back)
            raise_if({"new_due": _l("The new due date must be later than the current one: the meeting moves a "
                                    "deadline only by extending it.")})
        extension = ExtensionRequest(
            ticket_id=ticket.id, round=clock.round, days=clock.limit_days - old_limit, reason=what,
            public_reason="", status="approved", requested_by_id=ticket.lead_id, requested_at=now(),
            decided_by_id=chair.id, decided_at=now(), meeting_decision_id=decision.id)
        db.session.add(extension)
        db.session.flush()
        details.update({"clock": clock.kind, "round": clock.round, "old_due": format_time(old_due),
                        "new_due": format_time(clock.due_at), "deadline_version": clock.deadline_version,
                        "extension_request_id": extension.id})
    # Internal: DESIGN.md, the firm never sees meeting decisions.
    append_event(ticket, actor.id, "meeting_decision", visibility="internal", details=details)
    if extension is not None:
        # Public like every approved extension: the firm reads its new date (not the meeting's).
        extension_approved(ticket, actor, extension, clock, old_due, "", meeting_decision_id=decision.id,
                           meeting_week=meeting.week, chair_id=chair.id, chair=chair.name)
