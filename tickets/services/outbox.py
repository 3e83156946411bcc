"""The outbox: the relay claims pending rows and hands them to the worker; delivery marks them done.

Exactly once where it can be: a relay claims rows with a conditional update, so two relays never
hand out the same row; a delivery takes the row from its relay's claim and marks it sent only while
it still holds it. At least once, and visible, where it cannot: a worker killed between sending an
e-mail and recording it leaves the row claimed until its lease ends (OUTBOX_LEASE_SECONDS); it is
then handed out again (`claims` > 1), and the second e-mail carries the same Message-ID.

Retries live in the rows (attempts, next_attempt_at, retry_until), never in long Celery
countdowns: a row whose delivery failed is due again after a backoff, for OUTBOX_RETRY_SECONDS,
and every try is a line of OutboxAttempt.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import and_, func, or_

from ..extensions import db
from ..models import Clock, OutboxAttempt, OutboxMessage, ReminderStep
from ..timeutil import now

logger = logging.getLogger(__name__)


class TransientError(Exception):
    """The channel could not deliver now (server down, timeout); try again later."""


class PermanentError(Exception):
    """The channel must not deliver this row at all (an address refused); failed at once, no retry."""


class Claim(NamedTuple):
    """A row handed out by one relay: deliver it with its token, on its channel's queue."""

    id: int
    channel: str
    token: str


def _claimable(at):
    """Pending, due, and held by nobody: never handed out, given back, or its lease ran out.

    A row taken by a delivery is held for OUTBOX_LEASE_SECONDS from the take (a worker that died
    while delivering it); a row handed out and not yet taken, for OUTBOX_QUEUE_LEASE_SECONDS from
    the hand-out (a message that Redis lost), since it may simply be waiting behind a backlog.
    """
    cfg = current_app.config
    lease = timedelta(seconds=cfg["OUTBOX_LEASE_SECONDS"])
    queue_lease = timedelta(seconds=cfg["OUTBOX_QUEUE_LEASE_SECONDS"])
    return and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at,
                or_(OutboxMessage.published_at.is_(None),
                    and_(OutboxMessage.taken_at.is_(None), OutboxMessage.published_at < at - queue_lease),
                    OutboxMessage.taken_at < at - lease))


def claim_due(limit: int = 500) -> list[Claim]:
    """Claim due rows for this relay alone, and return them.

    One conditional UPDATE: it takes only rows that are still claimable when it writes them, so two
    relays at once never take the same row. On PostgreSQL the candidates are locked with SKIP LOCKED
    (two relays take different rows, neither waits) and the condition is checked again on the row's
    latest version; SQLite runs one writer at a time, so the condition sees every earlier claim.
    `published_at` and `taken_at` start the leases: a row that nobody finished is claimable again once
    its lease ends.
    """
    at = now()
    token = secrets.token_hex(16)
    candidates = (db.select(OutboxMessage.id).where(_claimable(at))
                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
                  .with_for_update(skip_locked=True))
    rows = db.session.execute(
        db.update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates), _claimable(at))
        .values(claim=token, published_at=at, taken_at=None, claims=OutboxMessage.claims + 1)
        .returning(OutboxMessage.id, OutboxMessage.channel)
        .execution_options(synchronize_session=False)).all()
    db.session.commit()
    return sorted(Claim(i, channel, token) for i, channel in rows)


def release(claims: list[Claim]) -> None:
    """Give back rows that could not be published (Redis down): the next relay retries them."""
    for token in {c.token for c in claims}:
        db.session.execute(
            db.update(OutboxMessage)
            .where(OutboxMessage.id.in_([c.id for c in claims if c.token == token]), OutboxMessage.claim == token)
            .values(published_at=None, taken_at=None, claim=None).execution_options(synchronize_session=False))
    db.session.commit()


def _stale(row: OutboxMessage) -> bool:
    """A reminder whose clock has since stopped or moved to a new deadline version."""
    if row.step_id is None:
        return False
    step = db.session.get(ReminderStep, row.step_id)
    clock = db.session.get(Clock, step.clock_id)
    return clock.stopped_at is not None or clock.deadline_version != step.deadline_version


