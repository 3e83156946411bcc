"""Numbers taken without a race: tickets (2026-000123) and supervision notices (DB-2026-0001)."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import TicketCounter


def take(counter, year: int) -> int:
    """The next value of `counter` (a model with `year` and `last`) for `year`, in the caller's transaction.

    The counter row is incremented with one UPDATE ... RETURNING, which the
    database serialises: two concurrent callers can never get the same value
    (max()+1 could). A year's first value creates the row in a savepoint.
    """
    stmt = update(counter).where(counter.year == year).values(last=counter.last + 1).returning(counter.last)
    value = db.session.execute(stmt).scalar()
    if value is None:
        try:
            with db.session.begin_nested():
                db.session.add(counter(year=year, last=0))
        except IntegrityError:
            pass  # another transaction created it first
        value = db.session.execute(stmt).scalar()
    return value


def next_number(year: int) -> str:
    """The next ticket number of `year`."""
    return f"{year}-{take(TicketCounter, year):06d}"
