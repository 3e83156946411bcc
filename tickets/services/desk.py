"""The inspector's desk: every stalled, re-worked or bounced request, as filterable lists.

Each tab is one index range query on the tickets (or the feedbacks, extension
requests) table, paged by keyset (never OFFSET), with a count under the same
filters. Portable SQLAlchemy only: the same queries run on SQLite and PostgreSQL.
The indexes they rely on are declared in tickets/models/audit_digest.py.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, case, func, or_, tuple_
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Clock, Department, Event, ExtensionRequest, Feedback, RatingReview, Ticket, TransferRequest, User
from ..timeutil import now
from ..workdays import WorkCalendar
from .common import parse_id
from .desk_common import DeskFilters, Row, _count, _filtered, _id, _in_period, _parts, _ts
from .desk_repeats import REPEAT_DAYS, REPEAT_MIN, repeats_base, repeats_page  # noqa: F401 (the page reads them)

TABS = ("overdue", "supervision", "rework", "dissatisfied", "bounced", "unconfirmed", "rejected", "forced",
        "extensions", "repeats")
CLOSED_TABS = {"unconfirmed": "closed_unconfirmed", "rejected": "rejected", "forced": "closed_forced"}
CLOSING_ACTIONS = {"closed_unconfirmed": "expire", "rejected": "reject", "closed_forced": "force_close"}
PAGE_SIZE = 25


# --- overdue now: red-for-3 first, then by due --------------------------------------------


def _overdue_base(f, at):
    # Terminal tickets keep queue_due_at = NO_DUE, so this range is the open overdue tickets.
    return _in_period(_filtered(db.select(Ticket).where(Ticket.queue_due_at <= at), f), Ticket.queue_due_at, f,
                      due=True)


def _overdue_page(f, at, after, size):
    seg, due, last_id = 0, None, None
    p = _parts(after, 3)
    if p:
        try:
            seg, due, last_id = int(p[0]), _ts(p[1]), _id(p[2])
        except (ValueError, OverflowError):
            seg, due, last_id = 0, None, None
    rows: list[Ticket] = []
    segs = [(0, Ticket.red3_at <= at), (1, Ticket.red3_at > at)]
    for s, cond in segs:
        if s < seg:
            continue
        stmt = _overdue_base(f, at).where(cond)
        if s == seg and due is not None:
            stmt = stmt.where(tuple_(Ticket.queue_due_at, Ticket.id) > tuple_(due, last_id))
        # The open clocks tell whether each due time shown is provisional: one query, not one per row.
        stmt = stmt.options(selectinload(Ticket.open_clocks))
        got = db.session.scalars(stmt.order_by(Ticket.queue_due_at, Ticket.id).limit(size + 1 - len(rows))).all()
        rows += [(s, t) for t in got]
        if len(rows) > size:
            break
    cursor = None
    if len(rows) > size:
        rows = rows[:size]
        s, t = rows[-1]
        cursor = f"{s}|{t.queue_due_at.isoformat()}|{t.id}"
    cal = WorkCalendar.load()
    # Whole working days past due, as counted for red-for-3-days: 2.9 is 2, not yet 3.
    return [Row(t, {"red3": s == 0, "days_overdue": int(cal.working_days_between(t.due_at, at))})
            for s, t in rows], cursor


# --- lists ordered by one column then id, newest or largest first -------------------------


def _desc_page(stmt, col, after, size, parse):
    p = _parts(after, 2)
    if p:
        try:
            v, last_id = parse(p[0]), _id(p[1])
            if isinstance(v, int):
                v = _id(str(v))
            stmt = stmt.where(tuple_(col, Ticket.id) < tuple_(v, last_id))
        except (ValueError, OverflowError):
            pass
    rows = db.session.scalars(stmt.order_by(col.desc(), Ticket.id.desc()).limit(size + 1)).all()
    cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        v = getattr(last, col.key)
        # (The columns are set on every row these lists hold; a NULL would end the list here.)
        cursor = None if v is None else f"{v.isoformat() if isinstance(v, datetime) else v}|{last.id}"
    return rows, cursor


# "IS NOT NULL" as a range, so that every planner reads ix_tickets_supervised for it.
SUPERVISED_SINCE = datetime(2000, 1, 1)


def _supervision_base(f, at):
    return _in_period(_filtered(db.select(Ticket).where(Ticket.supervised_at >= SUPERVISED_SINCE), f),
                      Ticket.supervised_at, f)


def _supervision_page(f, at, after, size):
    rows, cursor = _desc_page(_supervision_base(f, at), Ticket.supervised_at, after, size, _ts)
    return [Row(t) for t in rows], cursor


def _rework_base(f, at):
    stmt = _filtered(db.select(Ticket).where(Ticket.round >= 2), f)
    if f.period is not None:  # re-worked in the period: a dissatisfied rating given in it
        stmt = stmt.where(Ticket.id.in_(_in_period(
            db.select(Feedback.ticket_id).where(Feedback.rating == "dissatisfied"), Feedback.given_at, f)))
    return stmt


def _rework_page(f, at, after, size):
    rows, cursor = _desc_page(_rework_base(f, at), Ticket.round, after, size, int)
    return [Row(t) for t in rows], cursor


def _bounced_base(f, at):
    stmt = _filtered(db.select(Ticket).where(Ticket.transfer_count >= 2), f)
    if f.period is not None:  # bounced in the period: a transfer approved in it
        stmt = stmt.where(Ticket.id.in_(_in_period(
            db.select(TransferRequest.ticket_id).where(TransferRequest.status == "approved"),
            TransferRequest.decided_at, f)))
    return stmt


def _bounced_page(f, at, after, size):
    rows, cursor = _desc_page(_bounced_base(f, at), Ticket.transfer_count, after, size, int)
    paths: dict[int, list] = {t.id: [] for t in rows}
    if rows:
        for req in db.session.scalars(
                db.select(TransferRequest)
                .where(TransferRequest.ticket_id.in_(list(paths)), TransferRequest.status == "approved")
                .order_by(TransferRequest.ticket_id, TransferRequest.decided_at, TransferRequest.id)):
            path = paths[req.ticket_id]
            if not path:
                path.append(req.from_department)
            path.append(req.to_department)
    return [Row(t, {"path": paths[t.id]}) for t in rows], cursor


def _closed_base(state):
    def base(f, at):
        return _in_period(_filtered(db.select(Ticket).where(Ticket.state == state), f), Ticket.closed_at, f)
    return base


def _closed_page(state):
    def page(f, at, after, size):
        rows, cursor = _desc_page(_closed_base(state)(f, at), Ticket.closed_at, after, size, _ts)
        ids = [t.id for t in rows]
        reasons: dict[int, dict] = {}
        if ids:
            for tid, details in db.session.execute(
                    db.select(Event.ticket_id, Event.details)
                    .where(Event.ticket_id.in_(ids), Event.action == CLOSING_ACTIONS[state])
                    .order_by(Event.ticket_id, Event.seq)):
                reasons[tid] = json.loads(details)
        dues: dict[int, datetime] = {}
        if ids and state == "closed_unconfirmed":
            for tid, due in db.session.execute(
                    db.select(Clock.ticket_id, Clock.due_at)
                    .where(Clock.ticket_id.in_(ids), Clock.kind == "feedback").order_by(Clock.ticket_id, Clock.id)):
                dues[tid] = due
        return [Row(t, {"reason": reasons.get(t.id, {}).get("reason", ""), "feedback_due": dues.get(t.id)})
                for t in rows], cursor
    return page


# --- dissatisfied ratings: one row per feedback ------------------------------------------


def _needs_ticket(f: DeskFilters, official_on_ticket: bool = True) -> bool:
    """Whether the filters read the ticket: a count without them never joins it (a lookup per row)."""
    return bool(f.department_id or f.category_id or (official_on_ticket and f.official_id))


def _dissatisfied_base(f, at):
    """The count's statement: the feedbacks alone (ix_feedbacks_rating) unless a filter reads the ticket."""
    stmt = _in_period(db.select(Feedback).where(Feedback.rating == "dissatisfied"), Feedback.given_at, f)
    if _needs_ticket(f):
        stmt = _filtered(stmt.join(Ticket, Feedback.ticket_id == Ticket.id), f)
    return stmt


