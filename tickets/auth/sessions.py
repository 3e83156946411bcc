"""Sessions: starting one, ending one, the idle timeout and the forced password change.

Flask-Login keeps the user's session token (User.get_id) in the session cookie and, when
"remember me" was ticked, in a remember-me cookie of at most 14 days. A new token ends every
session and remember-me cookie of the user at once: sign-out, a password change, an admin's
reset, a role change and a deactivation each make one.

Idle timeout: a session whose last request is older than IDLE_TIMEOUT_MINUTES ends, and the
user is sent to sign in again. The last request is kept in the session (per browser) and on the
user (last_seen_at, across browsers). A remember-me cookie starts a new session only while the
user was active within the timeout, so it never revives an idle session, and the idle session's
sign-out deletes it from that browser.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import db
from ..permissions import may_open_before_password_change
from ..services.security_log import record
from ..timeutil import now

SEEN = "_seen"  # the session's last request, naive UTC in ISO form
# last_seen_at is written at most this often: one UPDATE a minute per active user, not per request.
SEEN_WRITE_EVERY = timedelta(minutes=1)


def _forget_csrf() -> None:
    # Flask-WTF keeps its secret in the session (and caches the token on g): without it a token
    # seen before sign-in is useless after.
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


def start(user, remember: bool = False) -> None:
    """Sign `user` in on this browser: a fresh CSRF secret, the idle clock started (caller commits)."""
    _forget_csrf()
    login_user(user, remember=remember)
    at = now()
    session[SEEN] = at.isoformat()
    user.last_seen_at = at


def leave() -> None:
    """Sign out on this browser (the session cookie's user and the remember-me cookie go).

    The user's language stays with the browser, so that the message saying why and the
    sign-in page after it are in the language they read.
    """
    from flask_login import current_user

    if current_user.is_authenticated and current_user.language in ("zh", "en"):
        session["language"] = current_user.language
    logout_user()
    session.pop(SEEN, None)
    _forget_csrf()


def _seen() -> datetime | None:
    try:
        return datetime.fromisoformat(session[SEEN])
    except (KeyError, TypeError, ValueError):
        return None


def check_request():
    """Before every request: end an idle session; hold a user who must change their password."""
    if request.endpoint in (None, "static") or request.blueprint == "api" or not current_user.is_authenticated:
        # The API has no session: its token is checked by tickets/api/auth.py.
        return None
    if request.endpoint == "auth.logout":
        # Signing out after an idle spell must still end every session, not only this one.
        return None
    user = current_user._get_current_object()
    at = now()
    # No time in the session: a remember-me cookie is starting a new one (or the session predates
    # this check); the user's last request anywhere decides.
    seen = _seen() or user.last_seen_at
    if seen is None or at - seen > timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"]):
        record("idle_logout", user=user)
        db.session.commit()
        leave()
        flash(_("You were signed out after %(n)d minutes without activity. Please sign in again.",
                n=current_app.config["IDLE_TIMEOUT_MINUTES"]), "error")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    session[SEEN] = at.isoformat()
    if user.last_seen_at is None or not timedelta(0) <= at - user.last_seen_at < SEEN_WRITE_EVERY:
        user.last_seen_at = at
        db.session.commit()
    if user.must_change_password and not may_open_before_password_change(request.endpoint):
        return redirect(url_for("auth.change_password"))
    return None
