"""The review (甄别) of a dissatisfied rating, and the indexes the rates read.

A coordinator proposes to exclude a "dissatisfied" rating from the rating-based
measures, with a reason (the firm rated something outside the park's power, say);
an inspector confirms or refuses. An excluded rating stays visible and is counted
apart; the whole review is on the ticket's record.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import User
from .ticket import Clock, Feedback, Ticket, TransferRequest

REVIEW_STATUSES = ("proposed", "confirmed", "refused")


class RatingReview(db.Model):
    __tablename__ = "rating_reviews"
    __table_args__ = (
        CheckConstraint("status IN ('proposed','confirmed','refused')", name="status"),
        # The inspectors' list of proposals waiting for them.
        Index("ix_rating_reviews_status", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # One review per rating: a refusal is final, like a confirmation.
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedbacks.id", ondelete="RESTRICT"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    reason: Mapped[str] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str] = mapped_column(Text, default="")

    feedback: Mapped[Feedback] = relationship()
    ticket: Mapped[Ticket] = relationship()
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# The rates (tickets/services/rates/queries.py): rounds and accept clocks by the due time
# that fell in the period, and transfers by the time they were approved.
Index("ix_clocks_kind_due", Clock.__table__.c.kind, Clock.__table__.c.due_at)
Index("ix_transfer_requests_decided", TransferRequest.__table__.c.status, TransferRequest.__table__.c.decided_at)
