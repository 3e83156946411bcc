"""Admin: the security log, and unlocking an account that failed sign-ins locked."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import User
from ..services import accounts, security_log
from ..services.common import parse_id
from . import bp
from .forms import ROLE_LABELS, UnlockForm


@bp.route("/security")
def security_log_page():
    """Every security event, newest first; ?user=<id> for one user's."""
    user_id = parse_id(request.args.get("user"))
    user = db.session.get(User, user_id) if user_id else None
    rows, cursor = security_log.page(parse_id(request.args.get("before")), user_id=user.id if user else None)
    return render_template("admin/security.html", events=rows, cursor=cursor, user=user,
                           role_labels=ROLE_LABELS, describe=security_log.describe)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
def user_unlock(user_id: int):
    user = db.get_or_404(User, user_id)
    if UnlockForm().validate_on_submit():
        if accounts.unlock(user, current_user._get_current_object()):
            flash(_("%(u)s may sign in again now.", u=user.username))
        else:
            flash(_("The sign-in counts could not be reached; the lock ends by itself when its time is up."), "error")
    return redirect(url_for("admin.user_edit", user_id=user.id))
