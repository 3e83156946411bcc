"""The outbox under what production does to it, with real processes, on SQLite and on PostgreSQL:

1. relays piled up while the workers were down run at once, in two worker processes of two pool
   processes each, over 1,000 e-mails: the SMTP server receives every Message-ID exactly once;
2. a worker's main process is SIGKILLed in the middle of a batch: every e-mail still arrives,
   the rows it held come back when their lease ends (well within a minute), and only the
   deliveries it was making at that instant can arrive twice (same Message-ID, counted);
3. a mail server that accepts connections and never answers: in-app notifications, on their own
   queue and worker, keep flowing while every e-mail waits for its timeout.

The rules step by step are in tests/test_outbox_claims.py; this is the same code in the processes
that `make run` and docs/DEPLOY.md start.
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import Counter

import psutil
import pytest

from tests.pg import TempPostgres
from tickets.timeutil import set_offset

from .conftest import CeleryWorker, Delivery, _clean_tables, free_port, wait_for, worker_env_on

LEASE_SECONDS = 10  # at least 3 x SMTP_TIMEOUT (3 s), as config.py requires


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def relay_env(request, tmp_path_factory, redis_server, smtp_server):
    root = tmp_path_factory.mktemp(f"relay-{request.param}")
    server = None
    if request.param == "sqlite":
        uri = f"sqlite:///{root / 'bihuan.db'}"
    else:
        server = TempPostgres().start()
        uri = server.url
    try:
        # Redis gives a dead worker's unacknowledged messages back only after a minute here: what
        # comes back sooner comes back by the outbox's lease.
        with worker_env_on(uri, root, redis_server, smtp_server, OUTBOX_LEASE_SECONDS=LEASE_SECONDS,
                           OUTBOX_MAX_ATTEMPTS=0, CELERY_VISIBILITY_TIMEOUT=60,
                           WEBHOOK_TIMEOUT_SECONDS=3) as env:
            yield env
    finally:
        if server is not None:
            server.stop()


@pytest.fixture
def relay(relay_env, redis_server, smtp_server):
    """A clean outbox, empty Redis and mailbox; the workers each test starts are stopped after it."""
    from tickets.extensions import db
    from tickets.timeutil import set_now

    set_offset(relay_env.offset)
    redis_server.start()
    smtp_server.start()
    redis_server.flush()
    smtp_server.mailbox.clear()
    workers: list[CeleryWorker] = []

    def worker(name: str, concurrency: int = 1, queues: str | None = None, **env) -> CeleryWorker:
        w = CeleryWorker(relay_env.env, relay_env.root / f"{name}.log", concurrency=concurrency,
                         queues=queues, name=name)
        w.start(**env)
        workers.append(w)
        d.worker = d.worker or w  # whose log a timed-out wait shows
        return w

    from worker.celery_app import celery_init_app

    celery = celery_init_app(relay_env.app)  # what the relay of this process publishes with
    with relay_env.app.app_context():
        _clean_tables(db)
        d = Delivery(relay_env, None, redis_server, smtp_server)
        d.celery = celery
        d.start_worker = worker
        try:
            yield d
        finally:
            for w in workers:
                w.stop()
            db.session.remove()
    set_now(None)


def email_rows(d, n: int) -> list[int]:
    """n e-mails owed to the park's coordinators about one real ticket, as filing writes them."""
    from tickets.models import Category, OutboxMessage
    from tickets.services.filing import file_ticket

    firm_user = d.user("firm_user")
    labor = d.db.session.scalar(d.db.select(Category).filter_by(code="labor"))
    ticket = file_ticket(firm_user, firm_id=firm_user.firm_id, category_id=labor.id, title="一千封邮件",
                         description="缺少 30 名操作工", urgency="normal", contact_name="王经理",
                         contact_phone="13800138000")
    model = next(r for r in d.rows(ticket_id=ticket.id) if r.channel == "email")
    d.db.session.execute(d.db.delete(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id))
    recipients = [d.user(name).id for name in ("coordinator", "hr_official", "fin_official", "leader")]
    rows = [{"key": f"bulk:{i}", "channel": "email", "user_id": recipients[i % len(recipients)],
             "ticket_id": ticket.id, "kind": model.kind, "params": model.params, "status": "pending",
             "attempts": 0, "created_at": model.created_at, "next_attempt_at": model.created_at,
             "last_error": "", "claims": 0, "replay_count": 0} for i in range(n)]
    d.db.session.execute(d.db.insert(OutboxMessage), rows)
    d.db.session.commit()
    return [r.id for r in d.rows(OutboxMessage.key.like("bulk:%"))]


def received_ids(d) -> Counter:
    return Counter(m["Message-ID"] for m in d.smtp.messages())


def sent_count(d, ids) -> int:
    from tickets.models import OutboxMessage

    d.db.session.rollback()
    return d.db.session.scalar(d.db.select(d.db.func.count()).where(OutboxMessage.id.in_(ids),
                                                                     OutboxMessage.status == "sent"))


