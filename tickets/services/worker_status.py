"""What the admin sees of the worker: last sweep, outbox by channel, queue depths, failing deliveries."""
from __future__ import annotations

import json

from flask import current_app
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import OutboxAttempt, OutboxMessage, SweepRun
from ..models.notify import CHANNEL_NAMES
from .outbox import status_counts

# The Celery queues: "celery" for the scheduled work, one per delivery channel (worker/celery_app.py).
QUEUES = ("celery", *CHANNEL_NAMES)
SHOWN = 50  # rows of each list; the counts above them are over the whole outbox


def queue_depths() -> dict[str, int] | None:
    """Messages waiting in each Celery queue, or None when Redis does not answer quickly.

    Pages never wait on Redis: a short socket timeout, and None on any error.
    """
    try:
        import redis

        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=0.5,
                                      socket_connect_timeout=0.5)
        with client.pipeline(transaction=False) as pipe:
            for name in QUEUES:
                pipe.llen(name)
            return dict(zip(QUEUES, map(int, pipe.execute())))
    except Exception:
        return None


def _with_history(stmt):
    """The rows of `stmt`, newest first, with their recipients, tickets and every attempt, in a fixed number of queries."""
    return db.session.scalars(
        stmt.options(selectinload(OutboxMessage.user), selectinload(OutboxMessage.ticket),
                     selectinload(OutboxMessage.subscriber), selectinload(OutboxMessage.attempt_log)
                     .selectinload(OutboxAttempt.user))
        .order_by(OutboxMessage.id.desc()).limit(SHOWN)).all()


def snapshot() -> dict:
    last = db.session.scalar(db.select(SweepRun).order_by(SweepRun.id.desc()).limit(1))
    retrying = db.select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.attempts > 0,
                                              OutboxMessage.last_error != "")
    return {
        "outbox": status_counts(),
        "last_sweep": {"started_at": last.started_at, "finished_at": last.finished_at,
                       "counts": json.loads(last.counts)} if last else None,
        "failed": _with_history(db.select(OutboxMessage).filter_by(status="failed")),
        "retrying": _with_history(retrying),
        "retrying_count": db.session.scalar(db.select(db.func.count()).select_from(retrying.subquery())),
        # Handed out more than once and then sent: a worker died or Redis lost a message; for an
        # e-mail the recipient may have had it twice (with the same Message-ID).
        "redelivered": db.session.scalar(db.select(db.func.count()).where(OutboxMessage.claims > 1,
                                                                          OutboxMessage.status == "sent")),
        "late": db.session.scalar(db.select(db.func.count()).where(OutboxAttempt.outcome == "late")),
        "queue_depths": queue_depths(),
    }
