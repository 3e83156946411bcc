"""The demo park: built through the real services, covering every state, level and detour.

Seeding takes a few seconds, so one test seeds once and checks everything.
"""
from __future__ import annotations

import click
import pytest

from tickets.audit import verify_all
from tickets.demo import seed
from tickets.demo_logins import DEMO_LOGINS, DEMO_PASSWORD
from tickets.extensions import db
from tickets.lifecycle import OPEN_STATES
from tickets.models import STATES, Event, ExtensionRequest, Firm, Ticket, TransferRequest, User
from tickets.timeutil import now, to_local
from tickets.validators import is_valid_credit_code
from tickets.workdays import WorkCalendar, level

N = 60


@pytest.fixture
def demo(app):
    summary = seed(N, quiet=True)
    yield summary
    # Follow-ups point at earlier tickets with ON DELETE RESTRICT, which SQLite checks row by
    # row when DROP TABLE empties the table: unlink them so that the app fixture can drop it.
    db.session.rollback()
    db.session.execute(db.update(Ticket).values(follows_id=None))
    db.session.commit()


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_demo_park(demo, client):
    assert demo["failures"] == []
    tickets = db.session.scalars(db.select(Ticket)).all()
    assert len(tickets) == N == demo["tickets"]

    # Every state, and every warning level among the open tickets at the real now.
    assert {t.state for t in tickets} == set(STATES)
    at = now()
    levels = {level(at, t.yellow_at, t.due_at, t.red3_at) for t in tickets if t.state in OPEN_STATES}
    expected = {"green", "red", "red3"}
    # Yellow is the last working day before due: on a weekend or holiday no clock is yellow.
    if WorkCalendar.load().is_workday(to_local(at).date()):
        expected.add("yellow")
    assert expected <= levels, levels

    # Rework rounds, transfers (bounced twice, inside and across, denied), extensions.
    assert {2, 3} <= {t.round for t in tickets}
    assert max(t.transfer_count for t in tickets) >= 2
    transfers = db.session.scalars(db.select(TransferRequest)).all()
    assert any(r.crosses_departments and r.status == "approved" for r in transfers)
    assert any(not r.crosses_departments and r.status == "approved" for r in transfers)
    assert any(r.status == "denied" for r in transfers)
    assert {"approved", "denied", "pending"} <= set(db.session.scalars(db.select(ExtensionRequest.status)))
    assert any(t.extension_count for t in tickets)

    # Follow-ups, filings on a firm's behalf, questions, notes of every visibility.
    assert any(t.follows_id for t in tickets)
    assert {t.channel for t in tickets} >= {"web", "phone", "visit", "meeting", "letter", "platform"}
    assert set(db.session.scalars(db.select(Event.visibility))) == {"public", "internal", "inspector"}
    actions = set(db.session.scalars(db.select(Event.action)))
    assert {"ask", "reply", "note", "inspector_note", "expire", "force_close", "reject", "withdraw"} <= actions

    # The demo firm has work waiting (feedback due, a question to answer); the demo official leads open tickets.
    firm_user = db.session.scalar(db.select(User).filter_by(username="firm"))
    mine = [t for t in tickets if t.firm_id == firm_user.firm_id]
    assert {"handled", "accepted", "fed_back", "submitted"} <= {t.state for t in mine}
    official = db.session.scalar(db.select(User).filter_by(username="official"))
    assert len([t for t in tickets if t.lead_id == official.id and t.state == "accepted"]) >= 4

    # Staff acted on working days (the official calendar), and nothing lies in the future.
    cal = WorkCalendar.load()
    staff = [u.id for u in db.session.scalars(db.select(User)) if not u.has("firm")]
    for ev in db.session.scalars(db.select(Event).where(Event.actor_id.in_(staff))):
        assert cal.is_workday(to_local(ev.at).date()), (ev.action, ev.at)
    assert db.session.scalar(db.select(db.func.max(Event.at))) <= at

    # Firms: valid credit codes, each with a liaison leader.
    firms = db.session.scalars(db.select(Firm)).all()
    assert len(firms) >= 20
    for firm in firms:
        assert is_valid_credit_code(firm.credit_code), firm.credit_code
        assert firm.liaison is not None and firm.liaison.has("leader")
    roles = set().union(*(u.roles for u in db.session.scalars(db.select(User))))
    assert roles == {"firm", "official", "coordinator", "leader", "inspector", "admin"}

    # The record holds.
    checked, breaks = verify_all()
    assert checked == N and breaks == []

    # The documented logins work.
    assert [u for u, _p, _d in DEMO_LOGINS] == ["admin", "coord", "official", "head", "leader", "inspector", "firm"]
    for username, password, _description in DEMO_LOGINS:
        assert password == DEMO_PASSWORD
        client.post("/logout")
        resp = client.post("/login", data={"username": username, "password": password})
        assert resp.status_code == 302, username

    # A second seed refuses and changes nothing.
    before = (count(User), count(Ticket), count(Event))
    with pytest.raises(click.ClickException):
        seed(10, quiet=True)
    assert (count(User), count(Ticket), count(Event)) == before


def test_the_demo_tokens_of_the_readme_open_the_api(demo, client):
    from pathlib import Path

    from tickets.demo_logins import DEMO_TOKENS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for username, token, _what in DEMO_TOKENS:
        assert token in readme, f"the README lists the demo token of {username}"
        resp = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200, (username, resp.get_json())
        items = resp.get_json()["items"]
        assert items, username
        if username == "firm":
            firm = db.session.scalar(db.select(User).filter_by(username="firm")).firm
            assert {t["firm"]["credit_code"] for t in items} == {firm.credit_code}
    # The inspector's and the leader's tokens only read.
    inspector = dict((u, t) for u, t, _w in DEMO_TOKENS)["inspector"]
    resp = client.post("/api/v1/tickets", json={}, headers={"Authorization": f"Bearer {inspector}"})
    assert resp.status_code == 403
