"""Notifications, the outbox they travel through, and the reminder steps of the clocks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import User
from .record import Event
from .ticket import Clock, Ticket
from .webhook import WebhookSubscriber

LEVELS = ("yellow", "red", "red3")
CHANNEL_NAMES = ("inapp", "email", "webhook")
OUTBOX_STATUSES = ("pending", "sent", "failed", "void")
# What one try of a delivery came to (OutboxAttempt.outcome); `requeued` is an admin's retry
# button, `late` a delivery that sent but found its claim taken over (its lease had run out).
ATTEMPT_OUTCOMES = ("sent", "retry", "failed", "void", "late", "requeued")


class ReminderStep(db.Model):
    """One rung of a clock's ladder, owed once per (clock, level, deadline version).

    The unique key is what makes two sweeps at the same moment, a redelivered
    task or a second beat raise nothing twice. A sweep that finds a clock past several
    levels at once raises only the highest; the lower ones are kept as `skipped` rows
    (nothing sent, ever), so that they stay owed once and are never raised later.
    """

    __tablename__ = "reminder_steps"
    __table_args__ = (
        UniqueConstraint("clock_id", "level", "deadline_version", name="uq_reminder_steps_once"),
        CheckConstraint("level IN ('yellow','red','red3')", name="level"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id", ondelete="RESTRICT"))
    clock_kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(8))
    deadline_version: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    clock: Mapped[Clock] = relationship()
    ticket: Mapped[Ticket] = relationship()


class OutboxMessage(db.Model):
    """A notification owed to one user on one channel, written in the transaction that owes it.

    The relay publishes pending rows to the worker; delivery marks them sent. `key`
    is stable per notification, so a redelivery is recognisable (and, in-app, a no-op).
    A webhook row has no user: it is owed to a subscriber, and carries the event it sends.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("channel", "key", name="uq_outbox_channel_key"),
        CheckConstraint("status IN ('pending','sent','failed','void')", name="status"),
        CheckConstraint("channel IN ('inapp','email','webhook')", name="channel"),
        # The relay's query: pending rows whose next attempt is due.
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        # A subscriber's delivery log, newest first, paged by id.
        Index("ix_outbox_subscriber", "subscriber_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(16))
    # None for a webhook row (owed to `subscriber_id`).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_subscribers.id", ondelete="RESTRICT"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_steps.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # The admin's replay button (webhooks): how often, and when last.
    replay_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Who holds the row now: the token of the relay that handed it out, then of the delivery
    # that took it (tickets/services/outbox.py). Only the holder may mark it sent.
    claim: Mapped[str | None] = mapped_column(String(32))
    # When a delivery took it (its worker started on it); the lease of a taken row is short, that of a
    # row waiting in the queue long (OUTBOX_LEASE_SECONDS, OUTBOX_QUEUE_LEASE_SECONDS).
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    # How often it was handed out: more than once after a lost lease or a broker that lost it.
    claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A failing row is retried (with backoff) until this moment, then failed; set at its first
    # failure, cleared by an admin's retry.
    retry_until: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    event: Mapped[Event | None] = relationship()
    subscriber: Mapped[WebhookSubscriber | None] = relationship()
    # Every try, oldest first (Admin → Worker shows them).
    attempt_log: Mapped[list["OutboxAttempt"]] = relationship(order_by="OutboxAttempt.id", viewonly=True)


class OutboxAttempt(db.Model):
    """One try of one outbox row, or an admin's retry of it: kept for ever, shown on Admin → Worker."""

    __tablename__ = "outbox_attempts"
    __table_args__ = (
        CheckConstraint("outcome IN ('sent','retry','failed','void','late','requeued')", name="outcome"),
        Index("ix_outbox_attempts_outbox", "outbox_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    outcome: Mapped[str] = mapped_column(String(10))
    error: Mapped[str] = mapped_column(Text, default="")
    # host:pid of the worker process that tried; empty for an admin's retry.
    worker: Mapped[str] = mapped_column(String(120), default="")
    # The admin who pressed retry.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    user: Mapped[User | None] = relationship()


class Notification(db.Model):
    """A user's in-app inbox entry; created exactly once per outbox key."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("key", name="uq_notifications_key"),
        Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
        # The inbox: a user's newest first, paged by id, read from the index without a sort.
        Index("ix_notifications_user", "user_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    ticket: Mapped[Ticket | None] = relationship()


class SweepRun(db.Model):
    """What one sweep of the clocks did, for the admin's worker page."""

    __tablename__ = "sweep_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    counts: Mapped[str] = mapped_column(Text, default="{}")
