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
}
