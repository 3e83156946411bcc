"""What the API answers: stable codes, each with its label in both languages beside it."""
from __future__ import annotations

from functools import lru_cache

from ..audit import format_time
from ..labels import table
from ..lifecycle import OPEN_STATES
from ..models import Ticket
from ..timeutil import now
from ..workdays import level
from .problems import both

# Codes inside an event's details, and the label kind that names them.
DETAIL_KINDS = {"outcome": "outcome", "solved": "solved", "rating": "rating", "contact_method": "contact_method",
                "channel": "channel", "urgency": "urgency", "clock": "clock", "decision": "decision"}


def coded(kind: str, code):
    """{"code", "label": {"zh", "en"}}, or None for no code."""
    if code is None or code == "":
        return None
    return _coded(kind, code)


@lru_cache(maxsize=None)
def _coded(kind: str, code) -> dict:
    # The catalogs are compiled before the app starts and never change while it runs: a code's two
    # labels are looked up once per process (a list of 50 requests asks for about 700).
    words = table(kind).get(code)
    return {"code": code, "label": both(words) if words is not None else {"zh": code, "en": code}}


def names(obj) -> dict[str, str]:
    return {"zh": obj.name_zh, "en": obj.name_en}


def time(at) -> str | None:
    return format_time(at) if at is not None else None


def warning_level(t: Ticket) -> str | None:
    if t.state not in OPEN_STATES:
        return None
    return level(now(), t.yellow_at, t.due_at, t.red3_at)


def ticket(t: Ticket) -> dict:
    return {
        "number": t.number,
        "url": f"/api/v1/tickets/{t.number}",
        "title": t.title,
        "description": t.description,
        "state": coded("state", t.state),
        "firm": {"name": t.firm.name, "credit_code": t.firm.credit_code},
        "category": {"code": t.category.code, "name": names(t.category)},
        "department": {"code": t.department.code, "name": names(t.department)} if t.department else None,
        "lead": {"id": t.lead.id, "name": t.lead.name} if t.lead else None,
        "urgency": coded("urgency", t.urgency),
        "channel": coded("channel", t.channel),
        "contact_name": t.contact_name,
        "contact_phone": t.contact_phone,
        "round": t.round,
        "follows": t.follows.number if t.follows_id else None,
        "created_at": time(t.created_at),
        "updated_at": time(t.updated_at),
        "closed_at": time(t.closed_at),
        "clock": coded("clock", t.clock_kind) if t.state in OPEN_STATES else None,
        "due_at": time(t.due_at) if t.state in OPEN_STATES else None,
        "warning_level": coded("level", warning_level(t)),
        "solved": coded("solved", t.solved),
        "rating": coded("rating", t.rating),
        "version": t.version,
    }


def entry(e) -> dict:
    """One entry of the timeline the caller may read (tickets/ticket/timeline.py decides which)."""
    details = dict(e.details)
    labels = {key: coded(kind, details[key]) for key, kind in DETAIL_KINDS.items()
              if isinstance(details.get(key), str) and details[key] in table(kind)}
    return {
        "seq": e.seq,
        "at": time(e.at),
        "event": coded("event", e.action),
        "actor": e.actor or None,
        "visibility": coded("visibility", e.visibility),
        "from_state": coded("state", e.from_state),
        "to_state": coded("state", e.to_state),
        "details": details,
        "detail_labels": labels,
    }


def action(name: str) -> dict:
    return coded("action", name)
