"""Tickets, their clocks, rounds, requests and attachments."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import Category, Department, Firm, User

STATES = (
    "submitted",
    "accepted",
    "handled",
    "fed_back",
    "closed_unconfirmed",
    "closed_forced",
    "rejected",
    "withdrawn",
)
CHANNELS = ("web", "phone", "visit", "meeting", "letter", "platform")
URGENCIES = ("normal", "urgent", "critical")
CLOCK_KINDS = ("accept", "handle", "feedback", "explanation")
# Sorts after every real due time, so that the keyset of a queue never meets NULL.
NO_DUE = datetime(9999, 12, 31)


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TicketCounter(db.Model):
    """One row a year; the number is taken with an atomic UPDATE, never max()+1."""

    __tablename__ = "ticket_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("urgency", URGENCIES), name="urgency"),
        CheckConstraint("round >= 0", name="round"),
        # The queues: by department or lead, in due order, paged by keyset.
        Index("ix_tickets_dept_queue", "department_id", "queue_due_at", "id"),
        Index("ix_tickets_lead_queue", "lead_id", "queue_due_at", "id"),
        Index("ix_tickets_state_queue", "state", "queue_due_at", "id"),
        Index("ix_tickets_firm_created", "firm_id", "created_at"),
        # The API's list: in the order of the last change, paged by keyset (updated_at, id).
        Index("ix_tickets_updated", "updated_at", "id"),
        # A firm's (or an integration's) own list in the same order.
        Index("ix_tickets_firm_updated", "firm_id", "updated_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="RESTRICT"))
    submitter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(24), default="submitted")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT")
    )
    round: Mapped[int] = mapped_column(Integer, default=0)
    # The earlier request this one cites (a repeat); indexed with id in
    # tickets/models/audit_digest.py for the desk's repeats tab.
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The time of the last event on the record (tickets/audit.py sets it with each one).
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    # The clock in force (accept, handle or feedback), copied here for the lists.
    clock_kind: Mapped[str | None] = mapped_column(String(16))
    yellow_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    red3_at: Mapped[datetime | None] = mapped_column(DateTime)
    queue_due_at: Mapped[datetime] = mapped_column(DateTime, default=NO_DUE)
    # The final feedback; every round's feedback is in `feedbacks` and the record.
    solved: Mapped[str | None] = mapped_column(String(8))
    rating: Mapped[str | None] = mapped_column(String(24))
    # Set when the accept or handle clock reached red for 3 working days.
    supervised_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The head of the event chain, so that a deleted last event is caught.
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    # The number's digits and the words of title and description, segmented (tickets/segment.py)
    # and kept by tickets/models/search.py; the full-text index of each database reads it.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Optimistic locking: every UPDATE checks and bumps it.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    firm: Mapped[Firm] = relationship(foreign_keys=[firm_id])
    submitter: Mapped[User] = relationship(foreign_keys=[submitter_id])
    category: Mapped[Category] = relationship()
    lead: Mapped[User | None] = relationship(foreign_keys=[lead_id])
    department: Mapped[Department | None] = relationship()
    follows: Mapped[Ticket | None] = relationship(remote_side=[id])
    # Read only: the lists say whether a deadline is provisional, which needs its clock's
    # start; they load this with selectinload, one query per page.
    open_clocks: Mapped[list[Clock]] = relationship(
        primaryjoin="and_(Clock.ticket_id == Ticket.id, Clock.stopped_at.is_(None))",
        order_by="Clock.id", viewonly=True)


class Clock(db.Model):
    """One stage's deadline; a row of its own so that lists and the sweep are range scans."""

    __tablename__ = "clocks"
    __table_args__ = (
        CheckConstraint(_in("kind", CLOCK_KINDS), name="kind"),
        UniqueConstraint("ticket_id", "kind", "round", name="uq_clocks_ticket_kind_round"),
        Index("ix_clocks_open_yellow", "stopped_at", "yellow_at"),
        Index("ix_clocks_open_due", "stopped_at", "due_at"),
        Index("ix_clocks_open_red3", "stopped_at", "red3_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    limit_days: Mapped[int] = mapped_column(Integer)
    yellow_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    red3_at: Mapped[datetime] = mapped_column(DateTime)
    original_due_at: Mapped[datetime] = mapped_column(DateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)
    deadline_version: Mapped[int] = mapped_column(Integer, default=1)
    # When the sweep next has something to raise on this clock (NULL: nothing, or
    # stopped): the sweep is one index range scan on this column.
    next_step_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # The supervision notice an "explanation" clock belongs to (NULL for every other kind).
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("supervision_notices.id", ondelete="RESTRICT"), index=True
    )
    # Who the stage is credited to in the rates (DESIGN.md, Measures): for a handle clock
    # (a round), the department and lead official holding it, set when the round starts and
    # moved by a transfer only while the round is not yet overdue, so that a late round stays
    # with whoever let it fall due; for an accept clock, the coordinator who decided it.
    credit_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT")
    )
    credit_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    ticket: Mapped[Ticket] = relationship()


class Handling(db.Model):
    """The outcome an official recorded for one round."""

    __tablename__ = "handlings"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_handlings_ticket_round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    round: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    what_was_done: Mapped[str] = mapped_column(Text)
    contact_method: Mapped[str] = mapped_column(String(16))
    contacted_on: Mapped[date] = mapped_column(Date)
    handled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The ticket's department when the round was handled: the firm's rating of this round
    # is credited to it (and to handled_by), whatever becomes of the ticket later.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    handled_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class Feedback(db.Model):
    __tablename__ = "feedbacks"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_feedbacks_ticket_round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    round: Mapped[int] = mapped_column(Integer)
    solved: Mapped[str] = mapped_column(String(8))
    rating: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    given_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    given_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class Question(db.Model):
    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="RESTRICT"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    asked_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)

    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])


# "lapsed": still pending when its round ended (handled, closed, ...); never decided after.
REQUEST_STATUSES = ("pending", "approved", "denied", "lapsed")


class ExtensionRequest(db.Model):
    __tablename__ = "extension_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        # An official asks for at most 30 working days; the weekly meeting may set any later date.
        CheckConstraint("days > 0 AND (days <= 30 OR meeting_decision_id IS NOT NULL)", name="days"),
        # Only an approved extension comes from a meeting decision (it is decided there).
        CheckConstraint("meeting_decision_id IS NULL OR status = 'approved'", name="meeting_approved"),
        Index("ix_extension_requests_status", "status", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    round: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    public_reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    # Set when the weekly meeting set a new due date: the extension it amounts to.
    meeting_decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_decisions.id", ondelete="RESTRICT"), unique=True
    )

    ticket: Mapped[Ticket] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class TransferRequest(db.Model):
    __tablename__ = "transfer_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        Index("ix_transfer_requests_status", "status", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    from_department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT")
    )
    to_department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT")
    )
    to_lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The lead official the ticket had when the transfer was asked for: the rates credit
    # the transfer to them and to from_department.
    from_lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[Ticket] = relationship()
    to_department: Mapped[Department] = relationship(foreign_keys=[to_department_id])
    from_department: Mapped[Department] = relationship(foreign_keys=[from_department_id])
    to_lead: Mapped[User | None] = relationship(foreign_keys=[to_lead_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])

    @property
    def crosses_departments(self) -> bool:
        return self.from_department_id != self.to_department_id


class Attachment(db.Model):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="RESTRICT"), index=True
    )
    event_seq: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Public attachments are seen by the firm; internal ones only by staff.
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=now)
