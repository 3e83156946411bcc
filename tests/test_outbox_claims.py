"""The relay's claims, on SQLite and on a real PostgreSQL: a row is handed out by one relay,
delivered by the holder of its claim, marked done only while that claim holds; failures are
retried for a day with backoff, and every try stays in the row's history, across an admin's retry.

The processes of a real deployment (two relays, two workers, a real SMTP server) are in
tests/integration/test_relay_processes.py; these are the same rules, step by step.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tickets.extensions import db
from tickets.models import Notification, OutboxAttempt, OutboxMessage
from tickets.services import outbox
from tickets.services.outbox import TransientError, claim_due, deliver, retry_failed
from tickets.timeutil import now, set_now

from .conftest import Park, app_on


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'outbox.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with app_on(url, tmp_path) as app:
        yield app


@pytest.fixture
def park(app):
    return Park()


def add_rows(park, n: int, channel: str = "inapp") -> list[int]:
    """n pending rows owed to the coordinator, due now."""
    rows = [OutboxMessage(key=f"test:{i}", channel=channel, user_id=park.coordinator.id, kind="filed",
                          params="{}", created_at=now(), next_attempt_at=now()) for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def fresh(row_id: int) -> OutboxMessage:
    db.session.rollback()
    return db.session.get(OutboxMessage, row_id, populate_existing=True)


def later(seconds: float) -> None:
    set_now(now() + timedelta(seconds=seconds))


# --------------------------------------------------------------------------- claims

def test_a_claimed_row_is_no_other_relays_until_its_lease_ends(app, park):
    [row_id] = add_rows(park, 1)
    [first] = claim_due()
    assert first.id == row_id and first.channel == "inapp"
    assert claim_due() == []  # a second relay, a moment later: nothing to hand out
    # Waiting in the queue (behind a backlog, say): held for the long lease of a queued row.
    later(app.config["OUTBOX_QUEUE_LEASE_SECONDS"] - 1)
    assert claim_due() == []
    later(2)  # Redis lost the message: handed out again
    [second] = claim_due()
    assert second.id == row_id and second.token != first.token
    assert fresh(row_id).claims == 2
    # The first relay's message, should it still arrive, does nothing; the second delivers.
    assert deliver(row_id, first.token) == "skipped"
    assert deliver(row_id, second.token) == "sent"
    assert deliver(row_id, second.token) == "skipped"
    row = fresh(row_id)
    assert (row.status, row.attempts, row.claim) == ("sent", 1, None)
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 1


def test_a_row_whose_delivery_died_comes_back_after_the_short_lease(app, park):
    [row_id] = add_rows(park, 1)
    [first] = claim_due()
    # A delivery takes it, and its worker dies before it records anything.
    assert outbox._take(row_id, first.token) == first.token
    assert fresh(row_id).taken_at == now()
    later(app.config["OUTBOX_LEASE_SECONDS"] - 1)
    assert claim_due() == []
    later(2)
    [second] = claim_due()
    assert second.id == row_id and fresh(row_id).claims == 2 and fresh(row_id).taken_at is None
    assert app.config["OUTBOX_LEASE_SECONDS"] < 60 < app.config["OUTBOX_QUEUE_LEASE_SECONDS"]
    assert deliver(row_id, second.token) == "sent"


def test_a_delivery_without_the_claim_delivers_nothing(app, park):
    [row_id] = add_rows(park, 1)
    [claim] = claim_due()
    assert deliver(row_id, "not-the-claim") == "skipped"
    assert deliver(row_id) == "skipped"  # a message with no claim takes only an unclaimed row
    assert fresh(row_id).status == "pending"
    assert deliver(row_id, claim.token) == "sent"


def test_relays_at_the_same_moment_hand_out_every_row_once(app, park):
    """Four relays race over 400 rows, each in its own thread, connection and transaction.

    PostgreSQL locks the candidates with SKIP LOCKED (the relays take different rows, none waits),
    SQLite runs one writer at a time; on both, the claim is one conditional UPDATE.
    """
    ids = add_rows(park, 400)
    taken: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def relay(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                while claims := claim_due(limit=13):
                    taken[n].extend(c.id for c in claims)
                db.session.remove()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=relay, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    every = [i for part in taken for i in part]
    assert sorted(every) == sorted(ids)  # each row once: none twice, none left
    assert sum(1 for part in taken if part) >= 2, [len(p) for p in taken]  # they really raced
    db.session.rollback()
    assert set(db.session.scalars(db.select(OutboxMessage.claims))) == {1}


def test_a_delivery_that_lost_its_claim_records_nothing_but_a_late_attempt(app, park, monkeypatch):
    """The worker sends after the lease ran out and the row was handed out again: it may not mark it."""
    from tickets import channels

    [row_id] = add_rows(park, 1)
    [first] = claim_due()
    real_send = channels.CHANNELS["inapp"]
    second = []

    def slow_send(row):
        # While this delivery runs, its lease ends and another relay claims the row.
        with app.app_context():
            later(app.config["OUTBOX_LEASE_SECONDS"] + 1)
            second.extend(claim_due())
            db.session.remove()
        real_send(row)

    monkeypatch.setitem(channels.CHANNELS, "inapp", slow_send)
    assert deliver(row_id, first.token) == "late"
    row = fresh(row_id)
    assert [c.id for c in second] == [row_id]
    assert (row.status, row.claim, row.attempts) == ("pending", second[0].token, 0)
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 0
    [late] = row.attempt_log
    assert late.outcome == "late" and "lease" in late.error
    monkeypatch.setitem(channels.CHANNELS, "inapp", real_send)
    assert deliver(row_id, second[0].token) == "sent"
    assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 1
    assert [a.outcome for a in fresh(row_id).attempt_log] == ["late", "sent"]


# --------------------------------------------------------------------------- retries

def fail_always(monkeypatch, error=TransientError("SMTP 127.0.0.1:25: connection refused")):
    from tickets import channels

    def send(row):
        raise error

    monkeypatch.setitem(channels.CHANNELS, "inapp", send)


def deliver_until_done(row_id: int) -> list[tuple[str, object]]:
    """Relay and deliver, moving the clock to each next try, until the row is no longer retried."""
    tries = []
    while True:
        [claim] = claim_due()
        result = deliver(claim.id, claim.token)
        tries.append((result, now()))
        if result != "retry":
            return tries
        set_now(fresh(row_id).next_attempt_at)


def test_a_failing_delivery_is_retried_with_backoff_for_a_day_then_failed(app, park, monkeypatch):
    fail_always(monkeypatch)
    [row_id] = add_rows(park, 1)
    tries = deliver_until_done(row_id)
    results, times = [r for r, _ in tries], [t for _, t in tries]
    assert results[-1] == "failed" and set(results[:-1]) == {"retry"}
    assert times[-1] - times[0] >= timedelta(days=1) > times[-2] - times[0]
    waits = [b - a for a, b in zip(times, times[1:])]
    assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert max(waits) == timedelta(hours=1)
    row = fresh(row_id)
    assert (row.status, row.attempts, row.claim) == ("failed", len(tries), None)
    assert "connection refused" in row.last_error
    assert [a.outcome for a in row.attempt_log] == results


def test_an_admins_retry_keeps_the_history_and_starts_a_new_day(app, park, monkeypatch):
    fail_always(monkeypatch)
    app.config["OUTBOX_RETRY_SECONDS"] = 100  # tries at 0, 30, 90, 100 s
    [row_id] = add_rows(park, 1)
    assert [r for r, _ in deliver_until_done(row_id)] == ["retry", "retry", "retry", "failed"]
    later(600)
    assert retry_failed([row_id], by=park.admin.id) == 1
    row = fresh(row_id)
    assert (row.status, row.attempts, row.retry_until, row.claim) == ("pending", 4, None, None)
    assert [a.outcome for a in row.attempt_log] == ["retry", "retry", "retry", "failed", "requeued"]
    assert row.attempt_log[-1].user_id == park.admin.id and row.attempt_log[-1].at == now()
    # The next failure waits the first backoff again, and is retried for a new window.
    [claim] = claim_due()
    assert deliver(row_id, claim.token) == "retry"
    row = fresh(row_id)
    assert row.next_attempt_at == now() + timedelta(seconds=30)
    assert row.retry_until == now() + timedelta(seconds=100)
    assert row.attempts == 5
    # Retrying a row that is not failed does nothing.
    assert retry_failed([row_id], by=park.admin.id) == 0


def test_a_fault_in_a_channel_is_retried_and_shown_not_stuck(app, park, monkeypatch):
    fail_always(monkeypatch, KeyError("params"))
    [row_id] = add_rows(park, 1)
    [claim] = claim_due()
    assert deliver(row_id, claim.token) == "retry"
    row = fresh(row_id)
    assert row.claim is None and row.published_at is None and "KeyError" in row.last_error
    assert row.next_attempt_at == now() + timedelta(seconds=30)


def test_the_worker_page_shows_retrying_and_failed_rows_with_their_history(app, park, monkeypatch, client):
    from .conftest import PASSWORD

    fail_always(monkeypatch)
    app.config["OUTBOX_RETRY_SECONDS"] = 40
    failing, retrying = add_rows(park, 2)
    [c1, c2] = claim_due()
    assert deliver(c1.id, c1.token) == deliver(c2.id, c2.token) == "retry"
    later(40)
    [c1] = [c for c in claim_due() if c.id == failing]
    assert deliver(c1.id, c1.token) == "failed"
    retry_failed([failing], by=park.admin.id)
    [c1] = [c for c in claim_due() if c.id == failing]
    deliver(c1.id, c1.token)
    later(5)
    assert fresh(failing).status == "pending" and fresh(retrying).status == "pending"
    # Make `failing` failed again, with its history of three tries and one retry.
    row = fresh(failing)
    set_now(row.next_attempt_at)
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    [c1] = [c for c in claim_due() if c.id == failing]
    assert deliver(c1.id, c1.token) == "failed"

    client.post("/login", data={"username": park.admin.username, "password": PASSWORD})
    html = client.get("/admin/worker").get_data(as_text=True)
    failed = html.split('data-testid="failed"', 1)[1].split("</table>", 1)[0]
    retried = html.split('data-testid="retrying"', 1)[1].split("</table>", 1)[0]
    assert f'data-outbox="{failing}"' in failed and f'data-outbox="{retrying}"' not in failed
    assert f'data-outbox="{retrying}"' in retried and f'data-outbox="{failing}"' not in retried
    assert "connection refused" in failed and "connection refused" in retried
    history = failed.split('data-testid="attempts"', 1)[1].split("</ol>", 1)[0]
    assert [o for o in ("retry", "failed", "requeued") if f'data-outcome="{o}"' in history] == \
        ["retry", "failed", "requeued"]
    assert park.admin.name in history  # who queued it again
    # Labels, never the codes: the outcome of a try in the page's language.
    assert ">requeued<" not in history and "requeued:" not in history
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxAttempt)) == 6


def test_the_lease_must_outlast_a_delivery(app):
    from config import check_worker_limits

    app.config.update(SMTP_TIMEOUT=20, OUTBOX_LEASE_SECONDS=45)
    with pytest.raises(RuntimeError, match="OUTBOX_LEASE_SECONDS"):
        check_worker_limits(app)
    app.config.update(SMTP_TIMEOUT=15)
    check_worker_limits(app)