def test_relays_piled_up_while_the_workers_were_down_send_each_of_1000_emails_once(relay):
    from tickets.models import OutboxMessage

    d = relay
    ids = email_rows(d, 1000)
    # The workers are down and beat goes on queueing a relay every few seconds: twelve are waiting.
    for _ in range(12):
        d.celery.send_task("worker.tasks.relay_outbox")
    # Two workers of two pool processes come up together, and take the relays at once;
    # this process relays too, as a second beat would.
    workers = [d.start_worker(f"w{n}", concurrency=2) for n in (1, 2)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def another_relay():
        try:
            with d.app.app_context():
                from worker.tasks import relay_outbox

                while not stop.is_set():
                    relay_outbox()
                    time.sleep(0.05)
                d.db.session.remove()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=another_relay)
    thread.start()
    try:
        wait_for(lambda: sent_count(d, ids) == len(ids), 240, "1,000 e-mails to be sent", interval=0.5)
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    # Each relay task ran in a pool process; several ran at the same moment.
    relays = sum(w.log().count("Task worker.tasks.relay_outbox") for w in workers)
    assert relays >= 12, relays
    rows = d.rows(OutboxMessage.id.in_(ids))
    assert all(r.status == "sent" and r.attempts == 1 and r.claims == 1 for r in rows), \
        Counter((r.status, r.attempts, r.claims) for r in rows)
    time.sleep(1)  # anything sent twice would be arriving now
    seen = received_ids(d)
    expected = {f"<{r.key.replace(':', '.')}@bihuan>" for r in rows}
    assert set(seen) == expected and len(expected) == 1000
    assert [mid for mid, n in seen.items() if n > 1] == []
    assert sum(seen.values()) == 1000


def test_a_worker_killed_mid_batch_loses_no_email(relay):
    from tickets.models import OutboxMessage
    from worker.tasks import relay_outbox

    d = relay
    ids = email_rows(d, 300)
    # Its deliveries pause a moment between sending and recording, as a slow database would.
    first = d.start_worker("doomed", concurrency=2, DELIVERY_TEST_DELAY_SECONDS="0.3")
    assert relay_outbox() == 300
    wait_for(lambda: sum(received_ids(d).values()) >= 20, 60, "the batch to be under way")
    # The main process is SIGKILLed mid-batch, then its two pool processes, as an OOM kill of the
    # machine's worker does: what they had sent and not yet recorded is held by a dead worker.
    pool = [psutil.Process(pid) for pid in first.pool_pids()]
    os.kill(first.proc.pid, signal.SIGKILL)
    for p in pool:
        p.kill()
    killed_at = time.monotonic()
    first.proc.wait(10)
    psutil.wait_procs(pool, timeout=10)
    pending = [r for r in d.rows(OutboxMessage.id.in_(ids)) if r.status == "pending"]
    held = {r.id for r in pending if r.taken_at is not None}  # taken by a delivery that died
    assert 1 <= len(held) <= 2, held

    # Another worker comes up; beat's relay runs every few seconds, as in production.
    d.start_worker("heir", concurrency=2)

    def relayed_all():
        relay_outbox()
        return sent_count(d, ids) == len(ids)

    wait_for(relayed_all, 90, "every e-mail to be sent after the kill", interval=1)
    recovered_in = time.monotonic() - killed_at
    assert recovered_in < 60, recovered_in
    time.sleep(1)
    seen = received_ids(d)
    rows = {r.id: r for r in d.rows(OutboxMessage.id.in_(ids))}
    assert set(seen) == {f"<{r.key.replace(':', '.')}@bihuan>" for r in rows.values()}  # none lost
    assert all(r.status == "sent" for r in rows.values())
    # At least once, and visible: the held rows came back when their lease ended (handed out a
    # second time) and were sent again, with the same Message-ID; only they can have arrived twice
    # (one killed before it reached the mail server arrives once), every other e-mail arrived once.
    assert all(rows[i].claims == 2 for i in held)
    twice = {mid for mid, n in seen.items() if n > 1}
    assert twice <= {f"<{rows[i].key.replace(':', '.')}@bihuan>" for i in held}
    assert max(seen.values()) <= 2


class HungSmtp:
    """Accepts connections and never says a word: a mail server that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", free_port()))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_a_hung_mail_server_does_not_hold_up_in_app_notifications(relay):
    from tickets.models import OutboxMessage
    from worker.tasks import relay_outbox

    d = relay
    hung = HungSmtp()
    try:
        # The deployment of docs/DEPLOY.md: one worker for the scheduled work and in-app, one for e-mail.
        d.start_worker("main", queues="celery,inapp", SMTP_PORT=str(hung.port))
        d.start_worker("mail", queues="email", SMTP_PORT=str(hung.port))
        email_ids = email_rows(d, 5)
        d.user("coord2").active = True
        d.db.session.commit()
        from .test_delivery import file_request

        tickets = [file_request(d, title=f"邮件服务器挂起 {n}") for n in range(5)]
        inapp = [r.id for t in tickets for r in d.rows(ticket_id=t.id) if r.channel == "inapp"]
        email_ids += [r.id for t in tickets for r in d.rows(ticket_id=t.id) if r.channel == "email"]
        assert len(inapp) == 10 and len(email_ids) == 15
        started = time.monotonic()
        relay_outbox()
        # Every in-app notification arrives while the first e-mail is still waiting on the hung server
        # (SMTP_TIMEOUT is 3 s; fifteen e-mails in one queue would hold a shared worker for 45 s).
        d.wait_done(inapp, timeout=20)
        took = time.monotonic() - started
        mail = d.rows(OutboxMessage.id.in_(email_ids))
        assert sum(r.status == "sent" for r in mail) == 0
        assert sum(r.attempts > 0 for r in mail) <= 1 + int(took / 3), (took, [r.attempts for r in mail])
        assert len(d.notifications()) == 10
        # The e-mails time out, one by one, and wait to be tried again; the reason is on the row.
        wait_for(lambda: any("timed out" in r.last_error for r in d.rows(OutboxMessage.id.in_(email_ids))),
                 20, "an e-mail to time out")
    finally:
        hung.close()
