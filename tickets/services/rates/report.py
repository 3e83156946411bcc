"""The rates of DESIGN.md, Measures: rows of numerators and denominators per unit."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...labels import table
from ...models import Category, Department, User
from ...timeutil import now
from ...workdays import WorkCalendar
from . import queries
from .period import Period, trend_period

BY = ("department", "official", "category", "week", "month", "total")
RANKINGS = ("department", "official", "category")
# A ranking shows no rate over a denominator smaller than this, and leaves out a unit
# with no denominator that large (DESIGN.md: fewer than 5 in the denominator).
MIN_DENOMINATOR = 5
STAGES = ("accept", "handle", "feedback")


@dataclass(frozen=True)
class Measure:
    key: str
    label: object
    numerator: str
    denominator: str
    formula: object
    ratio: bool = False  # a ratio (transfers per ticket), not a percentage


MEASURES = (
    Measure("on_time_acceptance", _l("On-time acceptance"), "accept_on_time", "accept_due",
            _l("requests accepted or rejected by the accept clock's due time ÷ accept clocks due in the period, "
               "decided or not (a request withdrawn before its due time is left out; one withdrawn later was "
               "not decided in time)")),
    Measure("on_time_handling", _l("On-time handling"), "handled_on_time", "rounds_due",
            _l("handling rounds recorded by the due time in force (an approved extension moves it) ÷ handling "
               "rounds whose due time fell in the period, handled or not: a round still open or closed by force "
               "is late; extended rounds are also shown apart")),
    Measure("resolution", _l("Resolution"), "solved_yes", "ratings",
            _l("ratings “solved: yes” ÷ every rating given in the period, each round's (“partly” shown apart)")),
    Measure("satisfaction", _l("Satisfaction"), "satisfied", "ratings",
            _l("ratings “satisfied” or “basically satisfied” ÷ every rating given in the period, each round's, "
               "“dissatisfied” ones included")),
    Measure("first_time_satisfaction", _l("First-time satisfaction"), "first_satisfied", "first_ratings",
            _l("first-round ratings “satisfied” or “basically satisfied” ÷ first-round ratings given in the "
               "period")),
    Measure("participation", _l("Participation"), "rated_rounds", "feedback_windows_ended",
            _l("handled rounds the firm rated ÷ handled rounds whose feedback window ended in the period (rated, "
               "closed without feedback or closed by force)")),
    Measure("rework", _l("Rework"), "reworked", "closed",
            _l("requests with 2 or more handling rounds ÷ accepted requests closed in the period (completed, "
               "closed without feedback or closed by force)")),
    Measure("transfers_per_ticket", _l("Transfers per request"), "transfers", "accepted",
            _l("transfers approved in the period ÷ requests accepted in the period"), ratio=True),
)

STAGE_LABELS = table("stage")
STAGE_FORMULA = _l("Working days (official calendar, Beijing time) from the start of a stage's clock to "
                   "its stop, for the steps taken in the period: acceptance (accept or reject), handling "
                   "(each round recorded), feedback (each rating of the firm). Median: the middle value "
                   "(the mean of the two middle values for an even count); 90th percentile: the value at "
                   "rank ⌈0.9 × n⌉ in ascending order.")
UNIT_NOTE = _l("Each step counts in the week or month (Beijing time) in which it happened (a due time, for "
               "the on-time measures), credited to whoever held the request for that step: a rating to the "
               "department and official who handled that round; a round's timeliness to whoever held it when "
               "it fell due (a transfer after the due time does not move a late round); acceptance to the "
               "coordinator who decided it; a transfer to the department it left. Past periods never change, "
               "except when a review excludes a rating.")
APART_NOTE = _l("Closed without feedback, closed by force, rejected and withdrawn requests are counted "
                "apart and never as solved or satisfied.")
REVIEW_NOTE = _l("A dissatisfied rating may be reviewed (甄别): a coordinator proposes to exclude it with a "
                 "reason and an inspector confirms or refuses. An excluded rating leaves resolution and both "
                 "satisfaction figures, is counted apart, and stays on the request's record.")

COUNT_FIELDS = queries.FIELDS


@dataclass
class Report:
    period: Period
    by: str
    rows: list[dict]  # the units shown, in order
    total: dict
    hidden: int = 0  # units left out of a ranking: no denominator of MIN_DENOMINATOR or more

    @property
    def all_rows(self) -> list[dict]:
        """The shown rows, then the total (unless the report is by total)."""
        return self.rows if self.by == "total" else self.rows + [self.total]


def rate(num: int, den: int, ratio: bool = False) -> float | None:
    """num / den as a percentage with one decimal (a ratio with two), None without a denominator."""
    if not den:
        return None
    return round(num / den, 2) if ratio else round(100 * num / den, 1)


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest rank: the value at position ceil(0.9 n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def figure(row: dict, m: Measure) -> dict:
    """{"numerator", "denominator", "rate"} of one measure in one row (rate None when not shown)."""
    return {"numerator": row[m.numerator], "denominator": row[m.denominator], "rate": row[m.key]}


def _finish(row: dict, stage_days: dict, ranked: bool = False) -> dict:
    for f in COUNT_FIELDS:
        row.setdefault(f, 0)
    row["too_few"] = []
    for m in MEASURES:
        den = row[m.denominator]
        if ranked and 0 < den < MIN_DENOMINATOR:
            row[m.key] = None  # too few to rank on: the counts stay, the rate is not shown
            row["too_few"].append(m.key)
        else:
            row[m.key] = rate(row[m.numerator], den, m.ratio)
    for stage in STAGES:
        days = stage_days.get(stage, [])
        row[f"{stage}_days_n"] = len(days)
        row[f"{stage}_days_median"] = median(days)
        row[f"{stage}_days_p90"] = p90(days)
    return row


def _labels(by: str, keys, locale: str) -> dict:
    ids = [k for k in keys if k is not None]
    if by == "department":
        return {d.id: d.name(locale) for d in db.session.scalars(db.select(Department).where(Department.id.in_(ids)))}
    if by == "category":
        return {c.id: c.name(locale) for c in db.session.scalars(db.select(Category).where(Category.id.in_(ids)))}
    if by == "official":
        return {u.id: u.name for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
    return {}


def _large_enough(counts: dict) -> bool:
    return any(counts.get(m.denominator, 0) >= MIN_DENOMINATOR for m in MEASURES)


def compute(period: Period, by: str = "total", locale: str = "zh", stages: bool = True,
            at: datetime | None = None) -> Report:
    """The rates for `period` grouped `by` one of BY, with the total; rankings hide small units.

    `at` is the moment the figures are taken (default now): a due time after it is not counted yet.
    stages=False leaves out the stage times (the trend needs none).
    """
    if by not in BY:
        raise ValueError(by)
    at = at or now()
    per_unit = queries.counts(period, by, at)
    days: dict = {}
    all_days: dict = {s: [] for s in STAGES}
    if stages:
        cal = WorkCalendar.load()
        for stage, rows in queries.stage_rows(period, by, at).items():
            for unit, started, stopped in rows:
                d = cal.working_days_between(started, stopped)
                days.setdefault(unit, {}).setdefault(stage, []).append(d)
                all_days[stage].append(d)

    with force_locale(locale):
        total_label, none_label = str(_l("Total")), str(_l("Not assigned"))
    # The total adds up the units' counts (each step is in exactly one unit).
    total = {"unit": "total", "label": total_label}
    for counts in per_unit.values():
        for f, n in counts.items():
            total[f] = total.get(f, 0) + n
    total = _finish(total, all_days)

    rows, hidden = [], 0
    if by in ("week", "month"):
        for i, bucket in enumerate(period.buckets(by)):
            row = {"unit": bucket.key, "label": bucket.key, **per_unit.get(i, {})}
            rows.append(_finish(row, days.get(i, {})))
    elif by in RANKINGS:
        labels = _labels(by, per_unit, locale)
        for unit, counts in per_unit.items():
            if not _large_enough(counts):
                hidden += 1
                continue
            row = {"unit": unit, "label": labels.get(unit, none_label), **counts}
            rows.append(_finish(row, days.get(unit, {}), ranked=True))
        rows.sort(key=lambda r: (r["label"], str(r["unit"])))
    else:
        rows = [total]
    return Report(period, by, rows, total, hidden)


def trend(last_day, weeks: int = 12) -> list[dict]:
    """Weekly totals for the `weeks` weeks ending with the week of `last_day` (no stage times)."""
    return compute(trend_period(last_day, weeks), "week", stages=False).rows
