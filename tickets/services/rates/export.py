"""The rates as JSON, CSV or XLSX: one row per unit with every numerator and denominator."""
from __future__ import annotations

import csv
import io
import json

from flask_babel import gettext as _
from flask_babel import ngettext

from .report import MEASURES, STAGES, Report

FORMATS = ("json", "csv", "xlsx")


def columns() -> list[str]:
    """Field names in order: the unit, then each measure's numerator, denominator and rate."""
    cols = ["from", "to", "by", "unit", "label", "tickets"]
    for m in MEASURES:
        cols += [m.numerator, m.denominator, m.key + ("_per_ticket" if m.ratio else "_pct")]
        if m.key == "handling":
            cols += ["extended_rounds", "extended_on_time"]
        if m.key == "resolution":
            cols += ["solved_partly"]
        if m.key == "satisfaction":
            cols += ["rated_satisfied", "rated_basically", "dissatisfied_ratings"]
    cols += ["closed_unconfirmed", "closed_forced", "rejected", "withdrawn"]
    for stage in STAGES:
        cols += [f"{stage}_days_n", f"{stage}_days_median", f"{stage}_days_p90"]
    return list(dict.fromkeys(cols))  # final_feedback is the denominator of two measures: once


def records(report: Report) -> list[dict]:
    """The shown rows and the total, each with every column."""
    head = {"from": report.period.first.isoformat(), "to": report.period.last.isoformat(), "by": report.by}
    return [{c: {**head, **row}.get(c) for c in columns()} for row in report.all_rows]


def hidden_note(report: Report) -> str:
    return ngettext("%(num)d unit hidden: fewer than 5 tickets in the period.",
                    "%(num)d units hidden: fewer than 5 tickets in the period.", report.hidden)


def to_json(report: Report) -> str:
    return json.dumps(records(report), ensure_ascii=False, indent=2)


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(), lineterminator="\n")
    writer.writeheader()
    for rec in records(report):
        # A label is a name from the database: keep a spreadsheet from reading it as a formula.
        rec["label"] = _neutral(rec["label"])
        writer.writerow(rec)
    return out.getvalue()


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = _("Rates")[:31]
    ws.append(columns())
    for rec in records(report):
        rec["label"] = _neutral(rec["label"])
        ws.append([rec[c] for c in columns()])
    if report.hidden:
        ws.append([])
        ws.append([hidden_note(report)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: E402


def _neutral(value):
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value
