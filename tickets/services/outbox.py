"""The outbox: the relay hands pending rows to the worker; delivery marks them done.

Retries live in the rows (attempts, next_attempt_at), never in long Celery
countdowns: a row whose delivery failed is simply due again later.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_

from ..extensions import db
from ..models import Clock, OutboxMessage, ReminderStep
from ..timeutil import now

logger = logging.getLogger(__name__)


class TransientError(Exception):
    """The channel could not deliver now (server down, timeout); try again later."""


class PermanentError(Exception):
    """The channel must not deliver this row at all (an address refused); failed at once, no retry."""


def due_ids(limit: int = 500) -> list[int]:
    """Claim pending rows that are due and not already handed out, and return their ids.

    `published_at` is a lease: a row handed to Redis that no worker finished is
    handed out again once the lease ends, so a publish that Redis lost is retried.
    """
    at = now()
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    ids = list(db.session.scalars(
        db.select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at,
               or_(OutboxMessage.published_at.is_(None), OutboxMessage.published_at < at - lease))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))
    if ids:
        db.session.execute(db.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=at))
        db.session.commit()
    return ids


def release(ids: list[int]) -> None:
    """Give back rows that could not be published (Redis down): the next relay retries them."""
    if ids:
        db.session.execute(db.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=None))
        db.session.commit()


def _stale(row: OutboxMessage) -> bool:
    """A reminder whose clock has since stopped or moved to a new deadline version."""
    if row.step_id is None:
        return False
    step = db.session.get(ReminderStep, row.step_id)
    clock = db.session.get(Clock, step.clock_id)
    return clock.stopped_at is not None or clock.deadline_version != step.deadline_version


def backoff(attempts: int) -> timedelta:
    base = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 3600))


def deliver(outbox_id: int) -> str:
    """Deliver one row on its channel: 'sent', 'void', 'retry', 'failed' or 'skipped'. Safe to run twice."""
    from ..channels import CHANNELS

    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update())
    if row is None or row.status != "pending":
        db.session.rollback()
        return "skipped"
    if _stale(row):
        row.status, row.last_error = "void", "the deadline moved or the clock stopped"
        db.session.commit()
        return "void"
    try:
        CHANNELS[row.channel](row)
    except PermanentError as e:
        row.attempts += 1
        row.last_error = str(e)[:500]
        row.published_at = None
        row.status = "failed"
        db.session.commit()
        return "failed"
    except TransientError as e:
        row.attempts += 1
        row.last_error = str(e)[:500]
        row.published_at = None
        if row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            row.status = "failed"
            db.session.commit()
            return "failed"
        row.next_attempt_at = now() + backoff(row.attempts)
        db.session.commit()
        return "retry"
    delay = current_app.config.get("DELIVERY_TEST_DELAY_SECONDS") or 0
    if delay:  # test only: a window in which to kill the worker between sending and recording
        logger.info("delivery test delay: outbox %d sent on %s, pid %d sleeps %.1f s",
                    row.id, row.channel, os.getpid(), delay)
        time.sleep(delay)
    row.status, row.sent_at = "sent", now()
    row.attempts += 1
    db.session.commit()
    return "sent"


def retry_failed(ids: list[int] | None = None, channel: str | None = None) -> int:
    """Put failed rows back in the queue (the admin's retry button)."""
    stmt = db.update(OutboxMessage).where(OutboxMessage.status == "failed")
    if ids:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    n = db.session.execute(stmt.values(status="pending", attempts=0, next_attempt_at=now(),
                                       published_at=None, last_error="")).rowcount
    db.session.commit()
    return n


def status_counts() -> dict[str, dict[str, int]]:
    """{channel: {status: count}} over the whole outbox."""
    out: dict[str, dict[str, int]] = {}
    for channel, status, n in db.session.execute(
            db.select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .group_by(OutboxMessage.channel, OutboxMessage.status)):
        out.setdefault(channel, {})[status] = n
    return out
