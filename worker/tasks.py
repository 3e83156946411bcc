"""Celery tasks. Thin: they take ids, load rows, call a service, and are safe to run twice."""
from __future__ import annotations

from datetime import datetime, timezone

from celery import shared_task
from celery.utils.log import get_task_logger
from flask import current_app

logger = get_task_logger(__name__)


@shared_task(ignore_result=True)
def heartbeat() -> str:
    """Log that the worker is alive and inside the app context; writes nothing."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    logger.info("heartbeat from %s at %s", current_app.name, now)
    return now
