#!/usr/bin/env python
"""10,000 in-app notifications drained through a real Redis and a real Celery worker.

    .venv/bin/python bench/drain_bench.py --notifications 10000 [--db sqlite|postgres] [--concurrency 2]

Starts `redis-server` on a free port and `celery -A worker.app worker --concurrency 2`
on a fresh database (SQLite file in WAL mode under bench/out/, or a throwaway
PostgreSQL), inserts the outbox rows in bulk, then relays from this process as
beat's relay would (outbox.claim_due(), then send_task("worker.tasks.deliver") for
each), again and again until no row is pending. Prints the rate, and counts
duplicates (Notification rows per key above one) and losses (rows not sent, keys
without a Notification): both must be 0. A script that prints what it measured,
never a timed test.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (OUT, ROOT, Park, RedisServer, Stopwatch, create_schema, database, load,  # noqa: E402
                          machine, make_app, versions)

# A real key (the worker's development config refuses the published test keys), passed to
# the bench app too, so that the bench app and the worker agree.
AUDIT_KEY = secrets.token_hex(32)
OUTCOME = re.compile(r"Task worker\.tasks\.deliver\[[0-9a-f-]+\] (?:succeeded in [0-9.]+s: '(\w+)'|(raised|failed))")


class Worker:
    """`celery -A worker.app worker` in its own process group, its log in bench/out/."""

    def __init__(self, env: dict[str, str], concurrency: int):
        self.env, self.concurrency = env, concurrency
        self.log_path = OUT / "drain-worker.log"
        self.proc = None

    def start(self) -> None:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "worker.app", "worker", "--loglevel=INFO",
             f"--concurrency={self.concurrency}", "--pool=prefork", "-n", "bench@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while not re.search(r"@\S+ ready\.", self.log()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the worker did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def outcomes(self) -> Counter:
        return Counter(m.group(1) or m.group(2) for m in OUTCOME.finditer(self.log()))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def worker_env(url: str, redis_url: str) -> dict[str, str]:
    """The worker's environment: this database and Redis, no SMTP (e-mail would go to files)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SMTP_", "OUTBOX_", "CELERY_", "TEST_", "FLASK_", "BIHUAN_"))}
    env.update({
        "BIHUAN_ENV": "development", "BIHUAN_INSTANCE": str(OUT / "drain-instance"),
        "DATABASE_URL": url, "REDIS_URL": redis_url, "MAIL_DIR": str(OUT / "drain-mail"),
        "UPLOAD_DIR": str(OUT / "drain-uploads"), "AUDIT_KEY": AUDIT_KEY, "SECRET_KEY": secrets.token_hex(32),
        "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
    })
    return env


def insert_outbox(n: int, park: Park) -> None:
    """n pending in-app rows for a few users, in bulk (Core INSERT, executemany in batches)."""
    from tickets.audit import canonical_json
    from tickets.extensions import db
    from tickets.models import OutboxMessage
    from tickets.timeutil import now

    at = now()
    users = [park.coordinator, park.leader, park.inspector, *park.firm_users]
    rows = [{"key": f"bench:{i}:u{users[i % len(users)].id}", "channel": "inapp",
             "user_id": users[i % len(users)].id, "ticket_id": None, "step_id": None, "kind": "filed",
             "params": canonical_json({"number": f"B-{i:07d}", "title": f"Bench notification {i}",
                                       "firm": "Bench Firm 1"}),
             "status": "pending", "attempts": 0, "created_at": at, "next_attempt_at": at,
             "published_at": None, "sent_at": None, "last_error": ""} for i in range(1, n + 1)]
    with db.engine.begin() as conn:
        for i in range(0, n, 5000):
            conn.execute(OutboxMessage.__table__.insert(), rows[i:i + 5000])


