"""The rates dashboard: every measure with its numerator and denominator, per unit and over 12 weeks."""
from __future__ import annotations

import io

from flask import render_template, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _

from ..labels import table
from ..services.errors import InvalidInput
from ..services.rates import BY, MEASURES, compute, export, month_of, parse_period, today, trend
from ..services.rates.period import shortcuts
from ..services.rates.report import (APART_NOTE, MIN_DENOMINATOR, REVIEW_NOTE, STAGE_FORMULA, STAGE_LABELS,
                                     STAGES, UNIT_NOTE)
from . import bp
from .chart import line_chart

BY_LABELS = table("rate_by")
TREND = ("on_time_handling", "resolution", "satisfaction")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _choice():
    """The period and grouping asked for, and the errors of a bad period (then the current month)."""
    by = request.args.get("by", "department")
    if by not in BY:
        by = "department"
    a = request.args
    try:
        return parse_period(a.get("from"), a.get("to"), a.get("week"), a.get("month")), by, {}
    except InvalidInput as exc:
        return month_of(today()), by, exc.errors


@bp.route("/")
def dashboard():
    period, by, errors = _choice()
    report = compute(period, by, locale=str(get_locale() or "zh"))
    weeks = trend(period.last)
    measures = {m.key: m for m in MEASURES}
    charts = [(measures[k], line_chart(weeks, measures[k], str(measures[k].label))) for k in TREND]
    return render_template(
        "rates/dashboard.html", report=report, period=period, by=by, errors=errors, measures=MEASURES,
        by_labels=BY_LABELS, shortcuts=shortcuts(), charts=charts,
        trend_first=weeks[0]["unit"], trend_last=weeks[-1]["unit"], stages=STAGES, stage_labels=STAGE_LABELS,
        stage_formula=STAGE_FORMULA, unit_note=UNIT_NOTE, apart_note=APART_NOTE, review_note=REVIEW_NOTE,
        min_denominator=MIN_DENOMINATOR,
        hidden_note=export.hidden_note(report) if report.hidden else "",
    )


@bp.route("/download")
def download():
    """The dashboard's figures as CSV (UTF-8 with BOM, for Excel), XLSX or JSON."""
    period, by, errors = _choice()
    fmt = request.args.get("format", "csv")
    if errors or fmt not in export.FORMATS:
        return render_template("error.html", status=400, message=_("Please correct the period.")), 400
    report = compute(period, by, locale=str(get_locale() or "zh"))
    name = f"rates-{period.first.isoformat()}-{period.last.isoformat()}-{by}.{fmt}"
    if fmt == "xlsx":
        body, mimetype = export.to_xlsx(report), XLSX
    elif fmt == "csv":
        body, mimetype = export.to_csv(report).encode("utf-8-sig"), "text/csv"
    else:
        body, mimetype = export.to_json(report).encode("utf-8"), "application/json"
    return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
