"""Ticket numbers like 2026-000123, taken without a race."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import TicketCounter


def next_number(year: int) -> str:
    """Take the next number of `year` inside the caller's transaction.

    The counter row is incremented with one UPDATE ... RETURNING, which the
    database serialises: two concurrent filings can never get the same number
    (max()+1 could). A year's first number creates the row in a savepoint.
    """
    stmt = (
        update(TicketCounter)
        .where(TicketCounter.year == year)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    )
    value = db.session.execute(stmt).scalar()
    if value is None:
        try:
            with db.session.begin_nested():
                db.session.add(TicketCounter(year=year, last=0))
        except IntegrityError:
            pass  # another filing created it first
        value = db.session.execute(stmt).scalar()
    return f"{year}-{value:06d}"