def backoff(failures: int) -> timedelta:
    """The wait after the n-th failure in a row: the base, doubling, at most OUTBOX_BACKOFF_MAX_SECONDS."""
    cfg = current_app.config
    return timedelta(seconds=min(cfg["OUTBOX_BACKOFF_SECONDS"] * 2 ** (failures - 1), cfg["OUTBOX_BACKOFF_MAX_SECONDS"]))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _take(outbox_id: int, claim: str | None) -> str | None:
    """Start delivering a claimed row: the claim it is held by now, or None when it is not (or no longer) `claim`'s.

    A message whose relay's claim was taken over by a later relay (its lease ran out while the
    message waited in the queue) finds the row held by the later one, and does nothing. Taking renews
    the lease, so that it runs from the start of the delivery. The same message run again (Celery
    redelivers it when the process running it died, never while it runs: the hard time limit is below
    the visibility timeout, config.py) holds the same claim, and takes over at once.
    A message without a claim (queued before claims existed) takes only an unclaimed row.
    """
    if claim:
        held, mine = OutboxMessage.claim == claim, claim
    else:
        held, mine = OutboxMessage.claim.is_(None), secrets.token_hex(16)
    taken = db.session.execute(
        db.update(OutboxMessage).where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending", held)
        .values(claim=mine, taken_at=now()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return mine if taken else None


def _finish(row_id: int, mine: str, outcome: str, error: str = "", **values) -> bool:
    """Record the outcome, only while this delivery still holds the row; False when it lost it."""
    done = db.session.execute(
        db.update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.claim == mine)
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if not done:
        db.session.rollback()  # an in-app notification written by this delivery goes too: the holder writes it
        error = (f"{'sent' if outcome == 'sent' else 'tried'} after its lease ran out, when the row had been "
                 "handed out again: a duplicate is possible")
        outcome = "late"
        logger.warning("outbox %d: %s", row_id, error)
    db.session.add(OutboxAttempt(outbox_id=row_id, at=now(), outcome=outcome, error=error[:500],
                                 worker=_worker_name()))
    db.session.commit()
    return bool(done)


def _failures_in_window(row_id: int) -> int:
    """Failed tries since the row was last queued again by hand (or ever)."""
    last_requeue = db.session.scalar(
        db.select(func.max(OutboxAttempt.id)).where(OutboxAttempt.outbox_id == row_id,
                                                    OutboxAttempt.outcome == "requeued")) or 0
    return db.session.scalar(
        db.select(func.count()).where(OutboxAttempt.outbox_id == row_id, OutboxAttempt.outcome == "retry",
                                      OutboxAttempt.id > last_requeue)) or 0


def deliver(outbox_id: int, claim: str | None = None) -> str:
    """Deliver one claimed row on its channel: 'sent', 'void', 'retry', 'failed', 'late' or 'skipped'.

    Safe to run twice: only the holder of the claim delivers, and only while it holds it does it mark
    the row done.
    """
    from ..channels import CHANNELS

    mine = _take(outbox_id, claim)
    if mine is None:
        return "skipped"
    row = db.session.get(OutboxMessage, outbox_id, populate_existing=True)
    if _stale(row):
        _finish(row.id, mine, "void", "the deadline moved or the clock stopped",
                status="void", last_error="the deadline moved or the clock stopped", claim=None)
        return "void"
    attempts = row.attempts + 1
    try:
        CHANNELS[row.channel](row)
    except PermanentError as e:
        db.session.flush()
        _finish(row.id, mine, "failed", str(e), status="failed", attempts=attempts, last_error=str(e)[:500],
                published_at=None, taken_at=None, claim=None)
        return "failed"
    except Exception as e:  # TransientError, or a fault of ours: kept, tried again later, and shown
        if not isinstance(e, TransientError):
            logger.exception("outbox %d: delivery on %s failed", outbox_id, row.channel)
            db.session.rollback()
            row = db.session.get(OutboxMessage, outbox_id, populate_existing=True)
        error = str(e) if isinstance(e, TransientError) else f"{type(e).__name__}: {e}"
        at = now()
        until = row.retry_until or at + timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"])
        failures = _failures_in_window(row.id) + 1
        cap = current_app.config["OUTBOX_MAX_ATTEMPTS"]
        give_up = at >= until or (cap and failures >= cap)
        db.session.flush()
        if give_up:
            _finish(row.id, mine, "failed", error, status="failed", attempts=attempts, last_error=error[:500],
                    published_at=None, taken_at=None, claim=None, retry_until=until)
            return "failed"
        _finish(row.id, mine, "retry", error, attempts=attempts, last_error=error[:500], published_at=None,
                taken_at=None, claim=None, retry_until=until, next_attempt_at=min(at + backoff(failures), until))
        return "retry"
    delay = current_app.config.get("DELIVERY_TEST_DELAY_SECONDS") or 0
    if delay:  # test only: a window in which to kill the worker between sending and recording
        logger.info("delivery test delay: outbox %d sent on %s, pid %d sleeps %.1f s",
                    row.id, row.channel, os.getpid(), delay)
        time.sleep(delay)
    db.session.flush()
    if not _finish(row.id, mine, "sent", status="sent", sent_at=now(), attempts=attempts, last_error="",
                   claim=None):
        return "late"
    return "sent"


def retry_failed(ids: list[int] | None = None, channel: str | None = None, by: int | None = None) -> int:
    """Put failed rows back in the queue (the admin's retry button), with a new day of retries.

    Their attempts and history stay: the retry itself is a line of the history, with who pressed it.
    """
    where = [OutboxMessage.status == "failed"]
    if ids:
        where.append(OutboxMessage.id.in_(ids))
    if channel:
        where.append(OutboxMessage.channel == channel)
    at = now()
    requeued = db.session.scalars(
        db.update(OutboxMessage).where(*where)
        .values(status="pending", next_attempt_at=at, published_at=None, taken_at=None, claim=None,
                retry_until=None)
        .returning(OutboxMessage.id).execution_options(synchronize_session=False)).all()
    if requeued:
        db.session.execute(db.insert(OutboxAttempt), [
            {"outbox_id": i, "at": at, "outcome": "requeued", "error": "", "worker": "", "user_id": by}
            for i in requeued])
    db.session.commit()
    return len(requeued)


def status_counts() -> dict[str, dict[str, int]]:
    """{channel: {status: count}} over the whole outbox."""
    out: dict[str, dict[str, int]] = {}
    for channel, status, n in db.session.execute(
            db.select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .group_by(OutboxMessage.channel, OutboxMessage.status)):
        out.setdefault(channel, {})[status] = n
    return out
