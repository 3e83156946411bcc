"""One-time form tokens: a form that files a ticket may file only one.

The request form carries a random token in a hidden field. Filing records it here in
the same transaction as the ticket; the primary key makes a second use of the token
(a double click, back and resubmit, two posts at once) fail in the database, and the
second post is shown the ticket the first one filed.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import now


class UsedFormToken(db.Model):
    __tablename__ = "used_form_tokens"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), unique=True)
    used_at: Mapped[datetime] = mapped_column(DateTime, default=now)
