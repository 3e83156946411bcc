"""What waits for a firm: questions of the officials to answer, results to rate.

Shown at the top of the firm's list and in its inbox, each with its deadline and what happens
when the deadline passes (DESIGN.md, Clocks): a question has no clock of its own, the handling
deadline keeps running; a result not rated by the feedback clock's due time (5 working days by
default, FEEDBACK_LIMIT_DAYS) is closed as unconfirmed by the sweep and can no longer be rated.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..extensions import db
from ..models import Question, Ticket

LIMIT = 50  # a firm with more than this waiting is read through its list


@dataclass
class Waiting:
    kind: str              # "answer" or "rate"
    ticket: Ticket
    due_at: datetime | None
    question: str = ""


def waiting_for_firm(firm_id: int) -> list[Waiting]:
    """The firm's open questions and results to rate, the nearest deadline first."""
    asked = db.session.execute(
        db.select(Ticket, Question.text)
        .join(Question, Question.ticket_id == Ticket.id)
        .where(Ticket.firm_id == firm_id, Ticket.state == "accepted", Question.answered_at.is_(None))
        .order_by(Ticket.queue_due_at, Ticket.id).limit(LIMIT)
    ).all()
    to_rate = db.session.scalars(
        db.select(Ticket).where(Ticket.firm_id == firm_id, Ticket.state == "handled")
        .order_by(Ticket.queue_due_at, Ticket.id).limit(LIMIT)
    ).all()
    out = [Waiting("rate", t, t.due_at) for t in to_rate]
    out += [Waiting("answer", t, t.due_at, text) for t, text in asked]
    return sorted(out, key=lambda w: (w.due_at is None, w.due_at or datetime.max, w.ticket.id))
