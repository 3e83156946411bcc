"""People and the park: departments, categories, firms, users and their roles."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..timeutil import now

ROLES = ("firm", "official", "coordinator", "leader", "inspector", "admin")
LANGUAGES = ("zh", "en")


def new_session_token() -> str:
    """A fresh random session token (256 bits)."""
    return secrets.token_urlsafe(32)


class Department(db.Model):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    def name(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" else self.name_zh


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (CheckConstraint("limit_days > 0 AND limit_days <= 60", name="limit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    limit_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    department: Mapped[Department] = relationship()

    def name(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" else self.name_zh


class Firm(db.Model):
    __tablename__ = "firms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    liaison_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True), index=True
    )

    liaison: Mapped[User | None] = relationship(foreign_keys=[liaison_id])


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('firm','official','coordinator','leader','inspector','admin')",
            name="role",
        ),
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("language IN ('zh','en')", name="language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), default="")
    mobile: Mapped[str] = mapped_column(String(20), default="")
    language: Mapped[str] = mapped_column(String(5), default="zh")
    firm_id: Mapped[int | None] = mapped_column(
        ForeignKey("firms.id", ondelete="RESTRICT"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # What the session and remember-me cookies carry instead of the id (get_id); a new one ends
    # every session of this user at once (rotate_session_token).
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    # Set when someone else chose the password (an admin, the XLSX import): every page but the
    # change-password page waits until the user chooses their own.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last request of any session of this user, written at most once a minute: what the idle
    # timeout reads when a remember-me cookie would start a new session (tickets/auth/sessions.py).
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The service account of an integration (tickets/models/api.py): no role, no password, never
    # signs in; its service tokens file for and read the firms it serves.
    is_service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    firm: Mapped[Firm | None] = relationship(foreign_keys=[firm_id])
    department: Mapped[Department | None] = relationship()

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def set_roles(self, roles) -> None:
        wanted = set(roles)
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = self.roles
        for role in sorted(wanted - have):
            self.role_rows.append(UserRole(role=role))

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def service_firm_ids(self) -> set[int]:
        """The firms a service account serves (empty for everyone else)."""
        if not self.is_service:
            return set()
        from .api import ServiceFirm

        return set(db.session.scalars(db.select(ServiceFirm.firm_id).filter_by(user_id=self.id)))

    def set_password(self, password: str) -> None:
        # scrypt is werkzeug's default; named so that a change of default cannot
        # silently weaken it.
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def rotate_session_token(self) -> None:
        """End every session and remember-me cookie of this user (the caller commits)."""
        self.session_token = new_session_token()

    def get_id(self) -> str:  # flask-login: stored in the session and the remember-me cookie
        return self.session_token

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active


_dummy_hash: str | None = None


def check_no_password(password: str) -> bool:
    """The work of one password check, for a name with no account (or one that may not sign in).

    Without it a wrong name answers in a few milliseconds and a wrong password after a whole scrypt
    run, so the time of one request would tell whether an account exists. The hash is made once per
    process, the way set_password makes every real one. Always False.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_urlsafe(16), method="scrypt")
    check_password_hash(_dummy_hash, password)
    return False
