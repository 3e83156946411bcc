"""The access log: who took which data out of the system, and how much of it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import User
from .record import Event
from .ticket import Ticket


class AccessLog(db.Model):
    """One export (or other bulk read); rows are only ever inserted."""

    __tablename__ = "access_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # e.g. "export.ledger.csv", "export.events.xlsx"
    action: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text, default="{}")
    rows: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship()


# The exports page through a period by keyset: tickets by creation time, events by
# time. Declared here (the exports own these queries) rather than on the models.
Index("ix_tickets_created_at_id", Ticket.created_at, Ticket.id)
Index("ix_events_at_id", Event.at, Event.id)
