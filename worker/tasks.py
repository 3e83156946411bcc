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
    """Claim every due outbox row and hand it to a `deliver` task on its channel's queue.

    The claim is this relay's alone (tickets/services/outbox.py): a second relay running at the same
    moment claims other rows or none. Rows Redis did not take are given back for the next relay.
    """
    from tickets.services.outbox import claim_due, release

    claims = claim_due()
    for n, claim in enumerate(claims):
        try:
            deliver.apply_async((claim.id, claim.token), queue=claim.channel)
        except Exception:  # broker down mid-way: give the rest back for the next relay
            logger.exception("publishing outbox rows failed; %d given back", len(claims) - n)
            release(claims[n:])
            raise
    return len(claims)


@shared_task(ignore_result=True)
def deliver(outbox_id: int, claim: str | None = None) -> str:
    """Deliver one outbox row on its channel, if `claim` still holds it."""
    from tickets.services.outbox import deliver as deliver_row

    return deliver_row(outbox_id, claim)


@shared_task(ignore_result=True)
def build_meeting_list() -> str | None:
    """Hourly: build and mail this week's meeting list once its moment has come (unique per week)."""
    from tickets.services.meeting import build_due

    ml = build_due()
    return ml.week if ml is not None else None


# No task sets a time limit of its own: every one keeps the default hard limit, which
# config.py keeps below Redis's visibility timeout (else a second worker would receive
# a task still running). The two long ones work a chunk per task and queue the next.


@shared_task(ignore_result=True)
def verify_record(run_id: int | None = None) -> int | None:
    """Verify a chunk of a run (a queued or stalled run, or the daily one when due); queue the next chunk."""
    from tickets.services.digest import verify_step

    run_id, more = verify_step(run_id)
    if more:
        verify_record.delay(run_id)
    return run_id


@shared_task(ignore_result=True)
def compute_daily_digest() -> list[str]:
    """Compute a chunk of the due digests, keep and mail each one completed (idempotent); queue the rest."""
    from tickets.services.digest import digest_step

    rows, more = digest_step()
    if more:
        compute_daily_digest.delay()
    return [row.day.isoformat() for row in rows]


@shared_task(ignore_result=True)
def sweep_orphan_files() -> list[str]:
    """Remove upload files a crash left behind (temporary, or held by no attachment), an hour on."""
    from tickets.services.orphan_files import sweep_orphan_files as sweep

    removed = sweep()
    if removed:
        logger.info("uploads: removed %d orphan files: %s", len(removed),
                    ", ".join(f"{r.name} ({r.why})" for r in removed))
    return [r.name for r in removed]
