"""Checks of the record: verification runs for the audit page, and the daily digest.

Verification (`tickets.audit.verify_all`) is run by beat once a day, by
`flask --app wsgi audit verify`, and by an inspector's "run now"; each run is
kept as an AuditRun row, so the audit page reads the last outcome instead of
checking every chain on a page view.

The daily digest (DESIGN.md, The record): for every ticket, its chain head at
the end of a Shanghai day, recomputed from the events' content with the key
(never read from the stored hash columns), then one SHA-256 over the sorted
lines "number:seq:hash\\n". Kept, mailed to the inspectors and printed on the
weekly meeting list, it catches a rewrite even by someone holding the key:
`flask --app wsgi audit digest --date D` recomputes day D and compares.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import and_, func, or_
from sqlalchemy.exc import IntegrityError

from ..audit import GENESIS, Break, canonical_json, event_hash, keyring, verify_all
from ..extensions import db
from ..models import AuditRun, DailyDigest, Event, Ticket
from ..timeutil import from_local, now, to_local
from . import notify

# --- verification runs ------------------------------------------------------------------


def _breaks_json(breaks: list[Break]) -> str:
    return canonical_json([{"number": b.ticket_number, "seq": b.seq, "event_id": b.event_id,
                            "problem": b.problem} for b in breaks])


def run_verify(source: str, run_id: int | None = None, requested_by_id: int | None = None) -> AuditRun:
    """Verify every chain now and keep the outcome (in a claimed request's row, or a new one).

    The row is written as "running" first, so the beat's next poll sees a run under way.
    """
    run = db.session.get(AuditRun, run_id) if run_id else None
    if run is None:
        run = AuditRun(source=source, requested_by_id=requested_by_id, requested_at=now())
        db.session.add(run)
    run.status, run.started_at = "running", now()
    db.session.commit()
    run_id = run.id
    # verify_all expunges the session batch by batch; put back what the caller holds
    # (the signed-in user of a page request, say), so it stays usable afterwards.
    held = list(db.session.identity_map.values())
    checked, breaks = verify_all()
    for obj in held:
        if obj not in db.session:
            db.session.add(obj)
    run = db.session.get(AuditRun, run_id)
    run.status, run.finished_at = "done", now()
    run.tickets_checked, run.broken_count, run.breaks = checked, len(breaks), _breaks_json(breaks)
    db.session.commit()
    return run


def record_run(source: str, started_at: datetime, checked: int, breaks: list[Break]) -> AuditRun:
    """Keep the outcome of a verification run by someone else (the CLI)."""
    run = AuditRun(source=source, status="done", requested_at=started_at, started_at=started_at,
                   finished_at=now(), tickets_checked=checked, broken_count=len(breaks),
                   breaks=_breaks_json(breaks))
    db.session.add(run)
    db.session.commit()
    return run


def last_run() -> AuditRun | None:
    return db.session.scalar(db.select(AuditRun).where(AuditRun.status == "done")
                             .order_by(AuditRun.finished_at.desc(), AuditRun.id.desc()).limit(1))


def pending_run() -> AuditRun | None:
    return db.session.scalar(db.select(AuditRun).where(AuditRun.status.in_(("requested", "running")))
                             .order_by(AuditRun.id).limit(1))


def inline_limit() -> int:
    return int(current_app.config.get("AUDIT_INLINE_LIMIT", 5000))


def run_now(user_id: int) -> tuple[str, AuditRun]:
    """An inspector's "run now": inline up to AUDIT_INLINE_LIMIT tickets, else queued for the worker.

    Returns ("done", run) or ("queued", request row).
    """
    total = db.session.scalar(db.select(func.count(Ticket.id))) or 0
    if total <= inline_limit():
        return "done", run_verify("page", requested_by_id=user_id)
    existing = pending_run()
    if existing is not None:
        return "queued", existing
    req = AuditRun(source="request", status="requested", requested_by_id=user_id, requested_at=now())
    db.session.add(req)
    db.session.commit()
    return "queued", req


def _claim_request() -> int | None:
    """Take the oldest queued request, atomically: two workers never both run it."""
    run_id = db.session.scalar(db.select(AuditRun.id).where(AuditRun.status == "requested")
                               .order_by(AuditRun.id).limit(1))
    if run_id is None:
        return None
    taken = db.session.execute(db.update(AuditRun).where(AuditRun.id == run_id, AuditRun.status == "requested")
                               .values(status="running", started_at=now())).rowcount
    db.session.commit()
    return run_id if taken else None


RUN_STALE_AFTER = timedelta(hours=6)


def daily_run_due(at: datetime | None = None) -> bool:
    """True once today's AUDIT_VERIFY_HOUR (Shanghai) has come and no run has started since.

    A run still "running" counts as started unless it is older than RUN_STALE_AFTER
    (its worker died); the page's and the CLI's runs count too.
    """
    at = at or now()
    hour = int(current_app.config.get("AUDIT_VERIFY_HOUR", 2))
    mark = from_local(datetime.combine(to_local(at).date(), time(hour)))
    if at < mark:
        return False
    started = db.session.scalar(db.select(AuditRun.id).where(
        AuditRun.started_at >= mark,
        or_(AuditRun.status == "done",
            and_(AuditRun.status == "running", AuditRun.started_at > at - RUN_STALE_AFTER))).limit(1))
    return started is None


def verify_if_due() -> AuditRun | None:
    """The beat task: a queued request first, else the daily run when it is due; else nothing."""
    run_id = _claim_request()
    if run_id is not None:
        return run_verify("request", run_id=run_id)
    if daily_run_due():
        return run_verify("beat")
    return None


def run_breaks(run: AuditRun) -> list[dict]:
    return json.loads(run.breaks or "[]")


# --- the daily digest --------------------------------------------------------------------


def day_end(day: date) -> datetime:
    """The next midnight in Shanghai after `day`, as naive UTC: events before it belong to `day`."""
    return from_local(datetime.combine(day + timedelta(days=1), time(0)))


def yesterday(at: datetime | None = None) -> date:
    return to_local(at or now()).date() - timedelta(days=1)


def head_lines(day: date, batch: int = 500) -> list[str]:
    """Every ticket's line "number:seq:hash\\n" as of the end of `day`, sorted.

    Each hash is recomputed from the events' content along the chain (each link's
    `prev` is the recomputed hash before it), so a change to any earlier event
    changes the head, whatever the stored hash columns say.
    """
    ring = keyring()
    end = day_end(day)
    lines: list[str] = []
    last_id = 0
    while True:
        numbers = dict(db.session.execute(db.select(Ticket.id, Ticket.number).where(Ticket.id > last_id)
                                          .order_by(Ticket.id).limit(batch)).all())
        if not numbers:
            break
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
        lines += [f"{numbers[tid]}:{seq}:{h}\n" for tid, (seq, h) in heads.items()]
        last_id = ids[-1]
    lines.sort()
    return lines


def compute_digest(day: date) -> tuple[str, int]:
    """(SHA-256 hex over the sorted head lines of `day`, number of tickets with a chain that day)."""
    sha = hashlib.sha256()
    lines = head_lines(day)
    for line in lines:
        sha.update(line.encode("utf-8"))
    return sha.hexdigest(), len(lines)


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
    digest, n = compute_digest(day)
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


def keep_due_digests(at: datetime | None = None) -> list[DailyDigest]:
    """The beat task (hourly, idempotent): keep and mail every digest that is due and missing."""
    return [keep_digest(d)[0] for d in days_due(at)]


def check_digest(day: date) -> tuple[str, DailyDigest | None, str, int]:
    """Recompute `day` and compare: ("match" | "mismatch" | "missing", kept row, recomputed, tickets)."""
    row = kept(day)
    digest, n = compute_digest(day)
    if row is None:
        return "missing", None, digest, n
    return ("match" if row.digest == digest else "mismatch"), row, digest, n
