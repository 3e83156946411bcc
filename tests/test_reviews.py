"""Who a step is credited to when a ticket moves, and the review (甄别) of a dissatisfied rating.

Times are Shanghai wall-clock times in November 2026 (no holiday; the 2026 calendar loaded).
"""
from __future__ import annotations

from datetime import date

import pytest

from tickets.extensions import db
from tickets.models import Clock, Event, RatingReview
from tickets.services.actions import perform, record_feedback
from tickets.services.calendar import seed_year
from tickets.services.errors import InvalidInput, Refused
from tickets.services.rates import Period, queries
from tickets.timeutil import now

from .conftest import accept, file_request, handle
from .records import count, snapshot


@pytest.fixture
def park2026(park):
    seed_year(2026)
    db.session.commit()
    return park


def round_credit(ticket, rnd=1):
    clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=ticket.id, kind="handle", round=rnd))
    return clock.credit_department_id, clock.credit_user_id


def handling_by_official(first, last):
    """{official id: (on time, rounds due)} straight from the rates' SQL, no unit hidden."""
    got = queries.counts(Period(first, last), "official", now())
    return {unit: (c["handled_on_time"], c["rounds_due"]) for unit, c in got.items() if c.get("rounds_due")}


def test_a_transfer_after_the_due_time_leaves_the_late_round_where_it_was(park2026, clock):
    p = park2026
    clock(2026, 11, 2, 9)
    t = file_request(p)
    clock(2026, 11, 2, 10)
    accept(p, t)  # labor, 5 working days: due 24:00 Mon 9 Nov
    clock(2026, 11, 11, 9)
    week = (date(2026, 11, 9), date(2026, 11, 15))
    before = handling_by_official(*week)
    assert before == {p.hr_official.id: (0, 1)}
    perform(t, "request_transfer", p.hr_official, to_department_id=p.depts["finance"].id,
            to_lead_id=p.fin_official.id, reason="属财政")
    clock(2026, 11, 11, 10)
    perform(t, "transfer", p.coordinator, comment="同意")
    assert t.lead_id == p.fin_official.id
    # The week's figures did not move: the late round is still hr_official's.
    assert handling_by_official(*week) == before
    assert round_credit(t) == (p.depts["hr"].id, p.hr_official.id)
    # An extension that puts the round back in time gives it to whoever holds it now.
    clock(2026, 11, 11, 11)
    perform(t, "request_extension", p.fin_official, days=5, reason="补充材料", public_reason="补充材料")
    clock(2026, 11, 11, 12)
    perform(t, "decide_extension", p.fin_head, decision="approve", comment="")
    assert round_credit(t) == (p.depts["finance"].id, p.fin_official.id)


def test_a_transfer_before_the_due_time_moves_the_round(park2026, clock):
    p = park2026
    clock(2026, 11, 2, 9)
    t = file_request(p)
    accept(p, t)
    clock(2026, 11, 4, 9)
    perform(t, "request_transfer", p.hr_official, to_department_id=p.depts["hr"].id, to_lead_id=p.hr_other.id,
            reason="换人")
    perform(t, "transfer", p.hr_head, comment="")
    assert round_credit(t) == (p.depts["hr"].id, p.hr_other.id)
    clock(2026, 11, 5, 15)
    handle(p, t, by=p.hr_other)
    clock(2026, 11, 20, 9)
    assert handling_by_official(date(2026, 11, 9), date(2026, 11, 15)) == {p.hr_other.id: (1, 1)}


def rated_dissatisfied(p, clock):
    clock(2026, 11, 2, 9)
    t = file_request(p)
    accept(p, t)
    clock(2026, 11, 3, 9)
    handle(p, t)
    clock(2026, 11, 4, 9)
    record_feedback(t, p.firm_user, solved="no", rating="dissatisfied", comment="没有招到人")
    return t


def test_only_a_coordinator_proposes_and_only_an_inspector_decides(park2026, clock):
    p = park2026
    t = rated_dissatisfied(p, clock)
    from tickets.services.reviews import reviewable

    (feedback,) = reviewable(t)
    for who in (p.inspector, p.hr_official, p.hr_head, p.leader, p.firm_user, p.admin):
        before = snapshot(t.id)
        with pytest.raises(Refused):
            perform(t, "propose_exclusion", who, feedback_id=feedback.id, reason="理由")
        assert snapshot(t.id) == before, who.username
    perform(t, "propose_exclusion", p.coordinator, feedback_id=feedback.id, reason="诉求超出职权")
    # One review per rating: nothing left to propose on this ticket.
    with pytest.raises(Refused):
        perform(t, "propose_exclusion", p.coordinator, feedback_id=feedback.id, reason="再次")
    review = db.session.scalar(db.select(RatingReview).filter_by(ticket_id=t.id))
    for who in (p.coordinator, p.hr_head, p.leader, p.admin, p.firm_user):
        before = snapshot(t.id)
        with pytest.raises(Refused):
            perform(t, "decide_exclusion", who, review_id=review.id, decision="confirm", comment="")
        assert snapshot(t.id) == before, who.username
    # Refusing needs a reason; a bad choice is refused; neither changes anything.
    for data in ({"decision": "refuse", "comment": ""}, {"decision": "maybe", "comment": "x"}):
        before = snapshot(t.id)
        with pytest.raises(InvalidInput):
            perform(t, "decide_exclusion", p.inspector, review_id=review.id, **data)
        assert snapshot(t.id) == before, data
    state, events = t.state, count(Event)
    perform(t, "decide_exclusion", p.inspector, review_id=review.id, decision="confirm", comment="")
    assert (review.status, review.decided_by_id) == ("confirmed", p.inspector.id)
    assert t.state == state and count(Event) == events + 1  # on the record, no change of state


def test_the_ticket_page_shows_reviews_to_staff_only(park2026, clock, login):
    p = park2026
    t = rated_dissatisfied(p, clock)
    from tickets.services.reviews import reviewable

    (feedback,) = reviewable(t)
    c = login(p.coordinator)
    page = c.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'data-action="propose_exclusion"' in page
    resp = c.post(f"/tickets/{t.number}/do/propose_exclusion",
                  data={"propose_exclusion-feedback_id": str(feedback.id),
                        "propose_exclusion-reason": "企业要求超出园区职权", "propose_exclusion-version": t.version})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    review = db.session.scalar(db.select(RatingReview).filter_by(ticket_id=t.id))
    assert review.status == "proposed"
    c = login(p.inspector)
    page = c.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'data-testid="rating-reviews"' in page and 'data-action="decide_exclusion"' in page
    resp = c.post(f"/tickets/{t.number}/do/decide_exclusion",
                  data={"decide_exclusion-review_id": str(review.id), "decide_exclusion-decision": "refuse",
                        "decide_exclusion-comment": "评价有效", "decide_exclusion-version": t.version})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(RatingReview, review.id).status == "refused"
    firm_page = login(p.firm_user).get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'data-testid="rating-reviews"' not in firm_page and "企业要求超出园区职权" not in firm_page
