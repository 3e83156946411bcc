"""Two sweeps at the same moment in two processes raise each step once.

On a real PostgreSQL (tests/pg.py) and on a SQLite file in WAL mode. Tickets are
built under a frozen clock with their clocks past yellow, red and red for 3
days; then two `flask --app wsgi deadlines sweep` processes, frozen at the same
moment by BIHUAN_FROZEN_NOW, are released together from a file barrier (each
imports the app first, says it is ready, and waits for the go file). Three
rounds, each with new tickets a week later (the older tickets climb on too).

Afterwards: one ReminderStep per (clock, level, version) and none missing, one
reminder event per raised step (the levels a sweep found past together: only the
highest raised, the lower ones skipped), each step's outbox rows exactly its
recipients' (no duplicates), the raised counts of the two processes adding up to the
steps made, each expired feedback window closed once, and the chains verify.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade

from config import TestingConfig
from tickets import create_app
from tickets.audit import verify_all
from tickets.extensions import db
from tickets.models import Clock, Event, OutboxMessage, ReminderStep, Ticket
from tickets.reference import ensure_reference_data
from tickets.services.calendar import seed_year
from tickets.timeutil import from_local, set_now

from .conftest import Park, accept, drop_everything, file_request, handle
from .pg import TempPostgres
from .procs import python_path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
ROUNDS = 3
COPIES = 3  # tickets of each kind per round

# Imports the app (the slow part), says it is ready, waits for the go file, then runs
# exactly what `.venv/bin/flask --app wsgi deadlines sweep` runs.
RUNNER = r"""
import os, sys, time
from pathlib import Path
import wsgi  # noqa: F401  (create_app before the barrier)
from flask.cli import main
Path(sys.argv[1]).touch()
go = Path(sys.argv[2])
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("no go")
    time.sleep(0.001)
