"""Checks of the record: the daily digest (and, from verify_runs, the verification runs).

The daily digest (DESIGN.md, The record): for every ticket, its chain head at
the end of a Shanghai day, recomputed from the events' content with the key
(never read from the stored hash columns), then one SHA-256 over the sorted
lines "number:seq:hash\\n". Kept, mailed to the inspectors and printed on the
weekly meeting list, it catches a rewrite even by someone holding the key:
`flask --app wsgi audit digest --date D` recomputes day D and compares.

The worker computes a day in parts of CHUNK_TICKETS tickets (DigestPart), a task
each, so that no task outlives Redis's visibility timeout on a big database.
"""
from __future__ import annotations

import hashlib
import time as monotonic_time
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from ..audit import GENESIS, Keyring, event_hash, keyring
from ..extensions import db
from ..models import DailyDigest, DigestPart, Event, Ticket
from ..timeutil import from_local, now, to_local
from . import notify

# The verification runs live in verify_runs; the audit page and the tests read them here too.
from .verify_runs import (daily_run_due, inline_limit, last_run, pending_run, record_run,  # noqa: E402,F401
                          run_breaks, run_now, run_verify, verify_if_due, verify_step)

# --- the daily digest --------------------------------------------------------------------


def day_end(day: date) -> datetime:
    """The next midnight in Shanghai after `day`, as naive UTC: events before it belong to `day`."""
    return from_local(datetime.combine(day + timedelta(days=1), time(0)))


def yesterday(at: datetime | None = None) -> date:
    return to_local(at or now()).date() - timedelta(days=1)


def _head_lines_of(day: date, after_id: int, limit: int, ring: Keyring) -> tuple[list[str], int | None, int]:
    """The head lines of up to `limit` tickets with an id above `after_id` (unsorted), the last
    ticket id looked at (None: there was none) and the number of tickets looked at."""
    end = day_end(day)
    numbers = dict(db.session.execute(db.select(Ticket.id, Ticket.number).where(Ticket.id > after_id)
                                      .order_by(Ticket.id).limit(limit)).all())
    if not numbers:
        return [], None, 0
    ids = list(numbers)
    heads: dict[int, tuple[int, str]] = {}
    events = db.session.execute(
        db.select(Event.ticket_id, Event.seq, Event.actor_id, Event.at, Event.action, Event.from_state,
                  Event.to_state, Event.visibility, Event.details, Event.key_id)
        .where(Event.ticket_id.in_(ids), Event.at < end)
        .order_by(Event.ticket_id, Event.seq, Event.id))
    for ev in events:
        prev = heads.get(ev.ticket_id, (0, GENESIS))[1]
        link = SimpleNamespace(seq=ev.seq, prev_hash=prev, actor_id=ev.actor_id, at=ev.at, action=ev.action,
                               from_state=ev.from_state, to_state=ev.to_state, visibility=ev.visibility,
                               details=ev.details)
        key = ring.keys.get(ev.key_id)
        # Under a key nobody here holds the head cannot be recomputed: a marker, so the day mismatches.
        heads[ev.ticket_id] = (ev.seq, event_hash(key, numbers[ev.ticket_id], link) if key is not None
                               else f"unknown-key-{ev.key_id}")
    return [f"{numbers[tid]}:{seq}:{h}\n" for tid, (seq, h) in heads.items()], ids[-1], len(ids)


def head_lines(day: date, batch: int = 500) -> list[str]:
    """Every ticket's line "number:seq:hash\\n" as of the end of `day`, sorted.

    Each hash is recomputed from the events' content along the chain (each link's
    `prev` is the recomputed hash before it), so a change to any earlier event
    changes the head, whatever the stored hash columns say.
    """
    ring = keyring()
    lines: list[str] = []
    last_id: int | None = 0
    while True:
        found, last_id, _n = _head_lines_of(day, last_id, batch, ring)
        if last_id is None:
            break
        lines += found
    lines.sort()
    return lines


def _digest_of(sorted_lines: list[str]) -> tuple[str, int]:
    sha = hashlib.sha256()
    for line in sorted_lines:
        sha.update(line.encode("utf-8"))
    return sha.hexdigest(), len(sorted_lines)


def compute_digest(day: date) -> tuple[str, int]:
    """(SHA-256 hex over the sorted head lines of `day`, number of tickets with a chain that day)."""
    return _digest_of(head_lines(day))


def kept(day: date) -> DailyDigest | None:
    return db.session.scalar(db.select(DailyDigest).where(DailyDigest.day == day))


def latest_digest() -> DailyDigest | None:
    """The most recent kept digest (printed on the weekly meeting list)."""
    return db.session.scalar(db.select(DailyDigest).order_by(DailyDigest.day.desc()).limit(1))


