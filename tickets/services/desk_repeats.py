"""The inspector desk's repeats tab, in two parts (DESIGN.md: a request citing an earlier one is a repeat).

1. groups: the same firm and category 3+ times in the last 90 days, largest first;
2. citations: every request that cites an earlier number (`follows_id`), with the request
   it cites, grouped by the cited request, newest first.

One keyset runs through both: a cursor "0|count|firm|category" inside the groups,
"1|follows_id|id" inside the citations ("1|" at their start). The count is the sum of
the two parts' counts. The citations are a range on ix_tickets_follows (follows_id, id).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, literal_column, or_

from ..extensions import db
from ..models import Category, Firm, Ticket
from .common import parse_id
from .desk_common import Row, _filtered, _in_period, _matches, _parts

REPEAT_DAYS = 90
REPEAT_MIN = 3
# "IS NOT NULL" as a range, so that every planner reads ix_tickets_follows for it.
CITES_ANY = 1

# "+ 0" keeps SQLite's planner from walking (firm_id, created_at) to save the GROUP BY
# sort, which reads far more rows than the covering (created_at, firm_id, category_id)
# range; plain arithmetic, the same on every database.
REPEAT_FIRM = (Ticket.firm_id + literal_column("0")).label("firm_id")
REPEAT_CATEGORY = (Ticket.category_id + literal_column("0")).label("category_id")


def _in_window(stmt, f, at):
    """The groups' window: the filters' period, else the last REPEAT_DAYS days."""
    if f.period is not None:
        return _in_period(stmt, Ticket.created_at, f)
    return stmt.where(Ticket.created_at >= at - timedelta(days=REPEAT_DAYS))


def _groups_base(f, at):
    n = func.count(Ticket.id).label("n")
    stmt = (_in_window(db.select(REPEAT_FIRM, REPEAT_CATEGORY, n), f, at)
            .group_by(REPEAT_FIRM, REPEAT_CATEGORY).having(func.count(Ticket.id) >= REPEAT_MIN))
    return _filtered(stmt, f)


def _citations_base(f, at):
    return _in_period(_filtered(db.select(Ticket).where(Ticket.follows_id >= CITES_ANY), f), Ticket.created_at, f)


def repeats_base(f, at):
    """The two parts' statements, counted apart and added (services/desk.count)."""
    return _groups_base(f, at), _citations_base(f, at)


def repeats_page(f, at, after, size):
    parts = (after or "").split("|")
    rows: list[Row] = []
    if parts[0] != "1":
        rows, cursor = _groups_page(f, at, "|".join(parts[1:]) if parts[0] == "0" else "", size)
        if cursor is not None:
            return rows, f"0|{cursor}"
        if len(rows) == size:
            # The groups ended with the page: the citations start the next one, if there are any.
            more = db.session.scalar(_citations_base(f, at).with_only_columns(Ticket.id).limit(1))
            return rows, ("1|" if more is not None else None)
        parts = ["1"]
    cited, cursor = _citations_page(f, at, "|".join(parts[1:]), size - len(rows))
    return rows + cited, (f"1|{cursor}" if cursor is not None else None)


def _groups_page(f, at, after, size):
    stmt = _groups_base(f, at)
    n = func.count(Ticket.id)
    firm, cat = Ticket.firm_id + literal_column("0"), Ticket.category_id + literal_column("0")
    p = _parts(after, 3)
    if p and all(parse_id(x) for x in p):
        c, firm_id, cat_id = (parse_id(x) for x in p)
        stmt = stmt.having(or_(n < c, and_(n == c, or_(firm > firm_id, and_(firm == firm_id, cat > cat_id)))))
    rows = db.session.execute(stmt.order_by(n.desc(), firm, cat).limit(size + 1)).all()
    cursor = None
    if len(rows) > size:
        rows = rows[:size]
        cursor = f"{rows[-1].n}|{rows[-1].firm_id}|{rows[-1].category_id}"
    out = []
    if rows:
        wanted = {(r.firm_id, r.category_id) for r in rows}
        members: dict[tuple, list[Ticket]] = {}
        # (firm_id IN ..., created_at in the window): a range per firm on ix_tickets_firm_created;
        # the filters are applied here, so that no planner trades that range for a department scan.
        stmt = _in_window(db.select(Ticket).where(Ticket.firm_id.in_({r.firm_id for r in rows})), f, at)
        for t in db.session.scalars(stmt.order_by(Ticket.created_at, Ticket.id)):
            if (t.firm_id, t.category_id) in wanted and _matches(t, f):
                members.setdefault((t.firm_id, t.category_id), []).append(t)
        firms = {x.id: x for x in db.session.scalars(db.select(Firm).where(Firm.id.in_({r.firm_id for r in rows})))}
        cats = {x.id: x for x in db.session.scalars(
            db.select(Category).where(Category.id.in_({r.category_id for r in rows})))}
        for r in rows:
            out.append(Row(None, {"firm": firms[r.firm_id], "category": cats[r.category_id], "count": r.n,
                                  "tickets": members.get((r.firm_id, r.category_id), [])}))
    return out, cursor


def _citations_page(f, at, after, size):
    stmt = _citations_base(f, at)
    p = _parts(after, 2)
    if p and parse_id(p[0]) and parse_id(p[1]):
        cited_id, last_id = parse_id(p[0]), parse_id(p[1])
        stmt = stmt.where(or_(Ticket.follows_id < cited_id, and_(Ticket.follows_id == cited_id, Ticket.id < last_id)))
    rows = db.session.scalars(stmt.order_by(Ticket.follows_id.desc(), Ticket.id.desc()).limit(size + 1)).all()
    cursor = None
    if len(rows) > size:
        rows = rows[:size]
        cursor = f"{rows[-1].follows_id}|{rows[-1].id}"
    cited = {}
    if rows:
        cited = {t.id: t for t in db.session.scalars(
            db.select(Ticket).where(Ticket.id.in_({t.follows_id for t in rows})))}
    return [Row(t, {"cites": cited[t.follows_id]}) for t in rows], cursor
