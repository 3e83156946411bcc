"""Sign in, sign out, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..models import User
from . import bp
from .forms import LoginForm


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
    if user.has("firm") and user.firm_id:
        return url_for("firm.my_requests")
    if user.has("coordinator", "official", "leader", "inspector"):
        return url_for("desk.queue")
    if user.has("admin"):
        return url_for("admin.index")
    return url_for("auth.login")


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
        user = db.session.scalar(db.select(User).filter_by(username=form.username.data.strip()))
        if user is None or not user.active or not user.check_password(form.password.data):
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form), 200
        login_user(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


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


@bp.route("/help")
@login_required
def help():
    """How the loop works, for the roles this user holds."""
    return render_template("auth/help.html")
