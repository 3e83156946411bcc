"""The rates (DESIGN.md, Measures): each measure with its numerator and denominator, per unit.

`compute(period, by)` is what the dashboard, the CLI report and the exports read.
"""
from .period import Bucket, Period, month_of, parse_period, today, trend_period, week_of
from .report import BY, MEASURES, MIN_TICKETS, RANKINGS, STAGES, Measure, Report, compute, rate, trend

__all__ = ["BY", "MEASURES", "MIN_TICKETS", "RANKINGS", "STAGES", "Bucket", "Measure", "Period", "Report",
           "compute", "month_of", "parse_period", "rate", "today", "trend", "trend_period", "week_of"]
