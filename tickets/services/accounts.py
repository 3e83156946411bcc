"""Accounts: signing in, changing one's password, unlocking; each written to the security log."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import throttle
from ..extensions import db
from ..models import User
from ..models.org import check_no_password
from .common import raise_if
from .passwords import password_problem
from .security_log import record

LOCK_KINDS = {throttle.ACCOUNT_SCOPE: "account_locked", throttle.ADDRESS_SCOPE: "address_locked"}


def find_user(username: str | None) -> User | None:
    name = (username or "").strip()
    # An integration's service account has no password and never signs in: it is no account here.
    return db.session.scalar(db.select(User).filter_by(username=name, is_service=False)) if name else None


def authenticate(username: str | None, password: str | None, remember: bool = False) -> User | None:
    """The user these credentials sign in, or None.

    Every refusal costs one password check, whether the account exists, is deactivated or got a
    wrong password, so neither the answer nor its time tells them apart.
    """
    user = find_user(username)
    ok = user.check_password(password or "") if user is not None else check_no_password(password or "")
    if user is not None and ok and user.active:
        record("login_ok", user=user, remember=bool(remember))
        db.session.commit()
        return user
    reason = "unknown" if user is None else "password" if not ok else "inactive"
    record("login_failed", user=user, reason=reason)
    db.session.commit()
    return None


def record_locks(username: str | None, scopes: list[str]) -> None:
    """The failure just counted used up a limit: say so in the log (once, not per refused attempt)."""
    if not scopes:
        return
    user = find_user(username)
    limits = {throttle.ACCOUNT_SCOPE: "LOGIN_ACCOUNT_LIMIT", throttle.ADDRESS_SCOPE: "LOGIN_ADDRESS_LIMIT"}
    for scope in scopes:
        # A name with no account has nothing to lock that an admin could see or unlock.
        if scope == throttle.ACCOUNT_SCOPE and user is None:
            continue
        record(LOCK_KINDS[scope], user=user if scope == throttle.ACCOUNT_SCOPE else None,
               limit=current_app.config[limits[scope]])
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """The user chooses a new password; every other session of theirs ends (the view keeps this one)."""
    errors: dict = {}
    if not user.check_password(current or ""):
        errors["current"] = _l("The current password is wrong.")
    problem = password_problem(new, user.username)
    if problem is not None:
        errors["new"] = problem
    elif new == current:
        errors["new"] = _l("The new password must differ from the current one.")
    raise_if(errors)
    user.set_password(new)
    user.must_change_password = False
    user.rotate_session_token()
    record("password_changed", user=user)
    db.session.commit()


def unlock(user: User, actor: User) -> bool:
    """An admin lets the account try again at once; False when the count could not be reached."""
    done = throttle.unlock(user.username)
    if done:
        record("unlocked", user=user, actor=actor)
        db.session.commit()
    return done


def end_sessions(user: User, kind: str = "logout") -> None:
    """End every session and remember-me cookie of `user` (sign-out ends them all, on every device)."""
    user.rotate_session_token()
    record(kind, user=user)
    db.session.commit()
