"""The append-only record and the working-day calendar."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import User

VISIBILITIES = ("public", "internal", "inspector")


class Event(db.Model):
    """One entry of a ticket's chain. Rows are only ever inserted."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_events_ticket_seq"),
        CheckConstraint("visibility IN ('public','internal','inspector')", name="visibility"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    visibility: Mapped[str] = mapped_column(String(10), default="internal")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Which key signed this event (tickets.audit.key_id: a fingerprint, never the key).
    key_id: Mapped[str] = mapped_column(String(16))

    actor: Mapped[User | None] = relationship()


class CalendarYear(db.Model):
    """A year whose holidays and make-up working days are loaded."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class CalendarDay(db.Model):
    """A day that differs from Monday-to-Friday: a holiday on a weekday or a make-up working day."""

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now, onupdate=now)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
