"""The security log: sign-ins, sign-outs, passwords, roles and unlocks, for the admins to read."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import User

SECURITY_KINDS = (
    "login_ok", "login_failed", "account_locked", "address_locked", "logout", "idle_logout",
    "password_changed", "password_reset", "user_created", "roles_changed", "deactivated", "activated",
    "unlocked", "token_created", "token_revoked", "token_refused",
)


class SecurityEvent(db.Model):
    """One event; rows are only ever inserted, and never hold a password."""

    __tablename__ = "security_events"
    __table_args__ = (
        CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in SECURITY_KINDS) + ")", name="kind"),
        # A user's own events, newest first (the user's admin page).
        Index("ix_security_events_user", "user_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    kind: Mapped[str] = mapped_column(String(32))
    # The account concerned; None for a name that has no account (the name itself is not kept:
    # people type their password into the name field often enough).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # Who did it when it is not the user: the admin of a reset, a role change or an unlock.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The client address of the request (IPv6 fits), "" outside a request (the CLI).
    address: Mapped[str] = mapped_column(String(64), default="")
    # JSON: e.g. {"reason": "password"}, {"from": [...], "to": [...]}, {"limit": "5 per 15 minutes"}.
    detail: Mapped[str] = mapped_column(Text, default="{}")

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
