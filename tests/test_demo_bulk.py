"""The bulk demo (`flask demo seed --bulk`, tickets/demo/bulk.py), on SQLite and on PostgreSQL.

A few thousand tickets through the CLI: every chain verifies, the proportions are a park's,
the next request filed through the service gets the next number and a chain that verifies,
the sequences let the app insert, and the demo users' pages answer.
"""
from __future__ import annotations

from collections import Counter

import pytest

from tickets.audit import verify_all
from tickets.demo import bulk
from tickets.demo_logins import DEMO_PASSWORD
from tickets.extensions import db
from tickets.models import (Event, ExtensionRequest, Feedback, Handling, Ticket, TicketCounter, TransferRequest,
                            User)
from tickets.timeutil import now, to_local

from .conftest import app_on

N = 3_000


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request, tmp_path, monkeypatch):
    # Batches of 1,000: the rows are made by two forked workers, as for a million.
    monkeypatch.setattr(bulk, "BATCH", 1_000)
    url = f"sqlite:///{tmp_path / 'bulk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with app_on(url, tmp_path) as app:
        result = app.test_cli_runner().invoke(args=["demo", "seed", "--tickets", str(N), "--bulk"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        assert f"Wrote {N:,} tickets" in result.output
        db.session.expire_all()
        yield app


def count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_bulk_park(seeded):
    app = seeded
    checked, breaks = verify_all()
    assert (checked, breaks) == (N, [])
    assert count(Event) > 4 * N

    states = Counter(db.session.scalars(db.select(Ticket.state)))
    assert sum(states.values()) == N
    closed = states["fed_back"] + states["closed_unconfirmed"] + states["closed_forced"]
    assert closed > 0.85 * N
    assert 0.01 * N < states["rejected"] < 0.06 * N
    assert 0 < states["withdrawn"] < 0.03 * N
    assert states["closed_forced"] > 0 and states["closed_unconfirmed"] > 0
    open_ = states["submitted"] + states["accepted"] + states["handled"]
    assert 0 < open_ < 0.1 * N
    at = now()
    overdue = count(Ticket, Ticket.state.in_(("submitted", "accepted")), Ticket.due_at <= at)
    assert overdue > 0
    assert count(Ticket, Ticket.supervised_at.is_not(None), Ticket.state == "accepted") > 0
    assert 0 < count(Ticket, Ticket.round == 2) < 0.1 * N
    assert 0 < count(Ticket, Ticket.transfer_count > 0) < 0.1 * N
    assert count(Ticket, Ticket.transfer_count == 2) > 0
    assert 0 < count(Ticket, Ticket.extension_count > 0) < 0.1 * N
    assert count(TransferRequest) == db.session.scalar(db.select(db.func.sum(Ticket.transfer_count)))
    assert count(ExtensionRequest) == count(Ticket, Ticket.extension_count > 0)
    assert count(Handling) > 0.85 * N and count(Feedback) > 0.8 * N
    # Each ticket's record is the one its state says: filed first, the last event its state's.
    newest = db.session.scalar(db.select(Ticket).where(Ticket.state == "fed_back").order_by(Ticket.id.desc()))
    actions = [e.action for e in db.session.scalars(
        db.select(Event).filter_by(ticket_id=newest.id).order_by(Event.seq))]
    assert actions[0] == "file" and actions[1:3] == ["accept", "clock_started"] and actions[-1] == "feedback"
    assert newest.updated_at == db.session.scalar(db.select(Event.at).filter_by(ticket_id=newest.id,
                                                                              seq=newest.event_count))
    # The search index holds the tickets' words: its number finds it, a word of its title finds it among others.
    from tickets.desk.queries import search_condition

    assert db.session.scalars(db.select(Ticket.id).where(search_condition(newest.number))).all() == [newest.id]
    assert newest.id in db.session.scalars(db.select(Ticket.id).where(search_condition(newest.title[:2]))).all()


def test_next_ticket_and_pages(seeded):
    from tickets.services.filing import file_ticket

    app = seeded
    firm_user = db.session.scalar(db.select(User).filter_by(username="firm"))
    category = db.session.scalar(db.select(Ticket.category_id).limit(1))
    year = to_local(now()).year
    last = db.session.get(TicketCounter, year).last
    assert db.session.scalar(db.select(Ticket.number).order_by(Ticket.id.desc())) == f"{year}-{last:06d}"
    ticket = file_ticket(firm_user, firm_id=firm_user.firm_id, category_id=category, title="招工难",
                         description="缺少 30 名操作工", contact_name="王经理", contact_phone="13800138000")
    assert ticket.number == f"{year}-{last + 1:06d}"
    assert ticket.id == N + 1
    checked, breaks = verify_all()
    assert (checked, breaks) == (N + 1, [])

    client = app.test_client()
    for username, paths in (("official", ["/desk/tickets"]), ("inspector", ["/inspect/desk", "/rates/"]),
                            ("head", ["/desk/tickets?scope=department"])):
        client.post("/logout")
        resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        for path in paths:
            assert client.get(path).status_code == 200, (username, path)


def test_refuses_a_database_with_tickets(seeded):
    result = seeded.test_cli_runner().invoke(args=["demo", "seed", "--tickets", "10", "--bulk"])
    assert result.exit_code != 0
    assert "already holds tickets" in result.output
    assert count(Ticket) == N
