"""API tokens: made, shown once, looked up by their hash, revoked.

A personal token belongs to the user who made it on their profile page; a service token belongs to
an integration's service account, made by an admin. A token never does more than its user may do
in the web app: the API asks the same permission function with the token's user.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import SCOPES, ApiToken, Firm, ServiceFirm, User
from ..timeutil import now
from ..validators import is_valid_credit_code
from .common import raise_if, require_text
from .security_log import record

PREFIX = "bh_"
# bh_ and 43 URL-safe characters (32 random bytes); anything else is refused before any lookup.
TOKEN_FORM = re.compile(r"bh_[A-Za-z0-9_-]{43}")
# Lifetimes offered on the forms, in days (0: until revoked).
LIFETIMES = (30, 90, 365, 0)
NAME_MAX = 100
# last_used_at is written at most this often: one UPDATE a minute per busy token, not per request.
USED_WRITE_EVERY = timedelta(minutes=1)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_raw() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _check(errors: dict, name, scopes, lifetime) -> tuple[str, list[str], int]:
    name = require_text(errors, "name", name, _l("Name"), NAME_MAX)
    scopes = [s for s in SCOPES if s in set(scopes or [])]
    if not scopes:
        errors["scopes"] = _l("Please choose at least one permission.")
    try:
        days = int(lifetime)
    except (TypeError, ValueError):
        days = -1
    if days not in LIFETIMES:
        errors["lifetime"] = _l("Please choose how long the token stays valid.")
    return name, scopes, days


def _make(user: User, actor: User, kind: str, name: str, scopes: list[str], days: int,
          raw: str | None = None) -> tuple[ApiToken, str]:
    raw = raw or _new_raw()
    at = now()
    token = ApiToken(token_hash=digest(raw), prefix=raw[len(PREFIX):len(PREFIX) + 8], name=name, kind=kind,
                     scopes=" ".join(scopes), user_id=user.id, created_by_id=actor.id, created_at=at,
                     expires_at=at + timedelta(days=days) if days else None)
    db.session.add(token)
    db.session.flush()
    record("token_created", user=user, actor=actor if actor.id != user.id else None, token=token.id,
           token_kind=kind, scopes=scopes)
    return token, raw


def create_personal(user: User, name, scopes, lifetime, raw: str | None = None) -> tuple[ApiToken, str]:
    """A token acting as `user`; returns it and the only copy of its secret (the caller shows it once)."""
    errors: dict = {}
    name, scopes, days = _check(errors, name, scopes, lifetime)
    raise_if(errors)
    token, raw = _make(user, user, "personal", name, scopes, days, raw)
    db.session.commit()
    return token, raw


def personal_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        db.select(ApiToken).filter_by(user_id=user.id, kind="personal").order_by(ApiToken.id.desc())))


def revoke(token: ApiToken, actor: User) -> None:
    """Revoke `token` now (a second revoke changes nothing)."""
    if token.revoked_at is not None:
        return
    token.revoked_at = now()
    record("token_revoked", user=token.user, actor=actor if actor.id != token.user_id else None, token=token.id)
    db.session.commit()


def revoke_all(user: User) -> int:
    """Revoke every token of `user` (an admin's reset, a change of access, a deactivation); the caller commits."""
    at = now()
    return db.session.execute(db.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                              .values(revoked_at=at)).rowcount


def find(raw: str | None) -> ApiToken | None:
    """The usable token of this secret, with its active user; None for anything else."""
    if not raw or not TOKEN_FORM.fullmatch(raw):
        return None
    token = db.session.scalar(db.select(ApiToken).options(selectinload(ApiToken.user))
                              .filter_by(token_hash=digest(raw)))
    if token is None or not token.usable(now()) or not token.user.active:
        return None
    return token


def touch(token: ApiToken) -> None:
    """Note the token's use (at most once a minute)."""
    at = now()
    if token.last_used_at is None or not timedelta(0) <= at - token.last_used_at < USED_WRITE_EVERY:
        token.last_used_at = at
        db.session.commit()


# --- integrations: a service account, the firms it serves, its tokens -------------------------


def parse_credit_codes(text: str) -> tuple[list[str], list[str]]:
    """(codes, bad): the unified social credit codes in `text`, one per line or separated by spaces or commas."""
    codes, bad = [], []
    for item in re.split(r"[\s,，;；]+", (text or "").strip().upper()):
        if not item:
            continue
        (codes if is_valid_credit_code(item) else bad).append(item)
    return list(dict.fromkeys(codes)), bad


def _firms_of(errors: dict, text: str) -> list[Firm]:
    codes, bad = parse_credit_codes(text)
    if bad:
        errors["firms"] = _l("Not a unified social credit code: %(codes)s", codes=", ".join(bad[:5]))
        return []
    if not codes:
        errors["firms"] = _l("Please list the credit codes of the firms this integration serves.")
        return []
    firms = list(db.session.scalars(db.select(Firm).where(Firm.credit_code.in_(codes))))
    unknown = sorted(set(codes) - {f.credit_code for f in firms})
    if unknown:
        errors["firms"] = _l("No firm in the park has the credit code %(codes)s.", codes=", ".join(unknown[:5]))
    return firms


def integrations() -> list[User]:
    return list(db.session.scalars(db.select(User).filter_by(is_service=True).order_by(User.id)))


def served_firms(service: User) -> list[Firm]:
    return list(db.session.scalars(
        db.select(Firm).join(ServiceFirm, ServiceFirm.firm_id == Firm.id)
        .where(ServiceFirm.user_id == service.id).order_by(Firm.name)))


def _set_firms(service: User, firms: list[Firm]) -> None:
    db.session.execute(db.delete(ServiceFirm).where(ServiceFirm.user_id == service.id))
    for f in firms:
        db.session.add(ServiceFirm(user_id=service.id, firm_id=f.id))


def save_integration(actor: User, service: User | None, name, firms_text, active=True) -> User:
    """Create (service None) or change an integration: its name, its firms, whether it may act."""
    errors: dict = {}
    name = require_text(errors, "name", name, _l("Name"), NAME_MAX)
    firms = _firms_of(errors, firms_text)
    raise_if(errors)
    if service is None:
        from ..models.org import new_session_token

        # No role and no usable password: it can never sign in to the web app (accounts.authenticate).
        service = User(username="svc-" + secrets.token_hex(6), name=name, is_service=True, language="zh",
                       password_hash="!" + new_session_token())
        db.session.add(service)
        db.session.flush()
        record("user_created", user=service, actor=actor, via="integration")
    else:
        if service.active and not active:
            revoke_all(service)
            record("deactivated", user=service, actor=actor)
        elif active and not service.active:
            record("activated", user=service, actor=actor)
        service.name, service.active = name, bool(active)
    _set_firms(service, firms)
    db.session.commit()
    return service


def create_service_token(actor: User, service: User, name, scopes, lifetime,
                         raw: str | None = None) -> tuple[ApiToken, str]:
    """A token of the integration `service`, made by an admin; returned with its only copy."""
    errors: dict = {}
    name, scopes, days = _check(errors, name, scopes, lifetime)
    raise_if(errors)
    token, raw = _make(service, actor, "service", name, scopes, days, raw)
    db.session.commit()
    return token, raw


def service_tokens(service: User) -> list[ApiToken]:
    return list(db.session.scalars(db.select(ApiToken).filter_by(user_id=service.id).order_by(ApiToken.id.desc())))


def seed_demo_tokens() -> None:
    """The demo park's tokens (tickets/demo_logins.py); the demo only, never a real park."""
    from ..demo_logins import DEMO_TOKENS

    admin = db.session.scalar(db.select(User).filter_by(username="admin"))
    firms = list(db.session.scalars(db.select(Firm).order_by(Firm.id).limit(3)))
    for username, raw, _what in DEMO_TOKENS:
        if username == "integration":
            service = save_integration(admin, None, "浙里办（演示）", "\n".join(f.credit_code for f in firms))
            create_service_token(admin, service, "demo", ["read", "write"], 0, raw=raw)
            continue
        user = db.session.scalar(db.select(User).filter_by(username=username))
        scopes = ["read"] if user.has("leader", "inspector") and not user.has("coordinator", "official") else \
            ["read", "write"]
        create_personal(user, "demo", scopes, 0, raw=raw)
