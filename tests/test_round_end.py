"""What ends with a round, and the feedback window.

A pending extension or transfer request lapses when its round ends (handled, closed
by force): it is never decided afterwards, and never moves a later round's clock.
Feedback is taken until the feedback clock's due time and not after; the worker
closes a request as unconfirmed from that time and not before.

The known now is Tuesday 24 November 2026, 07:30 Shanghai (tests/conftest.py). A
request handled then has its feedback window until 24:00 on Tuesday 1 December
(five working days: 25, 26, 27, 30 November and 1 December).
"""
from __future__ import annotations

import json

import pytest
from flask_babel import force_locale

from tickets.extensions import db
from tickets.models import Clock, Event, ExtensionRequest, TransferRequest
from tickets.permissions import may
from tickets.services.actions import perform, record_feedback
from tickets.services.errors import Refused
from tickets.services.sweep import sweep

from .conftest import accept, file_request, handle
from .records import snapshot


def pending_both(park, t):
    perform(t, "request_extension", park.hr_official, days=3, reason="等待批复", public_reason="协调中")
    perform(t, "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id,
            to_lead_id=park.fin_official.id, reason="属于融资问题")


def lapse_events(t) -> list[dict]:
    rows = db.session.scalars(db.select(Event).where(Event.ticket_id == t.id,
                                                     Event.action.in_(("extension_lapsed", "transfer_lapsed")))
                              .order_by(Event.seq)).all()
    assert all(e.visibility == "internal" and e.actor_id is None for e in rows)
    return [dict(json.loads(e.details), action=e.action) for e in rows]


def refused_and_unchanged(t, action, actor, **data) -> Refused:
    before = snapshot(t.id)
    with pytest.raises(Refused) as e:
        perform(t, action, actor, **data)
    db.session.rollback()
    assert snapshot(t.id) == before
    return e.value


# --- lapse ----------------------------------------------------------------------------------


def test_pending_requests_lapse_when_the_round_is_handled(park):
    t = file_request(park)
    accept(park, t)
    pending_both(park, t)
    handle(park, t)
    ext = db.session.scalar(db.select(ExtensionRequest))
    trans = db.session.scalar(db.select(TransferRequest))
    assert (ext.status, trans.status) == ("lapsed", "lapsed")
    assert ext.decided_by_id is None and trans.decided_by_id is None
    assert lapse_events(t) == [
        {"action": "extension_lapsed", "request_id": ext.id, "round": 1, "ended_by": "handle"},
        {"action": "transfer_lapsed", "request_id": trans.id, "round": 1, "ended_by": "handle"},
    ]
    assert t.event_count == db.session.scalar(db.select(db.func.count()).select_from(Event)
                                              .where(Event.ticket_id == t.id))


def test_pending_requests_lapse_when_closed_by_force(park):
    t = file_request(park)
    accept(park, t)
    pending_both(park, t)
    perform(t, "force_close", park.coordinator, reason="企业已注销")
    assert {r.status for r in db.session.scalars(db.select(ExtensionRequest))} == {"lapsed"}
    assert {r.status for r in db.session.scalars(db.select(TransferRequest))} == {"lapsed"}
    assert [e["ended_by"] for e in lapse_events(t)] == ["force_close", "force_close"]


def test_a_transfer_does_not_end_the_round(park):
    t = file_request(park)
    accept(park, t)
    perform(t, "request_extension", park.hr_official, days=3, reason="等待批复", public_reason="协调中")
    perform(t, "request_transfer", park.hr_official, to_department_id=park.depts["hr"].id,
            to_lead_id=park.hr_other.id, reason="分工调整")
    perform(t, "transfer", park.hr_head, comment="")
    assert db.session.scalar(db.select(ExtensionRequest)).status == "pending"
    assert lapse_events(t) == []


