"""Sign in, sign out, change one's password, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import throttle
from ..extensions import db
from ..models import User
from ..permissions import may_open
from ..services import accounts
from ..services.errors import InvalidInput
from ..services.passwords import PASSWORD_MIN
from . import bp, sessions
from .forms import ChangePasswordForm, LoginForm


def safe_next(target: str | None) -> str | None:
    """A local path only: no scheme, no host, no `//host` or `/\\host` tricks."""
    if not target:
        return None
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def home_for(user: User) -> str:
    """The first page of a signed-in user: the first of these that the permission rules open."""
    for endpoint in ("firm.my_requests", "desk.queue", "admin.index"):
        if may_open(user, endpoint):
            return url_for(endpoint)
    return url_for("auth.help")


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data, remember=form.remember.data)
        if user is None:
            accounts.record_locks(form.username.data, throttle.count_failure())
            # One message for every refusal: it must not tell whether the account exists.
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form), 200
        throttle.forget_failures(form.username.data)
        sessions.start(user, remember=form.remember.data)
        db.session.commit()
        return redirect(safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


@bp.errorhandler(429)
def sign_in_paused(e):
    """Flask-Limiter refused the attempt before any password was checked: the same for every name."""
    flash(_("Too many failed sign-ins for this account or from this address. Please try again in "
            "%(n)d minutes, or ask an administrator to unlock the account.", n=throttle.window_minutes()),
          "error")
    return render_template("auth/login.html", form=LoginForm()), 429


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out, ending every session and remember-me cookie of this user, on every device."""
    accounts.end_sessions(current_user._get_current_object())
    sessions.leave()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            accounts.change_password(user, form.current.data, form.new.data)
        except InvalidInput as e:
            for key, message in e.errors.items():
                form[key].errors = [*form[key].errors, str(message)]
        else:
            # The new token ended every session; this one goes on under it (with remember-me
            # again if this browser had it).
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            sessions.start(user, remember=remembered)
            db.session.commit()
            flash(_("Your password was changed. Your other sessions have ended."))
            return redirect(home_for(user))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form, forced=user.must_change_password,
                           password_min=PASSWORD_MIN), status


@bp.route("/language/<lang>", methods=["POST"])
def language(lang: str):
    """Store the chosen language on the user (or the session before sign-in)."""
    if lang not in ("zh", "en"):
        abort(404)
    session["language"] = lang
    if current_user.is_authenticated:
        current_user.language = lang
        db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("auth.index"))
