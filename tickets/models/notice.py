"""Supervision notices (督办单): an inspector's formal notice to a ticket's lead official."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import Department, User
from .ticket import Clock, Ticket

NOTICE_STATUSES = ("issued", "explained", "concluded")
# accepted: the explanation is accepted; the others refer the matter for follow-up.
CONCLUSIONS = ("accepted", "talk", "circulated_criticism", "committee")


class NoticeCounter(db.Model):
    """One row a year; the number is taken with an atomic UPDATE, never max()+1."""

    __tablename__ = "notice_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class SupervisionNotice(db.Model):
    __tablename__ = "supervision_notices"
    __table_args__ = (
        # seq is the notice's place on its ticket; it is also its explanation clock's round.
        UniqueConstraint("ticket_id", "seq", name="uq_supervision_notices_ticket_seq"),
        CheckConstraint("status IN ('issued','explained','concluded')", name="status"),
        CheckConstraint(
            "conclusion IS NULL OR conclusion IN ('accepted','talk','circulated_criticism','committee')",
            name="conclusion",
        ),
        # The inspectors' list: by status, newest first.
        Index("ix_supervision_notices_status", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The ticket's lead official and department when the notice was issued.
    official_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    # The department's heads copied at issue time: a JSON list of user ids.
    heads_copied: Mapped[str] = mapped_column(Text, default="[]")
    reason: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    explained_at: Mapped[datetime | None] = mapped_column(DateTime)
    conclusion: Mapped[str | None] = mapped_column(String(24))
    conclusion_comment: Mapped[str] = mapped_column(Text, default="")
    concluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    concluded_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="issued")

    ticket: Mapped[Ticket] = relationship()
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    official: Mapped[User] = relationship(foreign_keys=[official_id])
    department: Mapped[Department] = relationship()
    explained_by: Mapped[User | None] = relationship(foreign_keys=[explained_by_id])
    concluded_by: Mapped[User | None] = relationship(foreign_keys=[concluded_by_id])
    # The explanation clock (kind "explanation", round = seq): its due time is the notice's.
    clock: Mapped[Clock | None] = relationship(
        primaryjoin="Clock.notice_id == SupervisionNotice.id", foreign_keys="Clock.notice_id",
        uselist=False, viewonly=True)

    @property
    def head_ids(self) -> list[int]:
        return list(json.loads(self.heads_copied or "[]"))

    @property
    def heads(self) -> list[User]:
        ids = self.head_ids
        if not ids:
            return []
        users = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
        return [users[i] for i in ids if i in users]

    @property
    def due_at(self) -> datetime | None:
        return self.clock.due_at if self.clock is not None else None
