"""The weekly meeting list (项目提速增效会议): a frozen snapshot per ISO week, and its decisions."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import User
from .ticket import Ticket


class MeetingList(db.Model):
    """One week's list as it was when built; `data` is never recomputed.

    The unique week is what makes a second beat, a redelivered task or the CLI
    build a week at most once.
    """

    __tablename__ = "meeting_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    # ISO week in Asia/Shanghai, "2026-W48".
    week: Mapped[str] = mapped_column(String(8), unique=True)
    built_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # The frozen snapshot (canonical JSON text).
    data: Mapped[str] = mapped_column(Text)
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime)


class MeetingDecision(db.Model):
    """What the meeting decided on one item: what, who, by when, and perhaps a new due date."""

    __tablename__ = "meeting_decisions"
    __table_args__ = (
        CheckConstraint("who_user_id IS NOT NULL OR who_text <> ''", name="who"),
        Index("ix_meeting_decisions_list_ticket", "list_id", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("meeting_lists.id", ondelete="RESTRICT"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), index=True)
    what: Mapped[str] = mapped_column(Text)
    who_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    who_text: Mapped[str] = mapped_column(String(200), default="")
    by_date: Mapped[date] = mapped_column(Date)
    # A new due date for the handle clock (a new deadline version), when the meeting set one.
    new_due: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # The leader who chaired the meeting: who approved the extension a new due date amounts to
    # (required with a new due date by the service; empty on decisions recorded before).
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    meeting_list: Mapped[MeetingList] = relationship()
    ticket: Mapped[Ticket] = relationship()
    who_user: Mapped[User | None] = relationship(foreign_keys=[who_user_id])
    decided_by: Mapped[User] = relationship(foreign_keys=[decided_by_id])
    chair: Mapped[User | None] = relationship(foreign_keys=[chair_id])

    @property
    def who(self) -> str:
        return self.who_user.name if self.who_user is not None else self.who_text
