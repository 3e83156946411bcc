"""Working days and office hours for placing the demo's actions in time.

Days are Shanghai dates on the park's own working calendar (the one the services use);
times are naive UTC, like every time the services store.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from ..timeutil import from_local, to_local
from ..workdays import WorkCalendar

OFFICE_HOURS = ((time(8, 30), time(11, 50)), (time(13, 30), time(17, 40)))
# Firms file, reply and rate from early morning to late evening.
FIRM_HOURS = ((time(7, 50), time(21, 30)),)


class Days:
    def __init__(self, cal: WorkCalendar, end: datetime, rng: random.Random):
        self.cal = cal
        self.end = end
        self.today = to_local(end).date()
        self.rng = rng

    def is_work(self, day: date) -> bool:
        return self.cal.is_workday(day)

    def after(self, day: date, n: int) -> date:
        return day if n <= 0 else self.cal.nth_workday_after(day, n)

    def before(self, day: date, n: int) -> date:
        """The n-th working day strictly before `day` (n >= 1); `day` itself for n = 0."""
        count = 0
        while count < n:
            day -= timedelta(days=1)
            if self.is_work(day):
                count += 1
        return day

    def first_work_from(self, day: date) -> date:
        return day if self.is_work(day) else self.after(day, 1)

    def count(self, a: date, b: date) -> int:
        """Working days in (a, b]."""
        n, day = 0, a
        while day < b:
            day += timedelta(days=1)
            n += self.is_work(day)
        return n

    def workdays(self, a: date, b: date) -> list[date]:
        out, day = [], a
        while day <= b:
            if self.is_work(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    # --- times ------------------------------------------------------------------

    def segments(self, lo: datetime, hi: datetime, hours=OFFICE_HOURS) -> list[tuple[datetime, datetime]]:
        """The parts of (lo, hi) inside the given hours of working days, as UTC intervals."""
        out = []
        day = to_local(lo).date()
        last = to_local(hi).date()
        while day <= last:
            if self.is_work(day):
                for a, b in hours:
                    s = max(lo, from_local(datetime.combine(day, a)))
                    e = min(hi, from_local(datetime.combine(day, b)))
                    if e > s:
                        out.append((s, e))
            day += timedelta(days=1)
        return out

    def pick(self, lo: datetime, hi: datetime, k: int, hours=OFFICE_HOURS) -> list[datetime]:
        """k increasing times strictly inside (lo, hi), in the given hours ([] if there are none)."""
        if k <= 0:
            return []
        lo, hi = lo + timedelta(minutes=2), hi - timedelta(minutes=2)
        segs = self.segments(lo, hi, hours)
        total = sum((e - s).total_seconds() for s, e in segs)
        if total < k:
            return []  # no office hours in the window: the caller does without
        points = sorted(self.rng.uniform(0, total) for _ in range(k))
        out = []
        for p in points:
            for s, e in segs:
                span = (e - s).total_seconds()
                if p <= span:
                    out.append(s + timedelta(seconds=int(p)))
                    break
                p -= span
        # Strictly increasing, whole seconds.
        fixed: list[datetime] = []
        for t in out:
            t = t.replace(microsecond=0)
            if fixed and t <= fixed[-1]:
                t = fixed[-1] + timedelta(seconds=7)
            fixed.append(t)
        return fixed

    def on_day(self, day: date, after: datetime | None, hours=OFFICE_HOURS) -> datetime:
        """A time on `day` in the given hours, after `after` when that is the same day."""
        start = from_local(datetime.combine(day, time(0)))
        stop = from_local(datetime.combine(day + timedelta(days=1), time(0)))
        lo = max(start, after) if after else start
        room = sum((e - s).total_seconds() for s, e in self.segments(lo, stop, hours)) if lo < stop else 0
        if room >= 15 * 60:
            return self.pick(lo, stop, 1, hours)[0]
        # Nothing left in office hours that day: a little after the previous step.
        base = after or from_local(datetime.combine(day, time(9)))
        return (base + timedelta(minutes=self.rng.randrange(6, 40))).replace(microsecond=0)
