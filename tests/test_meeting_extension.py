"""A weekly-meeting decision that sets a new due date is an extension approved at the meeting.

It is recorded as any approved extension is: an approved ExtensionRequest requested by
the round's lead official and decided by the leader who chaired (never the lead), the
ticket's extension count, a public extension_approved event that says it was decided
at the meeting, so that the inspector desk's extension tab and the extension figures
count it. The data set is tests/test_meeting.py's week48 (2026-000001: led by hr_off,
accepted Mon 2 Nov 10:00 with a 5-working-day limit, due 24:00 Mon 9 Nov).
"""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from tickets.extensions import db
from tickets.models import Clock, Event, ExtensionRequest, MeetingDecision, OutboxMessage, Ticket, User
from tickets.services import desk
from tickets.services.errors import InvalidInput
from tickets.services.meeting import build_list, record_decision
from tickets.ticket.timeline import timeline
from tickets.timeutil import from_local

from .records import count
from .test_meeting import week48  # noqa: F401  (the fixture)


def _t(number) -> Ticket:
    return db.session.scalar(db.select(Ticket).filter_by(number=number))


def decide(park, number, **over):
    data = {"what": "人社局本周内组织专场招聘会", "who_user_id": str(park.hr_head.id), "by_date": "2026-11-27",
            "new_due": "2026-11-30", "chair_id": str(park.leader.id)}
    data.update(over)
    return record_decision(build_list("2026-W48"), number, park.coordinator, **data)


def test_new_date_is_an_approved_extension_decided_by_the_chair(week48):
    park = week48
    t = decide(park, "2026-000001")
    d = db.session.scalar(db.select(MeetingDecision))
    assert d.chair_id == park.leader.id
    ext = db.session.scalar(db.select(ExtensionRequest))
    # From Tue 3 Nov to Mon 30 Nov: 20 working days, 15 more than the limit of 5.
    assert (ext.status, ext.round, ext.days, ext.requested_by_id, ext.decided_by_id, ext.meeting_decision_id) == (
        "approved", 1, 15, park.hr_official.id, park.leader.id, d.id)
    assert t.extension_count == 1
    handle_clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle"))
    assert (handle_clock.limit_days, handle_clock.deadline_version) == (20, 2)
    assert handle_clock.due_at == from_local(datetime(2026, 12, 1, 0))

    events = db.session.scalars(db.select(Event).filter_by(ticket_id=t.id).order_by(Event.seq.desc()).limit(2)).all()
    approved, decision = events
    assert (decision.action, decision.visibility) == ("meeting_decision", "internal")
    assert json.loads(decision.details)["chair"] == "Leader"
    assert (approved.action, approved.visibility, approved.actor_id) == (
        "extension_approved", "public", park.coordinator.id)
    details = json.loads(approved.details)
    assert {k: details[k] for k in ("request_id", "days", "meeting_decision_id", "meeting_week", "chair_id",
                                    "chair", "deadline_version", "new_due")} == {
        "request_id": ext.id, "days": 15, "meeting_decision_id": d.id, "meeting_week": "2026-W48",
        "chair_id": park.leader.id, "chair": "Leader", "deadline_version": 2,
        "new_due": "2026-11-30T16:00:00.000000Z"}

    # The inspector desk's extension tab counts it for the official who held the round.
    rows = desk.all_rows("extensions")
    assert [(r.extra["user"].username, r.extra["count"], r.extra["approved"], r.extra["days"]) for r in rows] == [
        ("hr_off", 1, 1, 15)]
    # The firm reads the new date, and nothing of the meeting; it is told of the extension.
    firm_view = [e for e in timeline(t, park.firm_user) if e.action == "extension_approved"]
    assert [set(e.details) for e in firm_view] == [{"days", "new_due", "public_reason"}]
    assert not [e for e in timeline(t, park.firm_user) if e.action == "meeting_decision"]
    told = db.session.scalars(db.select(OutboxMessage.user_id).filter_by(kind="extension_decided")).all()
    assert set(told) == {park.firm_user.id}


def test_the_ticket_page_says_it_was_decided_at_the_meeting(week48, client, login):
    park = week48
    decide(park, "2026-000001")
    park.coordinator.language = park.firm_user.language = "en"
    db.session.commit()
    login(park.coordinator)
    assert "Approved at the weekly meeting 2026-W48, chaired by Leader" in client.get(
        "/tickets/2026-000001").get_data(as_text=True)
    login(park.firm_user)
    html = client.get("/tickets/2026-000001").get_data(as_text=True)
    assert "Deadline extended" in html and "2026-W48" not in html and "chaired" not in html


def test_a_meeting_may_extend_by_more_than_an_official_may_ask(week48):
    """An official asks for 30 working days at most; the meeting may set a later date."""
    t = decide(week48, "2026-000001", new_due="2026-12-31")
    assert db.session.scalar(db.select(ExtensionRequest.days)) == 38 and t.extension_count == 1


def _unchanged(park):
    return (count(Event), count(MeetingDecision), count(ExtensionRequest),
            db.session.scalar(db.select(Ticket.extension_count).filter_by(number="2026-000001")),
            db.session.scalar(db.select(Clock.deadline_version).join(Ticket, Clock.ticket_id == Ticket.id)
                              .where(Ticket.number == "2026-000001", Clock.kind == "handle")))


@pytest.mark.parametrize("over,field", [
    ({"chair_id": ""}, "chair_id"),                 # a new date needs the chair
    ({"chair_id": "99999"}, "chair_id"),            # no such user
    ({"chair_id": "HEAD"}, "chair_id"),             # not a leader
    ({"chair_id": "LEAD"}, "chair_id"),             # the lead official, even holding the leader role
    ({"new_due": "2026-11-09"}, "new_due"),         # not later than the current due day
])
def test_chair_and_date_rules_refuse_and_change_nothing(week48, over, field):
    park = week48
    lead = park.hr_official
    lead.set_roles({"official", "leader"})
    db.session.commit()
    ids = {"HEAD": str(park.hr_head.id), "LEAD": str(lead.id)}
    over = {k: ids.get(v, v) for k, v in over.items()}
    before = _unchanged(park)
    with pytest.raises(InvalidInput) as e:
        decide(park, "2026-000001", **over)
    assert list(e.value.errors) == [field]
    db.session.rollback()
    assert _unchanged(park) == before


def test_a_decision_without_a_new_date_needs_no_chair(week48):
    park = week48
    decide(park, "2026-000007", new_due="", chair_id="")
    assert count(ExtensionRequest) == 0 and _t("2026-000007").extension_count == 0
    assert db.session.scalar(db.select(MeetingDecision.chair_id)) is None
    assert db.session.get(User, park.leader.id).has("leader")
