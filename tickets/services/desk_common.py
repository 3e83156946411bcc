"""What the inspector desk's lists share: the filters, a row, cursors and counts (tickets/services/desk.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func

from ..extensions import db
from ..models import Ticket
from .common import parse_id
from .rates.period import Period


@dataclass
class DeskFilters:
    department_id: int | None = None
    official_id: int | None = None
    category_id: int | None = None
    # Shanghai days, both included; each tab says which of its times falls in them (PERIOD_COLUMNS).
    period: Period | None = None


@dataclass
class Row:
    """One line of a desk list: a ticket (or a group) and what the tab adds to it."""

    ticket: Ticket | None = None
    extra: dict = field(default_factory=dict)


def _filtered(stmt, f: DeskFilters, official_col=None):
    if f.department_id:
        stmt = stmt.where(Ticket.department_id == f.department_id)
    if f.official_id:
        stmt = stmt.where((official_col if official_col is not None else Ticket.lead_id) == f.official_id)
    if f.category_id:
        stmt = stmt.where(Ticket.category_id == f.category_id)
    return stmt


def _in_period(stmt, col, f: DeskFilters, due: bool = False):
    """The rows whose `col` falls in the filters' period (a range on the column's index).

    A due time is 24:00 of its day, the same instant as 00:00 of the next: `due` counts
    it in the day it ends, (start, end], so "due on 30 November" is in November.
    """
    if f.period is None:
        return stmt
    if due:
        return stmt.where(col > f.period.start, col <= f.period.end)
    return stmt.where(col >= f.period.start, col < f.period.end)


def _matches(t: Ticket, f: DeskFilters) -> bool:
    """_filtered, for a ticket already loaded."""
    return ((not f.department_id or t.department_id == f.department_id)
            and (not f.official_id or t.lead_id == f.official_id)
            and (not f.category_id or t.category_id == f.category_id))


def _parts(after: str, n: int) -> list[str] | None:
    parts = (after or "").split("|")
    return parts if after and len(parts) == n else None


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _count(stmt) -> int:
    stmt = stmt.order_by(None)
    if stmt._group_by_clauses:  # a grouped list counts its groups: the grouping columns are enough
        groups = stmt.with_only_columns(*stmt._group_by_clauses, maintain_column_froms=True)
        return db.session.scalar(db.select(func.count()).select_from(groups.subquery())) or 0
    return db.session.scalar(stmt.with_only_columns(func.count(), maintain_column_froms=True)) or 0


def _id(text: str) -> int:
    """A cursor's id part; ValueError for anything that is not an id in range."""
    n = parse_id(text)
    if n is None:
        raise ValueError(text)
    return n
