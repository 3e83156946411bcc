"""The rates (DESIGN.md, Measures): each measure with its numerator and denominator, per unit.

`compute(period, by)` is what the dashboard, the CLI report, the exports and the weekly
meeting list read: one set of figures everywhere.
"""
from .period import Bucket, Period, month_of, parse_period, today, trend_period, week_of
from .report import (BY, MEASURES, MIN_DENOMINATOR, RANKINGS, STAGES, Measure, Report, compute, figure, rate,
                     trend)

__all__ = ["BY", "MEASURES", "MIN_DENOMINATOR", "RANKINGS", "STAGES", "Bucket", "Measure", "Period", "Report",
           "compute", "figure", "month_of", "parse_period", "rate", "today", "trend", "trend_period", "week_of"]