def _dissatisfied_page(f, at, after, size):
    stmt = _in_period(_filtered(db.select(Feedback, Ticket).join(Ticket, Feedback.ticket_id == Ticket.id)
                                .where(Feedback.rating == "dissatisfied"), f), Feedback.given_at, f)
    p = _parts(after, 1)
    if p and parse_id(p[0]):
        stmt = stmt.where(Feedback.id < parse_id(p[0]))
    rows = db.session.execute(stmt.order_by(Feedback.id.desc()).limit(size + 1)).all()
    cursor = None
    if len(rows) > size:
        rows = rows[:size]
        cursor = str(rows[-1][0].id)
    # The review (甄别) of each rating on the page, if one was proposed: one query for the page.
    reviews = {r.feedback_id: r for r in db.session.scalars(
        db.select(RatingReview).where(RatingReview.feedback_id.in_([fb.id for fb, _t in rows])))} if rows else {}
    return [Row(t, {"feedback": fb, "review": reviews.get(fb.id)}) for fb, t in rows], cursor


# --- extension use, grouped by the official who asked -------------------------------------


def _extensions_base(f, at):
    n = func.count(ExtensionRequest.id).label("n")
    approved = func.sum(case((ExtensionRequest.status == "approved", 1), else_=0)).label("approved")
    denied = func.sum(case((ExtensionRequest.status == "denied", 1), else_=0)).label("denied")
    pending = func.sum(case((ExtensionRequest.status == "pending", 1), else_=0)).label("pending")
    # Pending when the round ended: never decided (tickets/services/transitions.py).
    lapsed = func.sum(case((ExtensionRequest.status == "lapsed", 1), else_=0)).label("lapsed")
    days = func.sum(case((ExtensionRequest.status == "approved", ExtensionRequest.days), else_=0)).label("days")
    tickets = func.count(func.distinct(ExtensionRequest.ticket_id)).label("tickets")
    stmt = (db.select(ExtensionRequest.requested_by_id, n, approved, denied, pending, lapsed, days, tickets)
            .group_by(ExtensionRequest.requested_by_id))
    if _needs_ticket(f, official_on_ticket=False):  # the official filter is on requested_by_id
        stmt = stmt.join(Ticket, ExtensionRequest.ticket_id == Ticket.id)
    return _in_period(_filtered(stmt, f, official_col=ExtensionRequest.requested_by_id),
                      ExtensionRequest.requested_at, f)


