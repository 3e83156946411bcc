"""What each viewer reads of a ticket's record.

A firm reads public events only, and of those only the fields listed here
(DESIGN.md: who leads it, where it was transferred but not why, the new date
and public reason of an extension, ...). Staff read public and internal
events whole; inspectors read everything.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ..extensions import db
from ..models import Event, Ticket, User
from ..permissions import visibilities_for

FIRM_FIELDS = {
    "file": {"channel", "category", "title", "urgency", "follows", "attachments"},
    "accept": {"lead", "department_zh", "department_en"},
    "clock_started": {"clock", "round", "due", "limit_days"},
    "reject": {"reason"},
    "withdraw": {"reason"},
    "handle": {"round", "outcome", "what_was_done", "explanation", "contact_method", "contacted_on", "attachments"},
    "feedback": {"round", "solved", "rating", "comment"},
    "rework": {"round", "solved", "rating", "comment"},
    "expire": {"round"},
    "force_close": {"reason"},
    "ask": {"text"},
    "reply": {"text", "attachments"},
    "extension_approved": {"days", "new_due", "public_reason"},
    "transfer": {"department_zh", "department_en", "lead"},
    "note": {"text", "attachments"},
}


@dataclass
class Entry:
    seq: int
    at: datetime
    action: str
    actor: str
    visibility: str
    from_state: str | None
    to_state: str | None
    details: dict
    hash: str = ""


def timeline(ticket: Ticket, viewer: User) -> list[Entry]:
    visible = visibilities_for(viewer, ticket)
    firm_only = visible == ("public",)
    rows = db.session.execute(
        db.select(Event, User.name)
        .outerjoin(User, Event.actor_id == User.id)
        .where(Event.ticket_id == ticket.id, Event.visibility.in_(visible))
        .order_by(Event.seq)
    ).all()
    names = _recipient_names([ev for ev, _name in rows if ev.action == "reminder"])
    out = []
    for ev, actor_name in rows:
        details = json.loads(ev.details)
        if firm_only:
            allowed = FIRM_FIELDS.get(ev.action)
            if allowed is None:
                continue
            details = {k: v for k, v in details.items() if k in allowed}
        elif ev.action == "reminder":
            # A reminder says whom it went to, by name (the record keeps their ids).
            details["recipient_names"] = [names[i] for i in details.get("recipients", []) if i in names]
        out.append(Entry(ev.seq, ev.at, ev.action, actor_name or "", ev.visibility, ev.from_state,
                         ev.to_state, details, ev.hash))
    return out


def _recipient_names(reminders: list[Event]) -> dict[int, str]:
    ids = {i for ev in reminders for i in json.loads(ev.details).get("recipients", [])}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(User.id, User.name).where(User.id.in_(ids))).all())
