"""Every user's in-app inbox: the list, mark as read, and the unread count in the header."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import func

from ..extensions import db
from ..messages import render
from ..models import Notification
from ..permissions import may_open
from ..services.common import parse_id
from ..services.firm_waiting import waiting_for_firm
from ..timeutil import now
from . import bp

PAGE = 30


def unread_count(user) -> int:
    return db.session.scalar(db.select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


@bp.route("/")
def index():
    stmt = db.select(Notification).where(Notification.user_id == current_user.id)
    if request.args.get("unread"):
        stmt = stmt.where(Notification.read_at.is_(None))
    before = parse_id(request.args.get("before"))
    if before:
        stmt = stmt.where(Notification.id < before)
    rows = db.session.scalars(stmt.order_by(Notification.id.desc()).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    locale = str(get_locale())
    items = [(n, *render(n.kind, n.params, locale)) for n in rows]
    # A firm user reads here too what waits for them, whatever the messages said.
    waiting = waiting_for_firm(current_user.firm_id) if may_open(current_user, "firm.my_requests") else []
    return render_template("inbox/index.html", items=items, waiting=waiting,
                           next_before=rows[-1].id if more else None,
                           unread_only=bool(request.args.get("unread")))


@bp.route("/<int:notification_id>/read", methods=["POST"])
def mark_read(notification_id: int):
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != current_user.id:
        abort(404)
    if n.read_at is None:
        n.read_at = now()
        db.session.commit()
    if request.form.get("open") and n.ticket is not None:
        return redirect(url_for("ticket.view", number=n.ticket.number))
    return redirect(url_for("inbox.index"))


@bp.route("/read-all", methods=["POST"])
def mark_all_read():
    db.session.execute(db.update(Notification).where(Notification.user_id == current_user.id,
                                                     Notification.read_at.is_(None)).values(read_at=now()))
    db.session.commit()
    return redirect(url_for("inbox.index"))