def _extensions_page(f, at, after, size):
    stmt = _extensions_base(f, at)
    n = func.count(ExtensionRequest.id)
    p = _parts(after, 2)
    if p and parse_id(p[0]) and parse_id(p[1]):
        c, uid = parse_id(p[0]), parse_id(p[1])
        stmt = stmt.having(or_(n < c, and_(n == c, ExtensionRequest.requested_by_id > uid)))
    rows = db.session.execute(stmt.order_by(n.desc(), ExtensionRequest.requested_by_id).limit(size + 1)).all()
    cursor = None
    if len(rows) > size:
        rows = rows[:size]
        cursor = f"{rows[-1].n}|{rows[-1].requested_by_id}"
    users = {u.id: u for u in db.session.scalars(
        db.select(User).where(User.id.in_([r.requested_by_id for r in rows])))} if rows else {}
    return [Row(None, {"user": users[r.requested_by_id], "count": r.n, "approved": r.approved or 0,
                       "denied": r.denied or 0, "pending": r.pending or 0, "lapsed": r.lapsed or 0,
                       "days": r.days or 0,
                       "tickets": r.tickets}) for r in rows], cursor


TAB_QUERIES = {
    "overdue": (_overdue_base, _overdue_page),
    "supervision": (_supervision_base, _supervision_page),
    "rework": (_rework_base, _rework_page),
    "dissatisfied": (_dissatisfied_base, _dissatisfied_page),
    "bounced": (_bounced_base, _bounced_page),
    "extensions": (_extensions_base, _extensions_page),
    "repeats": (repeats_base, repeats_page),
}
for _tab, _state in CLOSED_TABS.items():
    TAB_QUERIES[_tab] = (_closed_base(_state), _closed_page(_state))
assert set(TAB_QUERIES) == set(TABS)


def count(tab: str, f: DeskFilters | None = None, at: datetime | None = None) -> int:
    """How many rows the tab lists under the filters (a tab of two parts gives a statement for each)."""
    base = TAB_QUERIES[tab][0](f or DeskFilters(), at or now())
    return sum(_count(stmt) for stmt in (base if isinstance(base, tuple) else (base,)))


# Counted only on their own tab: a GROUP BY over every ticket of the last 90 days costs
# more than the rest of the desk together, and grows with the park.
COUNTED_ON_OWN_TAB = ("repeats",)


def counts(f: DeskFilters | None = None, at: datetime | None = None, current: str | None = None) -> dict[str, int]:
    """The count of every tab (all of them without `current`; else the repeats only on their own tab)."""
    at = at or now()
    return {tab: count(tab, f, at) for tab in TABS
            if current is None or tab == current or tab not in COUNTED_ON_OWN_TAB}


# The tabs drawn as bars by department beside their counts (the monthly report's two charts).
CHARTED = ("overdue", "rework")


def by_department(tab: str, f: DeskFilters | None = None, at: datetime | None = None) -> list[tuple]:
    """(department or None, count) of a ticket tab under the filters, largest first, "not yet assigned" last."""
    stmt = TAB_QUERIES[tab][0](f or DeskFilters(), at or now()).order_by(None)
    n = func.count(Ticket.id)
    stmt = stmt.with_only_columns(Ticket.department_id, n, maintain_column_froms=True).group_by(Ticket.department_id)
    # Sorted here: NULL (not yet assigned) sorts first on SQLite and last on PostgreSQL; last on both.
    rows = sorted(db.session.execute(stmt).all(), key=lambda r: (-r[1], r[0] is None, r[0] or 0))
    depts = {d.id: d for d in db.session.scalars(
        db.select(Department).where(Department.id.in_([r[0] for r in rows if r[0] is not None])))} if rows else {}
    return [(depts.get(dept_id), c) for dept_id, c in rows]


def page(tab: str, f: DeskFilters | None = None, after: str = "", at: datetime | None = None,
         size: int = PAGE_SIZE) -> tuple[list[Row], str | None]:
    """One page of the tab: (rows, cursor of the next page or None)."""
    return TAB_QUERIES[tab][1](f or DeskFilters(), at or now(), after or "", size)


def all_rows(tab: str, f: DeskFilters | None = None, at: datetime | None = None, size: int = 200) -> list[Row]:
    """Every row of a tab, following the cursors (for tests and exports)."""
    out, after = [], ""
    while True:
        rows, after = page(tab, f, after, at, size)
        out += rows
        if not after:
            return out
