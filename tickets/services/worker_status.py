"""What the admin sees of the worker: last sweep, outbox by channel, queue depth."""
from __future__ import annotations

import json

from flask import current_app

from ..extensions import db
from ..models import OutboxMessage, SweepRun
from .outbox import status_counts


def queue_depth() -> int | None:
    """Messages waiting in the Celery queue, or None when Redis does not answer quickly.

    Pages never wait on Redis: a short socket timeout, and None on any error.
    """
    try:
        import redis

        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=0.5,
                                      socket_connect_timeout=0.5)
        return int(client.llen("celery"))
    except Exception:
        return None


def snapshot() -> dict:
    last = db.session.scalar(db.select(SweepRun).order_by(SweepRun.id.desc()).limit(1))
    failed = db.session.scalars(
        db.select(OutboxMessage).filter_by(status="failed").order_by(OutboxMessage.id.desc()).limit(50)).all()
    return {
        "outbox": status_counts(),
        "last_sweep": {"started_at": last.started_at, "finished_at": last.finished_at,
                       "counts": json.loads(last.counts)} if last else None,
        "failed": failed,
        "queue_depth": queue_depth(),
    }
