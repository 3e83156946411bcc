"""The one clock every service reads.

Times are stored as naive UTC datetimes (the same bytes on SQLite and
PostgreSQL); Asia/Shanghai is only for display and for working days.
The demo seeder and the tests move the clock with `frozen`.

BIHUAN_FROZEN_NOW (environment, ISO 8601, UTC unless it names an offset, e.g.
"2026-11-28T01:00:00Z"): when set, `now()` returns that fixed time in this
process (unless `frozen`/`set_now` set another). For demos and for tests that
start a CLI or worker process "at" a given moment; never set it in production.
"""
from __future__ import annotations

import contextlib
import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_frozen: list[datetime] = []


def now() -> datetime:
    """Current time as naive UTC, or the frozen time while one is set."""
    if _frozen:
        return _frozen[-1]
    env = os.environ.get("BIHUAN_FROZEN_NOW")
    if env:
        return _parse_frozen(env)
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


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


def set_now(at: datetime | None) -> None:
    """Move the clock for the rest of the process (demo seeding)."""
    _frozen.clear()
    if at is not None:
        _frozen.append(at)


def to_local(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=timezone.utc).astimezone(SHANGHAI)


def from_local(local: datetime) -> datetime:
    """A Shanghai wall-clock time (naive or aware) as naive UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=SHANGHAI)
    return local.astimezone(timezone.utc).replace(tzinfo=None)
