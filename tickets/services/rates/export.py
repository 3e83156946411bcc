"""The rates as JSON, CSV or XLSX: one row per unit with every numerator and denominator.

JSON gives each measure as {"numerator": n, "denominator": d, "rate": r} under its name
(on_time_acceptance, on_time_handling, resolution, satisfaction, first_time_satisfaction,
participation, rework, transfers_per_ticket); CSV gives the same figures flat, as
<name>_numerator, <name>_denominator and <name>_rate columns: both are formats for programs,
with stable keys. XLSX is for people: the same columns in the same order (without the unit's
key), headed in the reader's language, with the page setup of every export.
"""
from __future__ import annotations

import csv
import io
import json

from flask_babel import gettext as _
from flask_babel import ngettext
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .queries import APART
from .report import MEASURES, MIN_DENOMINATOR, STAGES, Report, figure

FORMATS = ("json", "csv", "xlsx")
# Counts shown beside the measures: the parts of a numerator, what is counted apart.
DETAILS = ("extended_rounds", "extended_on_time", "rounds_open_late", "rounds_closed_unhandled", "solved_partly",
           "rated_satisfied", "rated_basically", "dissatisfied_ratings", "excluded_ratings")


def columns() -> list[str]:
    """Field names in order: the unit, each measure's numerator, denominator and rate, then the details."""
    cols = ["from", "to", "by", "unit", "label"]
    for m in MEASURES:
        cols += [f"{m.key}_numerator", f"{m.key}_denominator", f"{m.key}_rate"]
    cols += list(DETAILS) + list(APART)
    for stage in STAGES:
        cols += [f"{stage}_days_n", f"{stage}_days_median", f"{stage}_days_p90"]
    return cols


def structured(report: Report) -> list[dict]:
    """The shown rows and the total, each measure as {numerator, denominator, rate}."""
    head = {"from": report.period.first.isoformat(), "to": report.period.last.isoformat(), "by": report.by}
    out = []
    for row in report.all_rows:
        rec = {**head, "unit": row["unit"], "label": row["label"]}
        rec.update({m.key: figure(row, m) for m in MEASURES})
        rec["details"] = {f: row[f] for f in DETAILS}
        rec["apart"] = {s: row[s] for s in APART}
        rec["stage_days"] = {s: {"n": row[f"{s}_days_n"], "median": row[f"{s}_days_median"],
                                 "p90": row[f"{s}_days_p90"]} for s in STAGES}
        out.append(rec)
    return out


def records(report: Report) -> list[dict]:
    """The same rows, flat: one value per column."""
    out = []
    for rec in structured(report):
        flat = {k: rec[k] for k in ("from", "to", "by", "unit", "label")}
        for m in MEASURES:
            for part in ("numerator", "denominator", "rate"):
                flat[f"{m.key}_{part}"] = rec[m.key][part]
        flat.update(rec["details"])
        flat.update(rec["apart"])
        for s, d in rec["stage_days"].items():
            flat.update({f"{s}_days_n": d["n"], f"{s}_days_median": d["median"], f"{s}_days_p90": d["p90"]})
        out.append(flat)
    return out


def hidden_note(report: Report) -> str:
    return ngettext("%(num)d unit hidden: fewer than %(min)d in every denominator.",
                    "%(num)d units hidden: fewer than %(min)d in every denominator.", report.hidden,
                    min=MIN_DENOMINATOR)


def to_json(report: Report) -> str:
    return json.dumps({"from": report.period.first.isoformat(), "to": report.period.last.isoformat(),
                       "by": report.by, "hidden_units": report.hidden, "rows": structured(report)},
                      ensure_ascii=False, indent=2)


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(), lineterminator="\n")
    writer.writeheader()
    for rec in records(report):
        # A label is a name from the database: keep a spreadsheet from reading it as a formula.
        rec["label"] = _neutral(rec["label"])
        writer.writerow(rec)
    return out.getvalue()


def headings() -> dict[str, str]:
    """Each column of columns() in the reader's language."""
    from ...labels import label
    from .report import STAGE_LABELS

    out = {"from": _("First day"), "to": _("Last day"), "by": _("Grouped by"), "unit": "", "label": _("Unit")}
    for m in MEASURES:
        out[f"{m.key}_numerator"] = _("%(measure)s: numerator", measure=m.label)
        out[f"{m.key}_denominator"] = _("%(measure)s: denominator", measure=m.label)
        out[f"{m.key}_rate"] = (_("%(measure)s: ratio", measure=m.label) if m.ratio
                                else _("%(measure)s: rate (%%)", measure=m.label))
    out |= {d: label("rate_detail", d) for d in DETAILS}
    out |= {s: _("Counted apart: %(state)s", state=label("state", s)) for s in APART}
    for stage in STAGES:
        name = STAGE_LABELS[stage]
        out[f"{stage}_days_n"] = _("%(stage)s: steps timed", stage=name)
        out[f"{stage}_days_median"] = _("%(stage)s: median working days", stage=name)
        out[f"{stage}_days_p90"] = _("%(stage)s: 90th percentile, working days", stage=name)
    return out


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from ...labels import label
    from .. import sheets

    wb = Workbook()
    ws = wb.active
    ws.title = _("Rates")[:31]
    shown = [c for c in columns() if c != "unit"]
    names = headings()
    ws.append([names[c] for c in shown])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for rec in records(report):
        rec["label"] = _neutral(rec["label"])
        rec["by"] = label("rate_by", rec["by"])
        ws.append([rec[c] for c in shown])
    sheets.print_setup(ws, [11, 11, 10, 24] + [12] * (len(shown) - 4))
    if report.hidden:
        ws.append([])
        ws.append([hidden_note(report)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _neutral(value):
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value
