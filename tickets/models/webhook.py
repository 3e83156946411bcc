"""Webhook subscribers and the log of every HTTP try to deliver to them.

The deliveries themselves are outbox rows (channel "webhook", tickets/models/notify.py);
a WebhookAttempt is one POST of one of them, kept for the admin's delivery log.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now


class WebhookSubscriber(db.Model):
    """A receiver an admin registered: where to POST, the secret that signs, the events wanted."""

    __tablename__ = "webhook_subscribers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    # Stored, since it signs every delivery; shown to the admin only once, when it is made.
    secret: Mapped[str] = mapped_column(String(100))
    # The wanted event codes, comma-separated (tickets/services/webhooks.py: EVENTS).
    events: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # Set: only the events of the firms this integration serves (tickets/models/api.py), so that a
    # platform hears of its own firms' requests and no others. None: every firm's.
    service_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    @property
    def event_codes(self) -> list[str]:
        return [c for c in (self.events or "").split(",") if c]

    def wants(self, code: str) -> bool:
        return code in self.event_codes


class WebhookAttempt(db.Model):
    """One HTTP try of one delivery: the status code, or the error, and how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        # A delivery's attempts in order (the delivery log).
        Index("ix_webhook_attempts_outbox", "outbox_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="RESTRICT"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscribers.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    subscriber: Mapped[WebhookSubscriber] = relationship()
