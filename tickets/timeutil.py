"""The one clock every service reads.

Times are stored as naive UTC datetimes (the same bytes on SQLite and
PostgreSQL); Asia/Shanghai is only for display and for working days.
The demo seeder and the tests move the clock with `frozen`.

BIHUAN_FROZEN_NOW (environment, ISO 8601, UTC unless it names an offset, e.g.
"2026-11-28T01:00:00Z"): when set, `now()` returns that fixed time in this
process (unless `frozen`/`set_now` set another). For demos and for tests that
start a CLI or worker process "at" a given moment; never set it in production.

BIHUAN_CLOCK_OFFSET (environment, seconds, may be negative): `now()` is the
system clock moved by that much, still running. The tests start every process
of a run (the test process, a Celery worker, a CLI) with the same offset, so
that they agree with each other on a known date whatever the hour of the
machine; production refuses it too.
"""
from __future__ import annotations

import contextlib
import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The clocks set in this process, innermost last: a datetime stands still, a timedelta
# is an offset to the running system clock.
_frozen: list[datetime | timedelta] = []


def _system() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def now() -> datetime:
    """Current time as naive UTC, or the frozen (or offset) time while one is set."""
    if _frozen:
        top = _frozen[-1]
        return _system() + top if isinstance(top, timedelta) else top
    env = os.environ.get("BIHUAN_FROZEN_NOW")
    if env:
        return _parse_frozen(env)
    offset = os.environ.get("BIHUAN_CLOCK_OFFSET")
    if offset:
        return _system() + timedelta(seconds=float(offset))
    return _system()


def _parse_frozen(value: str) -> datetime:
    at = datetime.fromisoformat(value.strip())
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at


@contextlib.contextmanager
def frozen(at: datetime):
    """Run a block as if it were `at` (naive UTC)."""
    _frozen.append(at)
    try:
        yield
    finally:
        _frozen.pop()


def set_now(at: datetime | None, running: bool = False) -> None:
    """Move the clock for the rest of the process (demo seeding, tests).

    running=True: the clock reads `at` now and then runs on with the system clock
    (a live server in a test, where time must pass but the date must be known).
    """
    _frozen.clear()
    if at is not None:
        _frozen.append(at - _system() if running else at)


def set_offset(offset: timedelta | None) -> None:
    """Run the clock `offset` ahead of (or behind) the system clock; None: the system clock."""
    _frozen.clear()
    if offset is not None:
        _frozen.append(offset)


def clock_offset() -> timedelta | None:
    """The offset of a running clock set with set_now(..., running=True), for a child process."""
    top = _frozen[-1] if _frozen else None
    return top if isinstance(top, timedelta) else None


def local_today():
    """Today's date in Asia/Shanghai, by the service clock: the date users mean by "today"."""
    return to_local(now()).date()


def to_local(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=timezone.utc).astimezone(SHANGHAI)


def from_local(local: datetime) -> datetime:
    """A Shanghai wall-clock time (naive or aware) as naive UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=SHANGHAI)
    return local.astimezone(timezone.utc).replace(tzinfo=None)
