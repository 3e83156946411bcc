"""No task outlives Redis's visibility timeout: hard limits below it, long work in chunks.

A task still running when the visibility timeout passes is handed to a second worker.
So every task's hard time limit stays below it, and the two that may take hours on a
big database (verify_record, compute_daily_digest) work a chunk of tickets per task
and queue themselves for the rest; a chunk run twice counts nothing twice.
"""
from __future__ import annotations

import re

from datetime import date

import pytest
from celery import Celery
from sqlalchemy import text

from config import TestingConfig
from tickets import create_app
from tickets.audit import verify_all
from tickets.extensions import db
from tickets.models import AuditRun, DigestPart, User
from tickets.services import digest as digest_service
from tickets.services import verify_runs

from .conftest import accept, file_request

TICKETS = 7


def worker_celery(app) -> Celery:
    """A Celery app configured as the worker's (worker/celery_app.py), without becoming the default."""
    import worker.tasks  # noqa: F401  (registers the shared tasks)

    celery = Celery("limits", set_as_current=False)
    celery.config_from_object(app.config["CELERY"])
    return celery


def test_every_task_hard_limit_is_below_the_visibility_timeout(app):
    celery = worker_celery(app)
    visibility = celery.conf.broker_transport_options["visibility_timeout"]
    tasks = {name: t for name, t in celery.tasks.items() if name.startswith("worker.tasks.")}
    assert {"worker.tasks.verify_record", "worker.tasks.compute_daily_digest", "worker.tasks.deliver"} <= set(tasks)
    for name, task in tasks.items():
        hard = task.time_limit or celery.conf.task_time_limit  # a task's own limit overrides the default
        soft = task.soft_time_limit or celery.conf.task_soft_time_limit
        assert hard and hard < visibility, f"{name}: hard limit {hard} s, visibility timeout {visibility} s"
        assert soft < hard, name
    # A chunk of the long tasks stops taking tickets well inside the hard limit.
    assert app.config["CHUNK_SECONDS"] * 2 <= celery.conf.task_time_limit


def test_a_hard_limit_not_below_the_visibility_timeout_refuses_to_start():
    class Cfg(TestingConfig):
        CELERY = dict(TestingConfig.CELERY, task_time_limit=900)

    with pytest.raises(RuntimeError, match="must be below CELERY_VISIBILITY_TIMEOUT"):
        create_app(Cfg)


# --- chunks ------------------------------------------------------------------------------


@pytest.fixture
def record(app, park, clock):
    clock(2026, 11, 2, 9)
    numbers = []
    for i in range(TICKETS):
        t = file_request(park, title=f"问题 {i}")
        if i % 2:
            accept(park, t)
        numbers.append(t.number)
    db.session.commit()
    app.config["CHUNK_TICKETS"] = 2  # four chunks for seven tickets
    return numbers


class Queue:
    """Stands in for the broker: what a task queued with .delay(), delivered by hand."""

    def __init__(self, monkeypatch, task):
        self.task, self.sent = task, []
        monkeypatch.setattr(task, "delay", lambda *args: self.sent.append(args))

    def drain(self, twice: bool = False) -> int:
        delivered = 0
        while self.sent:
            args = self.sent.pop(0)
            for _ in range(2 if twice else 1):  # a redelivery: the same message again
                self.task.run(*args)
                delivered += 1
        return delivered


def chunked_run(monkeypatch, twice: bool = False) -> tuple[AuditRun, int]:
    from worker.tasks import verify_record

    queue = Queue(monkeypatch, verify_record)
    # A request queued as an inspector's "run now" queues one on a large record.
    db.session.add(AuditRun(source="request", status="requested", requested_at=verify_runs.now()))
    db.session.commit()
    run_id = verify_record.run()
    chunks = 1 + queue.drain(twice)
    db.session.expire_all()
    return db.session.get(AuditRun, run_id), chunks


@pytest.mark.parametrize("twice", [False, True])
def test_chunked_verification_gives_the_verdict_of_one_pass(app, record, monkeypatch, twice):
    run, chunks = chunked_run(monkeypatch, twice)
    assert chunks >= 4
    assert (run.status, run.tickets_checked, run.broken_count, run.breaks) == ("done", TICKETS, 0, "[]")
    assert verify_all() == (TICKETS, [])


