"""Checks of the record: verification runs, the daily digest, and the desk's indexes.

AuditRun keeps the outcome of `verify_all` (beat, the CLI, or an inspector's
"run now"), so the audit page never verifies every chain on a page view.
DailyDigest keeps one SHA-256 over every ticket's chain head at the end of a
Shanghai day; it is mailed to the inspectors and printed on the meeting list.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import now
from .ticket import Clock, ExtensionRequest, Feedback, Handling, Ticket

RUN_SOURCES = ("beat", "cli", "page", "request")
RUN_STATUSES = ("requested", "running", "done")


class AuditRun(db.Model):
    """One verification of every ticket's chain, or a request for one (status "requested")."""

    __tablename__ = "audit_runs"
    __table_args__ = (
        CheckConstraint("status IN ('requested','running','done')", name="status"),
        CheckConstraint("source IN ('beat','cli','page','request')", name="source"),
        Index("ix_audit_runs_status_finished", "status", "finished_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # beat (daily), cli (flask audit verify), page (run inline), request (queued for the worker)
    source: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="done")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    tickets_checked: Mapped[int] = mapped_column(Integer, default=0)
    # [{"number", "seq", "event_id", "problem"}, ...] as canonical JSON.
    breaks: Mapped[str] = mapped_column(Text, default="[]")
    broken_count: Mapped[int] = mapped_column(Integer, default=0)
    # The worker verifies in chunks by ticket id: the last id done, and when a chunk last
    # finished (a run whose progress stops for longer than a task may live is taken over).
    cursor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_at: Mapped[datetime | None] = mapped_column(DateTime)


class DailyDigest(db.Model):
    """SHA-256 over the sorted lines "number:seq:hash" of every chain head at the end of `day`."""

    __tablename__ = "daily_digests"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    tickets: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime)


class DigestPart(db.Model):
    """The head lines of the tickets with ids in (after_id, last_id] for the digest of `day`.

    The worker computes a day's digest a chunk of tickets at a time; the parts are
    put together and deleted when the DailyDigest is kept.
    """

    __tablename__ = "digest_parts"
    __table_args__ = (UniqueConstraint("day", "after_id", name="uq_digest_parts_day_after"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    after_id: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    lines: Mapped[str] = mapped_column(Text)


# The inspector's desk reads these lists by index range (tickets/services/desk.py).
# Closed tickets keep queue_due_at = NO_DUE, so "queue_due_at <= now" is the open overdue set.
Index("ix_tickets_overdue", Ticket.__table__.c.queue_due_at, Ticket.__table__.c.id)
Index("ix_tickets_supervised", Ticket.__table__.c.supervised_at, Ticket.__table__.c.id)
Index("ix_tickets_round", Ticket.__table__.c.round, Ticket.__table__.c.id)
Index("ix_tickets_transfers", Ticket.__table__.c.transfer_count, Ticket.__table__.c.id)
Index("ix_tickets_state_closed", Ticket.__table__.c.state, Ticket.__table__.c.closed_at, Ticket.__table__.c.id)
Index("ix_tickets_created", Ticket.__table__.c.created_at, Ticket.__table__.c.firm_id,
      Ticket.__table__.c.category_id)
# Requests citing an earlier one, grouped by the cited request (the repeats tab's second part);
# also the lookup of a ticket's followers.
Index("ix_tickets_follows", Ticket.__table__.c.follows_id, Ticket.__table__.c.id)
Index("ix_feedbacks_rating", Feedback.__table__.c.rating, Feedback.__table__.c.id)
Index("ix_extension_requests_requester", ExtensionRequest.__table__.c.requested_by_id,
      ExtensionRequest.__table__.c.status)

# The rates count steps by the time they happened (handled, fed back, closed, clock
# started or stopped): one range scan per measure and period.
Index("ix_handlings_handled_at", Handling.__table__.c.handled_at)
Index("ix_feedbacks_given_at", Feedback.__table__.c.given_at)
Index("ix_tickets_closed_at", Ticket.__table__.c.closed_at)
Index("ix_clocks_kind_started", Clock.__table__.c.kind, Clock.__table__.c.started_at)
Index("ix_clocks_kind_stopped", Clock.__table__.c.kind, Clock.__table__.c.stopped_at)