def test_round_one_request_is_never_approved_in_round_two(park, clock):
    """Pending in round 1, the firm asks for rework: round 2's clock cannot be moved by it."""
    t = file_request(park)
    accept(park, t)
    perform(t, "request_extension", park.hr_official, days=10, reason="等待批复", public_reason="协调中")
    clock(2026, 11, 25, 9)
    handle(park, t)
    clock(2026, 11, 26, 9)
    record_feedback(t, park.firm_user, solved="no", rating="dissatisfied", comment="还是缺人")
    assert (t.state, t.round) == ("accepted", 2)
    round2 = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle", round=2))
    due, version = round2.due_at, round2.deadline_version
    for head_or_coordinator in (park.hr_head, park.coordinator):
        assert not may(head_or_coordinator, "decide_extension", t)
        refused_and_unchanged(t, "decide_extension", head_or_coordinator, decision="approve", comment="")
    db.session.refresh(round2)
    assert (round2.due_at, round2.deadline_version) == (due, version)
    assert db.session.scalar(db.select(ExtensionRequest)).status == "lapsed"
    # The lead asks again in round 2, and that request is decided as usual.
    perform(t, "request_extension", park.hr_official, days=2, reason="再协调", public_reason="协调中")
    perform(t, "decide_extension", park.hr_head, decision="approve", comment="")
    db.session.refresh(round2)
    assert round2.deadline_version == version + 1


def test_an_earlier_rounds_request_left_pending_is_not_decidable(park, clock):
    """A row an older version left pending (it did not lapse): it is not this round's to decide."""
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    record_feedback(t, park.firm_user, solved="no", rating="dissatisfied", comment="还是缺人")
    stale = ExtensionRequest(ticket_id=t.id, round=1, days=5, reason="旧申请", public_reason="协调中",
                             requested_by_id=park.hr_official.id, requested_at=t.created_at)
    db.session.add(stale)
    db.session.commit()
    assert not may(park.hr_head, "decide_extension", t)
    refused_and_unchanged(t, "decide_extension", park.hr_head, decision="approve", comment="")


def test_a_lapsed_request_is_never_decided(park):
    t = file_request(park)
    accept(park, t)
    pending_both(park, t)
    handle(park, t)
    for action, data in (("decide_extension", dict(decision="approve", comment="")),
                         ("transfer", dict(comment="")), ("deny_transfer", dict(comment="不同意"))):
        for user in (park.hr_head, park.coordinator):
            refused_and_unchanged(t, action, user, **data)


# --- the feedback window ---------------------------------------------------------------------


def test_feedback_until_the_due_time_and_not_after(park, clock):
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    feedback_clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="feedback"))
    assert str(feedback_clock.due_at) == "2026-12-01 16:00:00"  # 24:00 on 1 December, Shanghai
    clock(2026, 12, 2, 0, 0)
    for rating, solved, comment in (("satisfied", "yes", ""), ("dissatisfied", "no", "还是缺人")):
        before = snapshot(t.id)
        with pytest.raises(Refused) as e:
            record_feedback(t, park.firm_user, solved=solved, rating=rating, comment=comment)
        db.session.rollback()
        assert snapshot(t.id) == before
        with force_locale("en"):
            assert "feedback window closed at 2026-12-01 24:00" in str(e.value.message)
            assert "closing as unconfirmed" in str(e.value.message)
    clock(2026, 12, 1, 23, 59)
    record_feedback(t, park.firm_user, solved="yes", rating="satisfied", comment="")
    assert t.state == "fed_back"


def test_feedback_after_the_window_on_the_page(park, client, login, clock):
    park.firm_user.language = "en"
    db.session.commit()
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    clock(2026, 12, 2, 8)
    login(park.firm_user)
    before = snapshot(t.id)
    resp = client.post(f"/tickets/{t.number}/do/feedback", data={
        "feedback-solved": "yes", "feedback-rating": "satisfied", "feedback-comment": ""})
    assert resp.status_code == 403
    assert "The feedback window closed at 2026-12-01 24:00" in resp.get_data(as_text=True)
    assert snapshot(t.id) == before


def test_expire_only_after_the_window(park, clock):
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    clock(2026, 12, 1, 23, 59)
    e = refused_and_unchanged(t, "expire", None)
    with force_locale("en"):
        assert "feedback window is open until 2026-12-01 24:00" in str(e.message)
    # The sweep does not try before the due time either.
    assert sweep().get("feedback.expired", 0) == 0
    db.session.refresh(t)
    assert t.state == "handled"
    clock(2026, 12, 2, 0, 0)
    perform(t, "expire", None)
    assert t.state == "closed_unconfirmed"


def test_the_sweep_closes_at_the_due_time(park, clock):
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    clock(2026, 12, 2, 0, 1)
    assert sweep()["feedback.expired"] == 1
    db.session.refresh(t)
    assert t.state == "closed_unconfirmed"
