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
from ..rates.chart import bar_chart
from ..services import desk as desk_service
from ..services import digest as digest_service
from ..services.common import parse_id
from ..services.errors import InvalidInput
from ..services.rates.period import parse_period, shortcuts
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


# Which time of a row each tab puts in the chosen period (services/desk.py).
PERIOD_NOTES = {
    "overdue": _l("Counted in the period: overdue now, with the due time in the period."),
    "supervision": _l("Counted in the period: put on the supervision list in the period."),
    "rework": _l("Counted in the period: a dissatisfied rating given in the period."),
    "dissatisfied": _l("Counted in the period: given in the period."),
    "bounced": _l("Counted in the period: a transfer approved in the period."),
    "unconfirmed": _l("Counted in the period: closed in the period."),
    "rejected": _l("Counted in the period: closed in the period."),
    "forced": _l("Counted in the period: closed in the period."),
    "extensions": _l("Counted in the period: requested in the period."),
    "repeats": _l("Counted in the period: filed in the period."),
}
assert set(PERIOD_NOTES) == set(TAB_LABELS) == set(desk_service.TABS)
CHART_TITLES = {"overdue": _l("Overdue now, by department"), "rework": _l("Re-worked, by department")}


def _period():
    """The period of the from/to days asked for (None: no bound), and the errors of a bad one."""
    first, last = request.args.get("from", "")[:40], request.args.get("to", "")[:40]
    if not (first or last):
        return None, {}
    try:
        return parse_period(first, last), {}
    except InvalidInput as exc:
        return None, exc.errors


def _charts(f, at, locale):
    """(title, SVG) of each charted tab: its count by department, under the same filters and period."""
    unassigned, empty = _("Not yet assigned"), _("None")
    out = []
    for tab in desk_service.CHARTED:
        rows = [(d.name(locale) if d else unassigned, n) for d, n in desk_service.by_department(tab, f, at)]
        out.append((CHART_TITLES[tab], bar_chart(rows, str(CHART_TITLES[tab]), tab, empty)))
    return out


@bp.route("/desk")
def desk():
    tab = request.args.get("tab", "overdue")
    if tab not in desk_service.TABS:
        tab = "overdue"
    period, errors = _period()
    f = desk_service.DeskFilters(
        department_id=parse_id(request.args.get("department")),
        official_id=parse_id(request.args.get("official")),
        category_id=parse_id(request.args.get("category")),
        period=period,
    )
    at = now()
    locale = str(get_locale())
    rows, cursor = desk_service.page(tab, f, request.args.get("after", "")[:200], at,
                                     size=desk_service.PAGE_SIZE)
    officials = db.session.scalars(
        db.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "official").order_by(User.department_id, User.name, User.id)).all()
    # Every filter and the period stay in the URL: tab links and the next page carry them.
    args = {k: v for k, v in request.args.items() if k not in ("after", "tab") and v}
    ranges = [(label, url_for("inspect.desk", tab=tab, **(args | {"from": p.first.isoformat(),
                                                                  "to": p.last.isoformat()})))
              for label, p in shortcuts()]
    return render_template(
        "inspect/desk.html",
        tab=tab, tabs=desk_service.TABS, labels=TAB_LABELS, counts=desk_service.counts(f, at, current=tab),
        rows=rows, cursor=cursor, f=f, args=args, at=at, period=period, errors=errors, ranges=ranges,
        period_note=PERIOD_NOTES[tab], charts=_charts(f, at, locale),
        without_period={k: v for k, v in args.items() if k not in ("from", "to")},
        repeat_days=desk_service.REPEAT_DAYS, repeat_min=desk_service.REPEAT_MIN,
        departments=db.session.scalars(db.select(Department).order_by(Department.id)).all(),
        categories=db.session.scalars(db.select(Category).order_by(Category.position, Category.id)).all(),
        officials=officials, locale=locale,
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
