"""Saying so where a deadline is provisional: it touches a year whose schedule is not loaded.

A page reads the loaded years once (one small query per request, however many rows it
shows); outside a request (an e-mail in the worker, the CLI) each call reads them afresh,
so a calendar loaded a moment ago is never missed.
"""
from __future__ import annotations

from datetime import datetime

from flask import g, has_request_context
from flask_babel import gettext as _

from .extensions import db
from .models import CalendarYear
from .workdays import WorkCalendar

_KEY = "_calendar_loaded_years"


def loaded_years() -> frozenset[int]:
    if has_request_context() and _KEY in g:
        return g.get(_KEY)
    years = frozenset(db.session.scalars(db.select(CalendarYear.year)))
    if has_request_context():
        setattr(g, _KEY, years)
    return years


def forget_loaded_years() -> None:
    """Before each request: an app context can outlive a request (tests, the CLI)."""
    g.pop(_KEY, None)


def note_text(years) -> str:
    """The words every role sees next to a provisional due time."""
    return _("provisional: the %(year)s holiday schedule is not loaded yet", year=", ".join(map(str, years)))


def deadline_note(started_at: datetime | None, due_at: datetime | None) -> str:
    """The note for a deadline from `started_at` to `due_at`; "" when it is not provisional."""
    if started_at is None or due_at is None:
        return ""
    years = WorkCalendar(loaded_years=loaded_years()).provisional_years(started_at, due_at)
    return note_text(years) if years else ""


def ticket_note(ticket) -> str:
    """The note for the deadline a ticket shows: that of the clock in force (ticket.open_clocks)."""
    if ticket.due_at is None:
        return ""
    started = [c.started_at for c in ticket.open_clocks if c.kind == ticket.clock_kind]
    return deadline_note(started[-1] if started else ticket.due_at, ticket.due_at)
