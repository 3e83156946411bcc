"""Writing a ticket's record: the one assignment of its state, and what ends with a round.

`move` is the only code that assigns `ticket.state`; `record` appends a record-only
event. When a ticket leaves "accepted" (handled, closed by force, ...) its round
ends, and with it every extension or transfer request still pending: they lapse,
so that none can be decided later and move another round's clock.
"""
from __future__ import annotations

from ..audit import append_event
from ..extensions import db
from ..lifecycle import ACTIONS, OPEN_STATES, target_state
from ..models import ExtensionRequest, Ticket, TransferRequest, User
from ..timeutil import now

LAPSE_EVENTS = ((ExtensionRequest, "extension_lapsed"), (TransferRequest, "transfer_lapsed"))


def move(ticket: Ticket, actor: User | None, action: str, visibility: str, details: dict) -> None:
    """Apply `action`'s transition: the event, the new state, and the end of the round if it ended."""
    to = target_state(ticket.state, action)
    frm = ticket.state
    append_event(ticket, actor.id if actor else None, action, from_state=frm, to_state=to,
                 visibility=visibility, details=details)
    ticket.state = to
    if ACTIONS[action].to_state and to not in OPEN_STATES:
        ticket.closed_at = now()
    if frm == "accepted" and to != "accepted":
        lapse_pending(ticket, action)


def record(ticket: Ticket, actor: User | None, action: str, visibility: str, details: dict) -> None:
    append_event(ticket, actor.id if actor else None, action, visibility=visibility, details=details)


def lapse_pending(ticket: Ticket, action: str) -> int:
    """Every pending extension or transfer request of the ticket lapses; returns how many."""
    lapsed = 0
    for model, kind in LAPSE_EVENTS:
        pending = db.session.scalars(
            db.select(model).filter_by(ticket_id=ticket.id, status="pending").order_by(model.id)).all()
        for req in pending:
            # decided_at says when it ended; decided_by stays empty: nobody decided it.
            req.status, req.decided_at = "lapsed", now()
            details = {"request_id": req.id, "round": ticket.round, "ended_by": action}
            append_event(ticket, None, kind, visibility="internal", details=details)
            lapsed += 1
    return lapsed
