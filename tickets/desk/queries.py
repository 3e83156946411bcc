"""The staff queues: scoped, filtered, in due order, paged by keyset (never OFFSET)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..lifecycle import OPEN_STATES
from ..models import STATES, Firm, Ticket, User
from ..services.common import parse_id
from ..timeutil import now

SCOPES = ("mine", "department", "inbox", "all")


@dataclass
class Filters:
    scope: str
    state: str = ""
    category_id: int | None = None
    department_id: int | None = None
    level: str = ""
    q: str = ""
    after: str = ""


def _scoped(user: User, f: Filters):
    stmt = db.select(Ticket)
    if f.scope == "mine":
        stmt = stmt.where(Ticket.lead_id == user.id)
    elif f.scope == "department":
        stmt = stmt.where(Ticket.department_id == user.department_id)
    elif f.scope == "inbox":
        stmt = stmt.where(Ticket.state == "submitted")
    return stmt


def queue(user: User, f: Filters, page_size: int = 25):
    """(tickets, cursor of the next page or None)."""
    stmt = _scoped(user, f)
    if f.state == "all":
        pass
    elif f.state in STATES:
        stmt = stmt.where(Ticket.state == f.state)
    elif f.scope != "inbox":
        stmt = stmt.where(Ticket.state.in_(OPEN_STATES))
    if f.category_id:
        stmt = stmt.where(Ticket.category_id == f.category_id)
    if f.department_id and f.scope == "all":
        stmt = stmt.where(Ticket.department_id == f.department_id)
    t = now()
    if f.level == "green":
        stmt = stmt.where(Ticket.yellow_at > t)
    elif f.level == "yellow":
        stmt = stmt.where(Ticket.yellow_at <= t, Ticket.due_at > t)
    elif f.level == "red":
        stmt = stmt.where(Ticket.due_at <= t)
    elif f.level == "red3":
        stmt = stmt.where(Ticket.red3_at <= t)
    q = f.q.strip()
    if q:
        firm_ids = db.select(Firm.id).where(Firm.name.contains(q, autoescape=True))
        stmt = stmt.where(or_(Ticket.number == q, Ticket.firm_id.in_(firm_ids)))
    if f.after:
        try:
            due_text, id_text = f.after.rsplit("_", 1)
            due, last_id = datetime.fromisoformat(due_text), parse_id(id_text)
            if last_id is None:
                raise ValueError(id_text)
            stmt = stmt.where(or_(Ticket.queue_due_at > due,
                                  and_(Ticket.queue_due_at == due, Ticket.id > last_id)))
        except ValueError:
            pass
    # The page shows each row's firm, category and lead, and whether its due time is provisional
    # (which needs the open clock's start): load them in one query each, not per row.
    stmt = stmt.options(selectinload(Ticket.firm), selectinload(Ticket.category), selectinload(Ticket.lead),
                        selectinload(Ticket.open_clocks))
    rows = db.session.scalars(stmt.order_by(Ticket.queue_due_at, Ticket.id).limit(page_size + 1)).all()
    cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        cursor = f"{last.queue_due_at.isoformat()}_{last.id}"
    return rows, cursor
