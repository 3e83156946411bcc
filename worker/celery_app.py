"""Bind a Celery app to a Flask app (the pattern from Flask's Celery guide)."""
from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from kombu import Queue

from tickets.models.notify import CHANNEL_NAMES

from .schedule import BEAT_SCHEDULE

# A queue per delivery channel (the relay puts each row on its channel's), so that a slow mail
# server never holds up in-app notifications; everything else (sweep, relay, digest) is on
# "celery". A worker started without -Q consumes them all; production runs a worker per channel
# (docs/DEPLOY.md): `-Q celery,inapp`, `-Q email`, `-Q webhook`.
DEFAULT_QUEUE = "celery"
CHANNEL_QUEUES = CHANNEL_NAMES


def broker_url(redis_url: str) -> str:
    """The Celery broker URL for a redis-py URL.

    redis-py spells a Unix socket `unix:///path?db=0`, while kombu only knows
    `redis+socket:///path?virtual_host=0`; no single spelling works for both,
    so REDIS_URL keeps the redis-py form and the broker gets this translation.
    """
    if not redis_url.startswith("unix://"):
        return redis_url
    path, _, query = redis_url[len("unix://"):].partition("?")
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    db = params.pop("db", None)
    if db is not None:
        params["virtual_host"] = db
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"redis+socket://{path}" + (f"?{query}" if query else "")


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from app.config["CELERY"]; every task runs in an app context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    config = dict(app.config["CELERY"])
    config["broker_url"] = broker_url(config["broker_url"])
    config.setdefault("beat_schedule", BEAT_SCHEDULE)
    # Tasks are declared with shared_task; importing the module registers them.
    config.setdefault("include", ["worker.tasks"])
    config.setdefault("broker_connection_retry_on_startup", True)
    config.setdefault("task_default_queue", DEFAULT_QUEUE)
    config.setdefault("task_queues", [Queue(name) for name in (DEFAULT_QUEUE, *CHANNEL_QUEUES)])

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(config)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
