"""The staff queues: scoped, filtered, searched, in due order, paged by keyset (never OFFSET).

"My queue" is split in two: what needs the official ("todo": tickets they lead, accepted,
with no question open to the firm) and what waits for the firm ("waiting": a question
open, or the outcome awaiting the firm's feedback).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, column, exists, func, literal_column, or_, text, tuple_, union
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..lifecycle import OPEN_STATES
from ..models import STATES, Firm, Question, Ticket, User
from ..segment import query_terms
from ..services.common import parse_id
from ..timeutil import now

SCOPES = ("mine", "department", "inbox", "all")
PARTS = ("todo", "waiting")
PAGE_SIZE = 25


@dataclass
class Filters:
    scope: str
    state: str = ""
    category_id: int | None = None
    department_id: int | None = None
    level: str = ""
    q: str = ""
    after: str = ""
    before: str = ""
    part: str = "todo"


@dataclass
class Page:
    tickets: list
    next: str | None  # cursor of the next page
    prev: str | None  # cursor of the previous page
    total: int  # rows under the filters, every page
    counts: dict  # "mine": rows of each part under the same filters


def _scoped(user: User, f: Filters):
    stmt = db.select(Ticket)
    if f.scope == "mine":
        stmt = stmt.where(Ticket.lead_id == user.id)
    elif f.scope == "department":
        stmt = stmt.where(Ticket.department_id == user.department_id)
    elif f.scope == "inbox":
        stmt = stmt.where(Ticket.state == "submitted")
    return stmt


def _open_question():
    return exists().where(Question.ticket_id == Ticket.id, Question.answered_at.is_(None))


def part_condition(part: str):
    """What needs the lead ("todo") or waits for the firm ("waiting")."""
    if part == "waiting":
        return or_(Ticket.state == "handled", and_(Ticket.state == "accepted", _open_question()))
    return and_(Ticket.state == "accepted", ~_open_question())


def search_condition(q: str):
    """Tickets whose number, title or description words, or firm name, match `q` (None: no search).

    The ways of matching are united as one set of ticket ids (UNION), not an OR over the
    tickets: each part is an index lookup (the full-text index, the number, the firm), so
    a rare word reads a few rows at a million tickets, where an OR would test every row.
    """
    q = q.strip()
    if not q:
        return None
    found = [db.select(Ticket.id).where(Ticket.number == q)]
    # The firms are a small table: the ids of those whose name contains the text, if any.
    firm_ids = list(db.session.scalars(db.select(Firm.id).where(Firm.name.contains(q, autoescape=True))))
    if firm_ids:
        found.append(db.select(Ticket.id).where(Ticket.firm_id.in_(firm_ids)))
    terms = query_terms(q)
    if terms and db.engine.dialect.name == "postgresql":
        # The expression of ix_tickets_search (tickets/models/search.py), so the GIN index serves it.
        tsquery = " & ".join(f"'{t}':*" for t in terms)
        vector = func.to_tsvector(literal_column("'simple'::regconfig"), Ticket.search_text)
        found.append(db.select(Ticket.id).where(
            vector.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), tsquery))))
    elif terms:
        # FTS5: each word as a quoted prefix; the terms hold letters and digits only.
        match = " AND ".join(f'"{t}"*' for t in terms)
        found.append(text("SELECT rowid FROM ticket_search WHERE ticket_search MATCH :match")
                     .bindparams(match=match).columns(column("rowid", Integer)))
    return Ticket.id.in_(union(*found))


def _filtered(user: User, f: Filters):
    """The scope, state, category, department, level and search filters (not the part)."""
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
    found = search_condition(f.q)
    if found is not None:
        stmt = stmt.where(found)
    return stmt


def _count(stmt) -> int:
    return db.session.scalar(db.select(func.count()).select_from(stmt.with_only_columns(Ticket.id).subquery()))


def _cursor(text_: str):
    """(due, id) from "due_id", or None for a cursor that is not one."""
    try:
        due_text, id_text = text_.rsplit("_", 1)
        due, last_id = datetime.fromisoformat(due_text), parse_id(id_text)
    except ValueError:
        return None
    return None if last_id is None else (due, last_id)


def _key(t: Ticket) -> str:
    return f"{t.queue_due_at.isoformat()}_{t.id}"


def queue(user: User, f: Filters, page_size: int = PAGE_SIZE) -> Page:
    """One page of the queue, with the cursors either side, the total and (my queue) each part's count."""
    base = _filtered(user, f)
    counts = {}
    if f.scope == "mine":
        counts = {p: _count(base.where(part_condition(p))) for p in PARTS}
        stmt = base.where(part_condition(f.part))
        total = counts[f.part]
    else:
        stmt = base
        total = _count(base)
    after, before = _cursor(f.after), (None if f.after else _cursor(f.before))
    backwards = before is not None
    if after:
        due, last_id = after
        # A row value: the index on (..., queue_due_at, id) bounds the scan on both columns.
        stmt = stmt.where(tuple_(Ticket.queue_due_at, Ticket.id) > tuple_(due, last_id))
    elif before:
        due, last_id = before
        stmt = stmt.where(tuple_(Ticket.queue_due_at, Ticket.id) < tuple_(due, last_id))
    # The page shows each row's firm, category and lead, and whether its due time is provisional
    # (which needs the open clock's start): load them in one query each, not per row.
    stmt = stmt.options(selectinload(Ticket.firm), selectinload(Ticket.category), selectinload(Ticket.lead),
                        selectinload(Ticket.open_clocks))
    order = ((Ticket.queue_due_at.desc(), Ticket.id.desc()) if backwards
             else (Ticket.queue_due_at, Ticket.id))
    rows = db.session.scalars(stmt.order_by(*order).limit(page_size + 1)).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    # Going forward, there is a page before this one when it came by a cursor; going back, after it.
    has_next = more if not backwards else True
    has_prev = bool(after) if not backwards else more
    return Page(tickets=rows,
                next=_key(rows[-1]) if rows and has_next else None,
                prev=_key(rows[0]) if rows and has_prev else None,
                total=total, counts=counts)
