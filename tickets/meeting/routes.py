"""The weekly meeting list: this week's and past weeks' lists, print, XLSX, and the meeting's decisions.

Every page renders the frozen snapshot; only the decisions recorded since are read live.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for

from ..services.rates import MEASURES
from flask_babel import gettext as _
from flask_login import current_user

from ..permissions import may_open
from ..services import meeting as svc
from ..services.errors import InvalidInput, Refused, StaleTicket
from ..services.meeting_xlsx import workbook_bytes
from ..services.sheets import disposition
from ..timeutil import now
from . import bp


def _list_or_404(week: str):
    try:
        svc.parse_week(week)
    except InvalidInput:
        abort(404)
    ml = svc.get_list(week)
    if ml is None:
        abort(404)
    return ml


def _page(week: str, ml, template: str = "meeting/list.html"):
    data = svc.snapshot(ml) if ml is not None else None
    return render_template(
        template, week=week, ml=ml, data=data, this_week=svc.week_of(now()), weeks=svc.built_weeks(),
        decisions=svc.decisions_by_number(ml) if ml is not None else {},
        due_at=svc.build_moment(week) if ml is None else None,
        may_decide=may_open(current_user, "meeting.decide"),
        staff=svc.staff_choices() if ml is not None and may_open(current_user, "meeting.decide") else [],
        measures=MEASURES,
        chairs=svc.chair_choices() if ml is not None and may_open(current_user, "meeting.decide") else [],
    )


@bp.route("/")
def current():
    picked = request.args.get("week")
    if picked:
        return redirect(url_for("meeting.week", week=picked))
    week = svc.week_of(now())
    return _page(week, svc.get_list(week))


@bp.route("/<week>")
def week(week: str):
    if week == svc.week_of(now()):
        return redirect(url_for("meeting.current"))
    return _page(week, _list_or_404(week))


@bp.route("/<week>/print")
def print_view(week: str):
    return _page(week, _list_or_404(week), "meeting/print.html")


@bp.route("/<week>.xlsx")
def xlsx(week: str):
    ml = _list_or_404(week)
    from io import BytesIO

    resp = send_file(BytesIO(workbook_bytes(svc.snapshot(ml))),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = disposition(f"meeting-{week}.xlsx", f"{svc.LIST_NAME} {week}.xlsx")
    return resp


@bp.route("/build", methods=["POST"])
def build_now():
    """A coordinator builds this week's list before its scheduled moment (it is still built once)."""
    svc.build_list(svc.week_of(now()))
    return redirect(url_for("meeting.current"))


@bp.route("/<week>/decide/<number>", methods=["POST"])
def decide(week: str, number: str):
    ml = _list_or_404(week)
    try:
        fields = ("what", "who_user_id", "who_text", "by_date", "new_due", "chair_id")
        svc.record_decision(ml, number, current_user, **{k: request.form.get(k) for k in fields})
    except Refused:
        abort(403)
    except (InvalidInput, StaleTicket) as e:
        for msg in (e.errors or {"_": e.message}).values():
            flash(str(msg), "error")
    else:
        flash(_("The decision on %(number)s was recorded.", number=number))
    back = url_for("meeting.current") if week == svc.week_of(now()) else url_for("meeting.week", week=week)
    return redirect(f"{back}#item-{number}")
