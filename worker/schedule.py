"""The beat schedule: periodic work, checked against the database by each task.

Deadlines live in the database; beat only wakes the sweeps that look at them.
"""
BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "worker.tasks.heartbeat",
        "schedule": 60.0,
    },
}
