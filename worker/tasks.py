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


@shared_task(ignore_result=True)
def sweep_deadlines() -> dict:
    """Raise the reminder steps that are due and close expired feedback windows."""
    from tickets.services.sweep import sweep

    counts = sweep()
    if counts:
        logger.info("sweep: %s", counts)
    return counts


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Hand every due outbox row to a `deliver` task; rows Redis did not take are retried."""
    from tickets.services.outbox import due_ids, release

    ids = due_ids()
    for n, outbox_id in enumerate(ids):
        try:
            deliver.delay(outbox_id)
        except Exception:  # broker down mid-way: give the rest back for the next relay
            logger.exception("publishing outbox rows failed; %d given back", len(ids) - n)
            release(ids[n:])
            raise
    return len(ids)


@shared_task(ignore_result=True)
def deliver(outbox_id: int) -> str:
    """Deliver one outbox row on its channel."""
    from tickets.services.outbox import deliver as deliver_row

    return deliver_row(outbox_id)


@shared_task(ignore_result=True)
def build_meeting_list() -> str | None:
    """Hourly: build and mail this week's meeting list once its moment has come (unique per week)."""
    from tickets.services.meeting import build_due

    ml = build_due()
    return ml.week if ml is not None else None


@shared_task(ignore_result=True, time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60)
def verify_record() -> int | None:
    """Verify every chain when an inspector queued a run, or once a day; keeps an AuditRun row."""
    from tickets.services.digest import verify_if_due

    run = verify_if_due()
    if run is None:
        return None
    if run.broken_count:
        logger.warning("audit: %d tickets checked, %d broken", run.tickets_checked, run.broken_count)
    return run.id


@shared_task(ignore_result=True, time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60)
def compute_daily_digest() -> list[str]:
    """Keep and mail yesterday's digest of every chain head if it is not kept yet (idempotent)."""
    from tickets.services.digest import keep_due_digests

    return [row.day.isoformat() for row in keep_due_digests()]


@shared_task(ignore_result=True)
def sweep_orphan_files() -> list[str]:
    """Remove upload files a crash left behind (temporary, or held by no attachment), an hour on."""
    from tickets.services.orphan_files import sweep_orphan_files as sweep

    removed = sweep()
    if removed:
        logger.info("uploads: removed %d orphan files: %s", len(removed),
                    ", ".join(f"{r.name} ({r.why})" for r in removed))
    return [r.name for r in removed]