sys.argv = ["flask", "--app", "wsgi", "deadlines", "sweep"]
main()
"""


@pytest.fixture(scope="module")
def pg_server():
    server = TempPostgres().start()
    yield server
    server.stop()


def sh(*args) -> datetime:
    return from_local(datetime(*args))


# Who each step reaches, from DESIGN.md's table (users of the park).
def expected_recipients(park: Park, kind: str, level: str) -> list[int]:
    table = {
        ("accept", "yellow"): [park.coordinator],
        ("accept", "red"): [park.coordinator],
        ("accept", "red3"): [park.coordinator, park.leader, park.inspector],
        ("handle", "yellow"): [park.hr_official],
        ("handle", "red"): [park.hr_official, park.hr_head, park.leader],
        ("handle", "red3"): [park.inspector, park.hr_head, park.leader],
        ("feedback", "yellow"): [park.firm_user],
    }
    return sorted(u.id for u in table[(kind, level)])


def build_round(park: Park, r: int) -> tuple[datetime, dict[int, str]]:
    """New tickets for round r; returns the sweep moment and {ticket id: what it is}.

    Round 0 sweeps at 12:00 Wed 25 Nov 2026 (Shanghai), each later round a week later;
    no holidays in between. Labor: 5 working days; accept 1; feedback 5.
    """
    w = timedelta(days=7 * r)

    def at(*args):
        set_now(from_local(datetime(*args) + w))

    made: dict[int, str] = {}
    for _ in range(COPIES):
        # Accept clock, filed Tue 17 Nov 09:00: red for 3 days since 00:00 Tue 24 Nov.
        at(2026, 11, 17, 9, 0)
        t = file_request(park)
        made[t.id] = "accept_red3"
        # Handle clock accepted Wed 18 Nov: yellow since 00:00 Wed 25, due 24:00 Wed 25.
        at(2026, 11, 18, 9, 0)
        t = file_request(park)
        at(2026, 11, 18, 10, 0)
        accept(park, t)
        made[t.id] = "handle_yellow"
        # Accepted Tue 17 Nov: due 24:00 Tue 24 -> red.
        at(2026, 11, 17, 9, 0)
        t = file_request(park)
        at(2026, 11, 17, 10, 0)
        accept(park, t)
        made[t.id] = "handle_red"
        # Accepted Wed 11 Nov: due 24:00 Wed 18, red for 3 days since 00:00 Tue 24.
        at(2026, 11, 11, 9, 0)
        t = file_request(park)
        at(2026, 11, 11, 10, 0)
        accept(park, t)
        made[t.id] = "handle_red3"
        # Handled Tue 17 Nov: the feedback window closed at 24:00 Tue 24 -> expire.
        at(2026, 11, 16, 9, 0)
        t = file_request(park)
        at(2026, 11, 16, 10, 0)
        accept(park, t)
        at(2026, 11, 17, 10, 0)
        handle(park, t)
        made[t.id] = "feedback_expired"
        # Handled Wed 18 Nov: feedback yellow since 00:00 Wed 25, open until 24:00 Wed 25.
        at(2026, 11, 17, 9, 0)
        t = file_request(park)
        at(2026, 11, 17, 10, 0)
        accept(park, t)
        at(2026, 11, 18, 10, 0)
        handle(park, t)
        made[t.id] = "feedback_yellow"
    set_now(None)
    return sh(2026, 11, 25, 12, 0) + w, made


# What each ticket owes by the sweep of the round: (clock kind, levels), closed?
FRESH = {
    "accept_red3": ("accept", ["yellow", "red", "red3"], False),
    "handle_yellow": ("handle", ["yellow"], False),
    "handle_red": ("handle", ["yellow", "red"], False),
    "handle_red3": ("handle", ["yellow", "red", "red3"], False),
    "feedback_expired": ("feedback", ["yellow"], True),
    "feedback_yellow": ("feedback", ["yellow"], False),
}
# A week later every handle clock of an earlier round is red for 3 days and every
# feedback window has closed.
OLDER = FRESH | {
    "handle_yellow": ("handle", ["yellow", "red", "red3"], False),
    "handle_red": ("handle", ["yellow", "red", "red3"], False),
    "feedback_yellow": ("feedback", ["yellow"], True),
}


def race(url: str, at: datetime, tmp: Path, r: int) -> list[subprocess.CompletedProcess]:
    # The testing config, so that the sweeps sign with the key this process verifies with
    # (the development config refuses the published test keys).
    env = dict(os.environ, TEST_DATABASE_URL=url, BIHUAN_ENV="testing",
               BIHUAN_FROZEN_NOW=at.isoformat() + "Z", PYTHONPATH=python_path(ROOT),
               BIHUAN_INSTANCE=str(tmp / "instance"), MAIL_DIR=str(tmp / "mail"))
    go = tmp / f"go-{r}"
    ready = [tmp / f"ready-{r}-{i}" for i in range(2)]
    procs = [subprocess.Popen([str(PYTHON), "-c", RUNNER, str(ready[i]), str(go)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    try:
        limit = time.monotonic() + 60
        while not all(p.exists() for p in ready):
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            assert time.monotonic() < limit, "the sweep processes did not get ready"
            time.sleep(0.01)
        go.touch()
        done = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return done
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def parse_counts(output: str) -> Counter:
    counts: Counter = Counter()
    for line in output.splitlines():
        if ": " in line:
            key, n = line.rsplit(": ", 1)
            counts[key] += int(n)
    return counts


def check_invariants(park: Park, kinds: dict[int, str], fresh: set[int]) -> None:
    db.session.expire_all()
    all_steps = db.session.scalars(db.select(ReminderStep).order_by(ReminderStep.id)).all()
    keys = Counter((s.clock_id, s.level, s.deadline_version) for s in all_steps)
    assert all(n == 1 for n in keys.values()), keys
    # Exactly the steps owed, none missing, none extra.
    for tid, kind in kinds.items():
        clock_kind, levels, closed = (FRESH if tid in fresh else OLDER)[kind]
        got = [(s.clock_kind, s.level, s.deadline_version) for s in all_steps if s.ticket_id == tid]
        assert got == [(clock_kind, lv, 1) for lv in levels], (tid, kind, got)
        ticket = db.session.get(Ticket, tid)
        assert (ticket.state == "closed_unconfirmed") == closed, (tid, kind, ticket.state)
        expires = db.session.scalar(db.select(db.func.count()).select_from(Event)
                                    .filter_by(ticket_id=tid, action="expire"))
        assert expires == (1 if closed else 0), (tid, kind)
        supervised = "red3" in levels and clock_kind in ("accept", "handle")
        assert (ticket.supervised_at is not None) == supervised
        clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=tid, kind=clock_kind))
        raised = {lv for ck, lv, _v in got}
        if clock.stopped_at is None and raised != {"yellow", "red", "red3"}:
            assert clock.next_step_at is not None
        if raised == {"yellow", "red", "red3"} or clock.stopped_at is not None:
            assert clock.next_step_at is None
    # One reminder event per raised step, naming its recipients: its level's people and those
    # of the levels the same sweep passed over (skipped: no event, no outbox row).
    events = db.session.scalars(db.select(Event).filter_by(action="reminder")).all()
    by_key = {}
    clocks = {c.id: c for c in db.session.scalars(db.select(Clock))}
    for ev in events:
        d = json.loads(ev.details)
        key = (ev.ticket_id, d["clock"], d["round"], d["level"], d["deadline_version"])
        assert key not in by_key
        by_key[key] = d
    raised_steps = [s for s in all_steps if not s.skipped]
    assert len(events) == len(raised_steps)
    for s in all_steps:
        c = clocks[s.clock_id]
        rows = db.session.scalars(db.select(OutboxMessage).filter_by(step_id=s.id)).all()
        if s.skipped:
            assert rows == [] and s.recipients == 0
            continue
        d = by_key[(s.ticket_id, s.clock_kind, c.round, s.level, s.deadline_version)]
        pairs = [(row.user_id, row.channel) for row in rows]
        assert len(pairs) == len(set(pairs))
        want = sorted({u for lv in [s.level, *d["skipped"]] for u in expected_recipients(park, s.clock_kind, lv)})
        assert sorted(d["recipients"]) == want
        assert sorted(pairs) == sorted((u, ch) for u in want for ch in ("inapp", "email"))
        assert s.recipients == len(want)
    # No outbox row twice, over the whole table.
    assert len(set(db.session.execute(db.select(OutboxMessage.channel, OutboxMessage.key)).all())) == \
        db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.step_id.is_not(None))) == \
        sum(2 * s.recipients for s in raised_steps)
    checked, breaks = verify_all()
    assert breaks == [] and checked == len(kinds)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_sweep_processes_at_the_same_moment_raise_each_step_once(backend, tmp_path, request):
    if backend == "postgresql":
        url = request.getfixturevalue("pg_server").url
    else:
        url = f"sqlite:///{tmp_path / 'race.db'}"

    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path / "uploads")

    app = create_app(Cfg)
    with app.app_context():
        drop_everything()
        if backend == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            upgrade()
        else:
            db.create_all()
        try:
            ensure_reference_data()
            seed_year(2026)
            db.session.commit()
            park = Park()
            kinds: dict[int, str] = {}
            report = []
            for r in range(ROUNDS):
                at, made = build_round(park, r)
                kinds |= made
                steps_before = db.session.scalar(db.select(db.func.count()).select_from(ReminderStep)
                                                 .filter_by(skipped=False))
                db.session.commit()  # hold no transaction or lock while the sweeps run

                done = race(url, at, tmp_path, r)
                for p in done:
                    assert p.returncode == 0, p.stdout + "\n" + p.stderr[-6000:]
                counts = parse_counts(done[0].stdout) + parse_counts(done[1].stdout)
                report.append(dict(counts))

                steps_after = db.session.scalar(db.select(db.func.count()).select_from(ReminderStep)
                                                .filter_by(skipped=False))
                raised = sum(n for k, n in counts.items() if k.endswith(".raised"))
                assert raised == steps_after - steps_before, counts
                # This round's closed windows, and the previous round's windows that were open.
                assert counts["feedback.expired"] == COPIES + (COPIES if r else 0), counts
                check_invariants(park, kinds, set(made))
            print(f"\n{backend}: counts of the two processes per round: {report}")
        finally:
            set_now(None)
            db.session.remove()
            drop_everything()
            if backend == "postgresql":
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            db.engine.dispose()