def test_tampered_event_in_a_later_chunk_is_found(app, record, monkeypatch):
    last = record[-1]
    db.session.execute(text("UPDATE events SET details = '{}' WHERE seq = 1 AND ticket_id = "
                            "(SELECT id FROM tickets WHERE number = :n)"), {"n": last})
    db.session.commit()
    run, chunks = chunked_run(monkeypatch)
    one_pass = verify_all()
    assert chunks >= 4 and run.status == "done"
    assert (run.tickets_checked, run.broken_count) == (one_pass[0], len(one_pass[1])) == (TICKETS, 1)
    assert [(b["number"], b["seq"], b["problem"]) for b in digest_service.run_breaks(run)] == [
        (b.ticket_number, b.seq, b.problem) for b in one_pass[1]] == [(last, 1, "content does not match its HMAC")]


def test_a_run_whose_next_chunk_was_lost_is_taken_over_by_the_beat(app, record, monkeypatch, clock):
    from worker.tasks import verify_record

    queue = Queue(monkeypatch, verify_record)
    db.session.add(AuditRun(source="request", status="requested", requested_at=verify_runs.now()))
    db.session.commit()
    run_id = verify_record.run()
    queue.sent.clear()  # the worker died before its next message reached Redis
    assert verify_record.run() is None  # beat's next minute: the run is not stalled yet
    clock(2026, 11, 2, 10)  # more than two hard time limits later
    assert verify_record.run() == run_id
    queue.drain()
    db.session.expire_all()
    run = db.session.get(AuditRun, run_id)
    assert (run.status, run.tickets_checked, run.broken_count) == ("done", TICKETS, 0)


@pytest.mark.parametrize("twice", [False, True])
def test_chunked_digest_is_the_digest_of_one_pass(app, record, monkeypatch, clock, twice):
    from worker.tasks import compute_daily_digest

    expected = digest_service.compute_digest(date(2026, 11, 2))
    assert expected[1] == TICKETS
    queue = Queue(monkeypatch, compute_daily_digest)
    clock(2026, 11, 3, 1)
    first = compute_daily_digest.run()
    assert first == [] and queue.sent  # a part kept, the rest queued
    assert queue.drain(twice) >= 3
    row = digest_service.kept(date(2026, 11, 2))
    assert (row.digest, row.tickets) == expected
    assert db.session.scalar(db.select(db.func.count(DigestPart.id))) == 0  # the parts are dropped
    assert compute_daily_digest.run() == [] and not queue.sent  # kept once, nothing more to do


def test_two_tasks_on_the_same_chunk_count_it_once(app, record, monkeypatch):
    run_id = verify_runs._start("beat")
    real, raced = verify_runs.verify_batch, []

    def racing(after, limit, ring):
        if not raced:  # the other delivery of the same message does this chunk first
            raced.append(True)
            assert verify_runs.verify_chunk(run_id) is True
        return real(after, limit, ring)

    monkeypatch.setattr(verify_runs, "verify_batch", racing)
    assert verify_runs.verify_chunk(run_id) is False  # its copy of the chunk is not written
    while verify_runs.verify_chunk(run_id):
        pass
    db.session.expire_all()
    run = db.session.get(AuditRun, run_id)
    assert (run.status, run.tickets_checked, run.broken_count) == ("done", TICKETS, 0)


def test_two_tasks_on_the_same_digest_part_keep_it_once(app, record, monkeypatch, clock):
    expected = digest_service.compute_digest(date(2026, 11, 2))
    clock(2026, 11, 3, 1)
    real, raced = digest_service._head_lines_of, []

    def racing(day, after, limit, ring):
        if not raced:
            raced.append(True)
            digest_service._digest_part(day, limit, ring)
        return real(day, after, limit, ring)

    monkeypatch.setattr(digest_service, "_head_lines_of", racing)
    assert [row.day for row in digest_service.keep_due_digests()] == [date(2026, 11, 2)]
    row = digest_service.kept(date(2026, 11, 2))
    assert (row.digest, row.tickets) == expected


def test_the_audit_page_shows_the_progress_of_a_chunked_run(app, record, park, login, monkeypatch):
    from worker.tasks import verify_record

    queue = Queue(monkeypatch, verify_record)
    inspector_id = park.inspector.id
    db.session.add(AuditRun(source="request", status="requested", requested_at=verify_runs.now()))
    db.session.commit()
    verify_record.run()
    assert queue.sent
    html = login(db.session.get(User, inspector_id)).get("/inspect/audit")
    # "2 tickets checked so far" in the reader's language (zh: 目前已校验2件诉求).
    assert re.search(r'data-testid="progress">[^<]*(?<!\d)2(?!\d)', html.get_data(as_text=True))
