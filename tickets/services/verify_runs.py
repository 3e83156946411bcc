"""Verification runs: every chain and attachment checked, the outcome kept as an AuditRun row.

Run by beat once a day, by an inspector's "run now" (inline for a small record,
else queued for the worker), and by `flask --app wsgi audit verify`; the audit
page reads the last outcome instead of checking every chain on a page view.

On a big database a run takes hours, longer than Redis's visibility timeout, so
the worker never runs it in one task: each task verifies one chunk of tickets by
id (CHUNK_TICKETS, CHUNK_SECONDS), records the cursor on the run and queues
itself for the next. A chunk writes its progress only if the cursor is still
where it started, so a task delivered twice never counts a ticket twice; a run
whose progress stops (its worker died, the next message was lost) is taken over
by the beat's next poll.
"""
from __future__ import annotations

import json
import time as monotonic_time
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_

from ..audit import Break, canonical_json, keyring, verify_batch
from ..extensions import db
from ..models import AuditRun, Ticket
from ..timeutil import from_local, now, to_local

# Tickets per query inside a chunk; and at most this many breaks are listed on a run (all are counted).
BATCH = 500
MAX_LISTED_BREAKS = 1000


def _as_dicts(breaks: list[Break]) -> list[dict]:
    return [{"number": b.ticket_number, "seq": b.seq, "event_id": b.event_id, "problem": b.problem} for b in breaks]


def run_breaks(run: AuditRun) -> list[dict]:
    return json.loads(run.breaks or "[]")


def _lease() -> timedelta:
    """How long a running run may go without progress before another task takes it over:
    twice the hard time limit, after which the task that had it is surely dead."""
    return timedelta(seconds=2 * current_app.config["CELERY"]["task_time_limit"])


def verify_chunk(run_id: int) -> bool:
    """Verify the next chunk of a running run and record its progress; True while tickets remain."""
    run = db.session.get(AuditRun, run_id)
    if run is None or run.status != "running":
        return False  # finished, or a stray duplicate
    start, checked_before, broken_before, listed = run.cursor, run.tickets_checked, run.broken_count, run_breaks(run)
    max_tickets, seconds = int(current_app.config["CHUNK_TICKETS"]), float(current_app.config["CHUNK_SECONDS"])
    deadline = monotonic_time.monotonic() + seconds
    ring = keyring()
    # verify_batch expunges the session batch by batch; put back what the caller holds
    # (the signed-in user of a page request, say), so it stays usable afterwards.
    held = list(db.session.identity_map.values())
    cursor, checked, breaks, finished = start, 0, [], False
    while checked < max_tickets and monotonic_time.monotonic() < deadline:
        n, found, last = verify_batch(cursor, min(BATCH, max_tickets - checked), ring)
        if last is None:
            finished = True
            break
        cursor, checked = last, checked + n
        breaks.extend(found)
    for obj in held:
        if obj not in db.session:
            db.session.add(obj)
    values = dict(cursor=cursor, tickets_checked=checked_before + checked, broken_count=broken_before + len(breaks),
                  breaks=canonical_json((listed + _as_dicts(breaks))[:MAX_LISTED_BREAKS]), progress_at=now())
    if finished:
        values.update(status="done", finished_at=now())
    taken = db.session.execute(db.update(AuditRun).where(AuditRun.id == run_id, AuditRun.status == "running",
                                                         AuditRun.cursor == start).values(**values)).rowcount
    db.session.commit()
    return bool(taken) and not finished


def _start(source: str, requested_by_id: int | None = None) -> int:
    run = AuditRun(source=source, requested_by_id=requested_by_id, requested_at=now(), status="running",
                   started_at=now(), progress_at=now(), cursor=0)
    db.session.add(run)
    db.session.commit()
    return run.id


def _claim_request() -> int | None:
    """Take the oldest queued request, atomically: two workers never both run it."""
    run_id = db.session.scalar(db.select(AuditRun.id).where(AuditRun.status == "requested")
                               .order_by(AuditRun.id).limit(1))
    if run_id is None:
        return None
    taken = db.session.execute(db.update(AuditRun).where(AuditRun.id == run_id, AuditRun.status == "requested")
                               .values(status="running", started_at=now(), progress_at=now(), cursor=0)).rowcount
    db.session.commit()
    return run_id if taken else None


def _take_over_stalled() -> int | None:
    """A running run without progress for longer than the lease, taken over atomically."""
    cutoff = now() - _lease()
    run = db.session.scalar(db.select(AuditRun).where(
        AuditRun.status == "running", or_(AuditRun.progress_at.is_(None), AuditRun.progress_at < cutoff))
        .order_by(AuditRun.id).limit(1))
    if run is None:
        return None
    same = AuditRun.progress_at.is_(None) if run.progress_at is None else AuditRun.progress_at == run.progress_at
    taken = db.session.execute(db.update(AuditRun).where(AuditRun.id == run.id, same)
                               .values(progress_at=now())).rowcount
    db.session.commit()
    return run.id if taken else None


def daily_run_due(at: datetime | None = None) -> bool:
    """True once today's AUDIT_VERIFY_HOUR (Shanghai) has come and no run has started since.

    A run still running counts as started (a stalled one is taken over, not restarted);
    the page's and the CLI's runs count too.
    """
    at = at or now()
    hour = int(current_app.config.get("AUDIT_VERIFY_HOUR", 2))
    mark = from_local(datetime.combine(to_local(at).date(), time(hour)))
    if at < mark:
        return False
    started = db.session.scalar(db.select(AuditRun.id).where(
        or_(and_(AuditRun.started_at >= mark, AuditRun.status == "done"), AuditRun.status == "running")).limit(1))
    return started is None


def verify_step(run_id: int | None = None) -> tuple[int | None, bool]:
    """One task's share: a chunk of the given run, else of a stalled run, a queued request or the
    daily run when due. Returns (the run's id or None, whether more chunks remain)."""
    if run_id is None:
        run_id = _take_over_stalled() or _claim_request() or (_start("beat") if daily_run_due() else None)
        if run_id is None:
            return None, False
    return run_id, verify_chunk(run_id)


def verify_if_due() -> AuditRun | None:
    """Beat's verification in one go (chunk after chunk); the worker runs it a chunk per task."""
    run_id, more = verify_step()
    while more:
        more = verify_chunk(run_id)
    return db.session.get(AuditRun, run_id) if run_id else None


def run_verify(source: str, requested_by_id: int | None = None) -> AuditRun:
    """Verify every chain now, chunk after chunk, and keep the outcome.

    The row is written as "running" first, so the beat's next poll sees a run under way.
    """
    run_id = _start(source, requested_by_id)
    while verify_chunk(run_id):
        pass
    return db.session.get(AuditRun, run_id)


def record_run(source: str, started_at: datetime, checked: int, breaks: list[Break]) -> AuditRun:
    """Keep the outcome of a verification run by someone else (the CLI)."""
    run = AuditRun(source=source, status="done", requested_at=started_at, started_at=started_at,
                   finished_at=now(), tickets_checked=checked, broken_count=len(breaks),
                   breaks=canonical_json(_as_dicts(breaks)[:MAX_LISTED_BREAKS]))
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
