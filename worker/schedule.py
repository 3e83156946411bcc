"""The beat schedule: periodic work, checked against the database by each task.

Deadlines live in the database; beat only wakes the sweep that looks at them,
and the relay that hands the outbox to the workers.
"""
import os

BEAT_SCHEDULE = {
    "sweep-deadlines": {
        "task": "worker.tasks.sweep_deadlines",
        "schedule": float(os.environ.get("SWEEP_SECONDS", "60")),
    },
    "relay-outbox": {
        "task": "worker.tasks.relay_outbox",
        "schedule": float(os.environ.get("RELAY_SECONDS", "5")),
    },
    # Checks for a queued "run now" each minute; verifies every chain once a day by itself.
    "verify-record": {
        "task": "worker.tasks.verify_record",
        "schedule": float(os.environ.get("AUDIT_POLL_SECONDS", "60")),
    },
    # Files a crash in the middle of an upload left behind, removed once they are an hour old.
    "sweep-orphan-files": {
        "task": "worker.tasks.sweep_orphan_files",
        "schedule": float(os.environ.get("ORPHAN_SWEEP_SECONDS", "3600")),
    },
    # Hourly and idempotent: keeps and mails yesterday's digest once it is missing.
    "daily-digest": {
        "task": "worker.tasks.compute_daily_digest",
        "schedule": float(os.environ.get("DIGEST_SECONDS", "3600")),
    },
}
# On the hour (Asia/Shanghai, the Celery timezone), so that an 08:00 list is built at 08:00;
# the task itself decides whether this week's meeting list is due (MEETING_WEEKDAY,
# MEETING_HOUR, holidays) and builds it once. MEETING_CHECK_SECONDS overrides, for tests.
from celery.schedules import crontab  # noqa: E402

BEAT_SCHEDULE["build-meeting-list"] = {
    "task": "worker.tasks.build_meeting_list",
    "schedule": (float(os.environ["MEETING_CHECK_SECONDS"]) if os.environ.get("MEETING_CHECK_SECONDS")
                 else crontab(minute=0)),
}