def recent_digests(limit: int = 14) -> list[DailyDigest]:
    return list(db.session.scalars(db.select(DailyDigest).order_by(DailyDigest.day.desc()).limit(limit)))


def keep_digest(day: date, mail: bool = True) -> tuple[DailyDigest, bool]:
    """Compute and keep `day`'s digest unless kept already, and mail it; (row, newly kept)."""
    existing = kept(day)
    if existing is not None:
        return existing, False
    return _keep(day, *compute_digest(day), mail=mail)


def _keep(day: date, digest: str, n: int, mail: bool) -> tuple[DailyDigest, bool]:
    row = DailyDigest(day=day, digest=digest, tickets=n, computed_at=now())
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # another worker kept it first
        db.session.rollback()
        return kept(day), False
    if mail:
        params = {"day": day.isoformat(), "digest": digest, "tickets": n, "title": ""}
        notify.enqueue(notify.users_with_role("inspector"), f"digest:{day.isoformat()}", "digest", None, params)
        row.mailed_at = now()
    db.session.commit()
    return row, True


BACKFILL_DAYS = 7
# A day is digested only this long after its midnight, so that a transaction begun
# before midnight (its events stamped with that day) has committed.
GRACE = timedelta(minutes=10)


def days_due(at: datetime | None = None) -> list[date]:
    """Yesterday, and any day missed since the last kept digest (at most a week back)."""
    last_day = yesterday((at or now()) - GRACE)
    latest = latest_digest()
    first = last_day
    if latest is not None and latest.day < last_day:
        first = max(latest.day + timedelta(days=1), last_day - timedelta(days=BACKFILL_DAYS - 1))
    days, d = [], first
    while d <= last_day:
        if kept(d) is None:
            days.append(d)
        d += timedelta(days=1)
    return days


def _digest_part(day: date, limit: int, ring: Keyring) -> tuple[int, bool]:
    """Compute and keep the next part of `day`'s digest; (tickets looked at, whether the day is complete).

    A part starts where the last one ended; (day, after_id) is unique, so a part that two
    tasks compute at once is kept once and the parts never overlap.
    """
    after = db.session.scalar(db.select(func.max(DigestPart.last_id)).where(DigestPart.day == day)) or 0
    lines, last, n = _head_lines_of(day, after, limit, ring)
    if last is None:
        return 0, True
    try:
        with db.session.begin_nested():
            db.session.add(DigestPart(day=day, after_id=after, last_id=last, lines="".join(lines)))
    except IntegrityError:  # another task kept this part first
        db.session.rollback()
    db.session.commit()
    return n, n < limit


def _finish(day: date) -> tuple[DailyDigest, bool]:
    """Put `day`'s parts together, keep and mail the digest (unless kept already), drop the parts."""
    row, new = kept(day), False
    if row is None:
        parts = db.session.scalars(db.select(DigestPart.lines).where(DigestPart.day == day)
                                   .order_by(DigestPart.after_id)).all()
        lines = sorted(line for text in parts for line in text.splitlines(keepends=True))
        row, new = _keep(day, *_digest_of(lines), mail=True)
    db.session.execute(db.delete(DigestPart).where(DigestPart.day == day))
    db.session.commit()
    return row, new


def digest_step(at: datetime | None = None) -> tuple[list[DailyDigest], bool]:
    """One task's share of the due digests, at most CHUNK_TICKETS tickets and CHUNK_SECONDS;
    returns (the digests it kept, whether work remains for another task)."""
    max_tickets, seconds = int(current_app.config["CHUNK_TICKETS"]), float(current_app.config["CHUNK_SECONDS"])
    deadline = monotonic_time.monotonic() + seconds
    ring, looked_at, rows = keyring(), 0, []
    for day in days_due(at):
        while True:
            if looked_at >= max_tickets or monotonic_time.monotonic() >= deadline:
                return rows, True
            n, complete = _digest_part(day, min(500, max_tickets - looked_at), ring)
            looked_at += n
            if complete:
                row, new = _finish(day)
                rows += [row] if new else []
                break
    return rows, False


def keep_due_digests(at: datetime | None = None) -> list[DailyDigest]:
    """Keep and mail every digest that is due and missing, in one go (the worker: a step per task)."""
    rows, more = digest_step(at)
    while more:
        found, more = digest_step(at)
        rows += found
    return rows


def check_digest(day: date) -> tuple[str, DailyDigest | None, str, int]:
    """Recompute `day` and compare: ("match" | "mismatch" | "missing", kept row, recomputed, tickets)."""
    row = kept(day)
    digest, n = compute_digest(day)
    if row is None:
        return "missing", None, digest, n
    return ("match" if row.digest == digest else "mismatch"), row, digest, n