def counts(n: int) -> dict:
    from sqlalchemy import func

    from tickets.extensions import db
    from tickets.models import Notification, OutboxMessage

    q = db.session.scalar
    out = {
        "sent": q(db.select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")),
        "not_sent": q(db.select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")),
        "notifications": q(db.select(func.count()).select_from(Notification)),
        "duplicates": q(db.select(func.count()).select_from(
            db.select(Notification.key).group_by(Notification.key).having(func.count() > 1).subquery())),
        "missing": q(db.select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "inapp",
            ~db.select(Notification.id).where(Notification.key == OutboxMessage.key).exists())),
        "strays": q(db.select(func.count()).select_from(Notification).where(
            ~db.select(OutboxMessage.id).where(OutboxMessage.key == Notification.key).exists())),
    }
    db.session.rollback()
    return out


def drain(celery, n: int, timeout: float) -> tuple[float, int, int, int]:
    """Relay until nothing is pending; returns (seconds, publishes, relay rounds, seconds to publish all once)."""
    from sqlalchemy import func

    from tickets.extensions import db
    from tickets.models import OutboxMessage
    from tickets.services.outbox import claim_due

    watch = Stopwatch()
    published, rounds, first_pass = 0, 0, None
    while True:
        ids = claim_due(limit=500)
        rounds += 1
        for claim in ids:
            celery.send_task("worker.tasks.deliver", args=[claim.id, claim.token], queue=claim.channel)
        published += len(ids)
        if first_pass is None and published >= n:
            first_pass = watch()
        pending = db.session.scalar(db.select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status == "pending"))
        db.session.rollback()
        if pending == 0:
            return watch(), published, rounds, first_pass or watch()
        if watch() > timeout:
            raise RuntimeError(f"{pending} rows still pending after {timeout:.0f} s")
        if not ids:
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    redis = RedisServer().start()
    try:
        with database(args.db, f"drain-{args.notifications}.db") as url:
            return run(args, url, redis)
    finally:
        redis.stop()


def run(args, url: str, redis: RedisServer) -> int:
    from tickets.extensions import db
    from worker.celery_app import celery_init_app

    print(f"database: {url.split('@')[-1]}; {versions(url)}; redis-server on port {redis.port}")
    app = make_app(url, REDIS_URL=redis.url, AUDIT_KEY=AUDIT_KEY)
    celery = celery_init_app(app)
    with app.app_context():
        create_schema()
        park = Park()
        watch = Stopwatch()
        insert_outbox(args.notifications, park)
        print(f"inserted {args.notifications:,} pending in-app outbox rows in {watch():.1f} s")
        db.session.remove()

        worker = Worker(worker_env(url, redis.url), args.concurrency)
        watch = Stopwatch()
        worker.start()
        print(f"worker ready in {watch():.1f} s: celery -A worker.app worker --concurrency {args.concurrency}")
        try:
            seconds, published, rounds, first_pass = drain(celery, args.notifications, args.timeout)
        finally:
            worker.stop()
        c = counts(args.notifications)
        outcomes = worker.outcomes()
        locked = worker.log().count("database is locked")
        db.engine.dispose()

    print(f"relay: {published:,} publishes in {rounds} rounds (all rows published once after {first_pass:.1f} s; "
          f"{published - args.notifications:,} re-published after the lease)")
    print(f"worker outcomes: {dict(sorted(outcomes.items()))}; 'database is locked' in the log: {locked}")
    print(f"notifications:       {c['notifications']:,} (outbox rows sent {c['sent']:,} of {args.notifications:,})")
    print(f"seconds:             {seconds:.1f}")
    print(f"per second:          {c['sent'] / seconds:,.0f}")
    print(f"duplicates:          {c['duplicates']} (keys with more than one Notification)")
    print(f"losses:              {c['not_sent'] + c['missing']} (rows not sent {c['not_sent']}, "
          f"keys without a Notification {c['missing']}; Notifications without a row {c['strays']})")
    print(f"load average now:    {load()}")
    ok = (c["duplicates"] == 0 and c["not_sent"] == 0 and c["missing"] == 0 and c["strays"] == 0
          and c["notifications"] == args.notifications)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
