"""The rates of DESIGN.md, Measures: rows of numerators and denominators per unit."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import Category, Department, User
from ...workdays import WorkCalendar
from . import queries
from .period import Period, trend_period

BY = ("department", "official", "category", "week", "month", "total")
RANKINGS = ("department", "official", "category")
# Rankings hide a unit with fewer tickets than this in the period.
MIN_TICKETS = 5
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
    Measure("acceptance", _l("On-time acceptance"), "accept_on_time", "accept_decisions",
            _l("requests accepted or rejected by the accept clock's due time ÷ requests accepted or "
               "rejected in the period (a withdrawal is no decision)")),
    Measure("handling", _l("On-time handling"), "handled_on_time", "rounds_handled",
            _l("handling rounds recorded by the due time in force (an approved extension moves it) ÷ "
               "handling rounds recorded in the period; extended rounds are also shown apart")),
    Measure("resolution", _l("Resolution"), "solved_yes", "final_feedback",
            _l("final feedback “solved: yes” ÷ requests whose final feedback was given in the period "
               "(“partly” shown apart; a “dissatisfied” answer reopens the request and is not final)")),
    Measure("satisfaction", _l("Satisfaction"), "satisfied", "final_feedback",
            _l("final rating “satisfied” or “basically satisfied” ÷ requests whose final feedback was "
               "given in the period")),
    Measure("rework", _l("Rework"), "reworked", "closed",
            _l("requests with 2 or more handling rounds ÷ accepted requests closed in the period "
               "(completed, closed without feedback or closed by force)")),
    Measure("transfers", _l("Transfers per request"), "transfers", "accepted",
            _l("approved transfers of the requests accepted in the period ÷ requests accepted in the "
               "period"), ratio=True),
)

STAGE_LABELS = {"accept": _l("Acceptance"), "handle": _l("Handling"), "feedback": _l("Feedback")}
STAGE_FORMULA = _l("Working days (official calendar, Asia/Shanghai) from the start of a stage's clock to "
                   "its stop, for the steps taken in the period: acceptance (accept or reject), handling "
                   "(each round recorded), feedback (each answer of the firm). Median: the middle value "
                   "(the mean of the two middle values for an even count); 90th percentile: the value at "
                   "rank ⌈0.9 × n⌉ in ascending order.")
UNIT_NOTE = _l("A request counts under its current department, lead official and category, and in the "
               "week or month (Asia/Shanghai) in which the measured step happened.")
APART_NOTE = _l("Closed without feedback, closed by force, rejected and withdrawn requests are counted "
                "apart and never as solved or satisfied.")

COUNT_FIELDS = ("accept_on_time", "accept_decisions", "handled_on_time", "rounds_handled",
                "extended_rounds", "extended_on_time", "solved_yes", "solved_partly", "final_feedback",
                "satisfied", "rated_satisfied", "rated_basically", "dissatisfied_ratings",
                "reworked", "closed", "transfers", "accepted") + queries.APART


@dataclass
class Report:
    period: Period
    by: str
    rows: list[dict]  # the units shown, in order
    total: dict
    hidden: int = 0  # units left out of a ranking: fewer than MIN_TICKETS tickets

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


def _finish(row: dict, stage_days: dict) -> dict:
    for f in COUNT_FIELDS:
        row.setdefault(f, 0)
    row["satisfied"] = row["rated_satisfied"] + row["rated_basically"]
    for m in MEASURES:
        row[m.key + ("_per_ticket" if m.ratio else "_pct")] = rate(row[m.numerator], row[m.denominator],
                                                                   m.ratio)
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


def compute(period: Period, by: str = "total", locale: str = "zh", stages: bool = True,
            count_tickets: bool = True) -> Report:
    """The rates for `period` grouped `by` one of BY, with the total; rankings hide small units.

    stages=False leaves out the stage times, count_tickets=False the ticket counts (the trend needs neither).
    """
    if by not in BY:
        raise ValueError(by)
    counted = count_tickets or by in RANKINGS  # the small-sample rule needs them
    per_unit = queries.counts(period, by)
    tickets = queries.tickets_per_unit(period, by) if counted else {}
    days: dict = {}
    all_days: dict = {s: [] for s in STAGES}
    if stages:
        cal = WorkCalendar.load()
        for stage, rows in queries.stage_rows(period, by).items():
            for unit, started, stopped in rows:
                d = cal.working_days_between(started, stopped)
                days.setdefault(unit, {}).setdefault(stage, []).append(d)
                all_days[stage].append(d)

    # Totals add up the units' counts; tickets are counted again, as one spans several weeks.
    every = tickets if by == "total" or not counted else queries.tickets_per_unit(period, "total")
    total = {"unit": "total", "label": str(_l("Total")), "tickets": every.get(0, 0) if counted else None}
    for counts in per_unit.values():
        for f, n in counts.items():
            total[f] = total.get(f, 0) + n
    total = _finish(total, all_days)

    rows, hidden = [], 0
    if by in ("week", "month"):
        for i, bucket in enumerate(period.buckets(by)):
            row = {"unit": bucket.key, "label": bucket.key, "tickets": tickets.get(i, 0) if counted else None,
                   **per_unit.get(i, {})}
            rows.append(_finish(row, days.get(i, {})))
    elif by in RANKINGS:
        units = set(per_unit) | set(tickets)
        labels = _labels(by, units, locale)
        none_label = str(_l("Not assigned"))
        for unit in units:
            if tickets.get(unit, 0) < MIN_TICKETS:
                hidden += 1
                continue
            row = {"unit": unit, "label": labels.get(unit, none_label), "tickets": tickets[unit],
                   **per_unit.get(unit, {})}
            rows.append(_finish(row, days.get(unit, {})))
        rows.sort(key=lambda r: (r["label"], str(r["unit"])))
    else:
        rows = [total]
    return Report(period, by, rows, total, hidden)


def trend(last_day, weeks: int = 12) -> list[dict]:
    """Weekly totals for the `weeks` weeks ending with the week of `last_day` (no stage times)."""
    return compute(trend_period(last_day, weeks), "week", stages=False, count_tickets=False).rows
