"""API tokens, the integrations that hold service tokens, and the firms each integration serves.

A token is shown once and stored as its SHA-256: a token is 256 random bits, so a fast hash is
enough (nobody can try 2^256 values), and the database never holds a usable credential. A
personal token acts as its user; a service token acts as its integration's service account, a
user with no role who may file for, and read the requests of, the firms listed here.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import now
from .org import Firm, User

TOKEN_KINDS = ("personal", "service")
# "read": GET only; "write": filing and the lifecycle actions too.
SCOPES = ("read", "write")


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("kind IN ('personal','service')", name="kind"),
        Index("ix_api_tokens_user", "user_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # hex SHA-256 of the whole token: what a request's token is looked up by.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters after "bh_", shown in lists so that a holder can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="personal")
    # Space-separated, from SCOPES.
    scopes: Mapped[str] = mapped_column(String(40), default="read")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Written at most once a minute (tickets/services/tokens.py), like users.last_seen_at.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())

    def usable(self, at: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or at < self.expires_at)


class ServiceFirm(db.Model):
    """A firm an integration's service account serves (matched by its unified social credit code)."""

    __tablename__ = "service_firms"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="RESTRICT"), primary_key=True,
                                         index=True)

    firm: Mapped[Firm] = relationship()
