"""The inspector's desk and the audit page. Thin: the lists and checks live in services."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func

from ..extensions import db
from ..models import Category, Department, Ticket, User, UserRole
from ..permissions import may_open
from ..services import desk as desk_service
from ..services import digest as digest_service
from ..services.common import parse_id
from ..timeutil import now
from . import bp

TAB_LABELS = {
    "overdue": _l("Overdue now"),
    "supervision": _l("Supervision list"),
    "rework": _l("Re-worked"),
    "dissatisfied": _l("Dissatisfied ratings"),
    "bounced": _l("Bounced"),
    "unconfirmed": _l("Closed without feedback"),
    "rejected": _l("Rejected"),
    "forced": _l("Closed by force"),
    "extensions": _l("Extension use"),
    "repeats": _l("Repeat requests"),
}


@bp.route("/desk")
def desk():
    tab = request.args.get("tab", "overdue")
    if tab not in desk_service.TABS:
        tab = "overdue"
    f = desk_service.DeskFilters(
        department_id=parse_id(request.args.get("department")),
        official_id=parse_id(request.args.get("official")),
        category_id=parse_id(request.args.get("category")),
    )
    at = now()
    rows, cursor = desk_service.page(tab, f, request.args.get("after", "")[:200], at)
    officials = db.session.scalars(
        db.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "official").order_by(User.department_id, User.name, User.id)).all()
    args = {k: v for k, v in request.args.items() if k not in ("after", "tab") and v}
    return render_template(
        "inspect/desk.html",
        tab=tab, tabs=desk_service.TABS, labels=TAB_LABELS, counts=desk_service.counts(f, at, current=tab),
        rows=rows, cursor=cursor, f=f, args=args, at=at,
        repeat_days=desk_service.REPEAT_DAYS, repeat_min=desk_service.REPEAT_MIN,
        departments=db.session.scalars(db.select(Department).order_by(Department.id)).all(),
        categories=db.session.scalars(db.select(Category).order_by(Category.position, Category.id)).all(),
        officials=officials, locale=str(get_locale()),
    )


@bp.route("/audit")
def audit():
    run = digest_service.last_run()
    return render_template(
        "inspect/audit.html",
        run=run,
        breaks=digest_service.run_breaks(run) if run else [],
        pending=digest_service.pending_run(),
        tickets_now=db.session.scalar(db.select(func.count(Ticket.id))) or 0,
        digests=digest_service.recent_digests(),
        inline_limit=digest_service.inline_limit(),
        may_run=may_open(current_user, "inspect.audit_run"),
    )


@bp.route("/audit/run", methods=["POST"])
def audit_run():
    """Verify now: inline for a small record, else queued for the worker (one at a time)."""
    outcome, run = digest_service.run_now(current_user.id)
    if outcome == "done":
        flash(_("Verification finished: %(n)d tickets checked, %(b)d broken.",
                n=run.tickets_checked, b=run.broken_count))
    else:
        flash(_("Verification queued: the worker will run it within a few minutes."))
    return redirect(url_for("inspect.audit"))
