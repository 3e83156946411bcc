"""Supervision notices (督办通知): the lifecycle, the refusals, the explanation clock, the numbers.

Expected values are written out here from DESIGN.md and the oversight issue, never taken
from the code's helpers. Times: Shanghai is UTC+8 all year, so 24:00 of a Shanghai day is
16:00 UTC of the same date and 12:00 Shanghai is 04:00 UTC. The 2026 calendar as
chinese-calendar has it: National Day Thu 1 - Wed 7 Oct off, Sat 10 Oct a make-up working day.

The explanation clock (DESIGN.md, Clocks): 2 working days; yellow at min(1, 25% of 2) = half a
working day left, so 12:00 of the last day; red at due; red for 3 days at 24:00 of the third
working day after due. Recipients: yellow the official; red the official, the head, the issuing
inspector; red for 3 days the inspectors.
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime

import pytest

from tickets.audit import verify_all
from tickets.extensions import db
from tickets.lifecycle import ACTIONS
from tickets.messages import render
from tickets.models import (
    Clock,
    Event,
    Feedback,
    Handling,
    OutboxMessage,
    ReminderStep,
    SupervisionNotice,
    Ticket,
    TransferRequest,
)
from tickets.services import outbox
from tickets.services.actions import perform, record_feedback
from tickets.services.calendar import seed_year
from tickets.services.errors import InvalidInput, Refused
from tickets.services.sweep import sweep

from .conftest import accept, file_request, handle


@pytest.fixture
def cal(app):
    assert seed_year(2026) > 0
    db.session.commit()


def accepted(park, clock, day=(2026, 11, 17), category="talent"):
    """Filed 09:00 and accepted 10:00 on `day` (talent: HR, 10 working days); lead hr_official."""
    clock(*day, 9, 0)
    t = file_request(park, category_id=park.category(category).id)
    clock(*day, 10, 0)
    accept(park, t)
    return t


def fresh(t: Ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, t.id)


def notice_of(t: Ticket, seq: int = 1) -> SupervisionNotice:
    db.session.expire_all()
    return db.session.scalar(db.select(SupervisionNotice).filter_by(ticket_id=t.id, seq=seq))


def explanation_clock(n: SupervisionNotice) -> Clock:
    return db.session.scalar(db.select(Clock).filter_by(notice_id=n.id))


def last_event(t: Ticket) -> Event:
    return db.session.scalar(db.select(Event).filter_by(ticket_id=t.id).order_by(Event.seq.desc()).limit(1))


def outbox_of_last_event(t: Ticket) -> list[tuple[int, str, str]]:
    t = fresh(t)
    prefix = f"ev:{t.id}:{t.event_count}:"
    return sorted((r.user_id, r.channel, r.kind) for r in db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))))


def told(kind, *users):
    """Every park user has an e-mail address: an in-app and an e-mail row each."""
    return sorted((u.id, ch, kind) for u in users for ch in ("inapp", "email"))


def post(client, t, action, fields):
    data = {f"{action}-{k}": v for k, v in fields.items()}
    return client.post(f"/tickets/{t.number}/do/{action}", data=data)


def form_for(action: str, page: str) -> bool:
    """Whether the ticket page offers the form of `action` (its <details>, not a timeline entry)."""
    return re.search(rf'<details[^>]*data-action="{action}"', page) is not None


def ticket_facts(t: Ticket):
    """What a state change would change."""
    t = fresh(t)
    return (t.state, t.lead_id, t.department_id, t.round, t.closed_at, t.clock_kind, t.due_at, t.solved,
            t.rating, t.transfer_count)


# --- the lifecycle, through the pages ----------------------------------------------------------


def test_issue_explain_conclude_through_the_ticket_page(park, clock, cal, login, client):
    t = accepted(park, clock)
    before = ticket_facts(t)
    assert before[0] == "accepted" and before[5] == "handle"

    # Issued Thu 19 Nov 2026: due 24:00 Mon 23 Nov (Fri 20, Mon 23).
    clock(2026, 11, 19, 10, 0)
    login(park.inspector)
    page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert form_for("issue_notice", page)
    resp = post(client, t, "issue_notice", {"reason": "REASON-4471 逾期未办", "version": fresh(t).version})
    assert resp.status_code == 302, resp.get_data(as_text=True)

    n = notice_of(t)
    assert (n.number, n.seq, n.status) == ("DB-2026-0001", 1, "issued")
    assert (n.official_id, n.issued_by_id, n.department_id) == (park.hr_official.id, park.inspector.id,
                                                                 park.depts["hr"].id)
    assert n.head_ids == [park.hr_head.id]
    assert n.issued_at == datetime(2026, 11, 19, 2, 0)
    c = explanation_clock(n)
    assert (c.kind, c.round, c.limit_days, c.ticket_id, c.stopped_at) == ("explanation", 1, 2, t.id, None)
    assert (c.yellow_at, c.due_at, c.red3_at) == (
        datetime(2026, 11, 23, 4, 0),    # 12:00 Mon 23 Nov
        datetime(2026, 11, 23, 16, 0),   # 24:00 Mon 23 Nov
        datetime(2026, 11, 26, 16, 0),   # 24:00 Thu 26 Nov (24, 25, 26)
    )
    ev = last_event(t)
    assert (ev.action, ev.visibility, ev.from_state, ev.to_state, ev.actor_id) == (
        "issue_notice", "internal", None, None, park.inspector.id)
    details = json.loads(ev.details)
    assert details["notice"] == "DB-2026-0001" and details["due"] == "2026-11-23T16:00:00.000000Z"
    assert details["heads"] == [park.hr_head.id] and details["reason"] == "REASON-4471 逾期未办"
    assert ticket_facts(t) == before
    assert outbox_of_last_event(t) == told("notice_issued", park.hr_official, park.hr_head)
    row = db.session.scalar(db.select(OutboxMessage).filter_by(kind="notice_issued", user_id=park.hr_head.id,
                                                               channel="inapp"))
    assert render(row.kind, row.params, "en")[0] == (
        "2026-000001: supervision notice DB-2026-0001; a written explanation is due 2026-11-23 24:00")

    # The official reads it on the ticket page and explains, Fri 20 Nov.
    clock(2026, 11, 20, 9, 0)
    login(park.hr_official)
    page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'data-testid="notices"' in page and 'data-notice="DB-2026-0001"' in page
    assert 'data-status="issued"' in page and "2026-11-23 24:00" in page
    assert form_for("explain_notice", page) and not form_for("issue_notice", page)
    resp = post(client, t, "explain_notice", {"notice_id": str(n.id), "explanation": "EXPLAIN-5521 已补派人手"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    n = notice_of(t)
    assert (n.status, n.explanation, n.explained_by_id) == ("explained", "EXPLAIN-5521 已补派人手",
                                                            park.hr_official.id)
    assert n.explained_at == datetime(2026, 11, 20, 1, 0)
    c = explanation_clock(n)
    assert c.stopped_at == datetime(2026, 11, 20, 1, 0) and c.next_step_at is None
    ev = last_event(t)
    assert (ev.action, ev.visibility, ev.to_state, ev.actor_id) == (
        "explain_notice", "internal", None, park.hr_official.id)
    assert ticket_facts(t) == before
    assert outbox_of_last_event(t) == told("notice_explained", park.inspector)

    # The inspector concludes: referred for a talk with the official.
    clock(2026, 11, 20, 15, 0)
    login(park.inspector)
    page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'data-status="explained"' in page and form_for("conclude_notice", page)
    resp = post(client, t, "conclude_notice", {"notice_id": str(n.id), "conclusion": "talk",
                                               "comment": "CONCLUDE-3390 约谈"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    n = notice_of(t)
    assert (n.status, n.conclusion, n.conclusion_comment, n.concluded_by_id) == (
        "concluded", "talk", "CONCLUDE-3390 约谈", park.inspector.id)
    ev = last_event(t)
    assert (ev.action, ev.visibility, ev.to_state) == ("conclude_notice", "internal", None)
    assert ticket_facts(t) == before
    assert outbox_of_last_event(t) == told("notice_concluded", park.hr_official)

    page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'data-status="concluded"' in page
    for action in ("issue_notice", "explain_notice", "conclude_notice"):
        assert re.search(rf'<li[^>]*class="vis-internal"[^>]*data-action="{action}"', page), action
    assert "REASON-4471" in page and "EXPLAIN-5521" in page and "CONCLUDE-3390" in page

    # Staff of the department read the notice too; the firm reads none of it, anywhere.
    login(park.hr_other)
    assert "EXPLAIN-5521" in client.get("/notices/DB-2026-0001").get_data(as_text=True)
    login(park.firm_user)
    resp = client.get(f"/tickets/{t.number}")
    assert resp.status_code == 200
    firm_page = resp.get_data(as_text=True)
    for secret in ("DB-2026-0001", "REASON-4471", "EXPLAIN-5521", "CONCLUDE-3390", 'data-testid="notices"',
                   "issue_notice", "explain_notice", "conclude_notice", "vis-internal"):
        assert secret not in firm_page, secret
    assert client.get("/notices/DB-2026-0001").status_code == 404
    assert client.get("/notices/DB-2026-0001/print").status_code == 404
    assert client.get("/notices/").status_code == 403
    assert verify_all() == (1, [])


def test_notice_page_print_and_list(park, clock, cal, login, client):
    t = accepted(park, clock)
    clock(2026, 11, 19, 10, 0)
    perform(t, "issue_notice", park.inspector, reason="REASON-7310")
    t2 = accepted(park, clock, day=(2026, 11, 18))
    clock(2026, 11, 19, 11, 0)
    perform(t2, "issue_notice", park.inspector, reason="REASON-7311")
    clock(2026, 11, 20, 9, 0)
    perform(t2, "explain_notice", park.hr_official, explanation="EXPLAIN-7312")

    login(park.inspector)
    html = client.get("/notices/DB-2026-0001/print").get_data(as_text=True)
    for text in ("督办通知", "DB-2026-0001", "〔2026〕1号", "××园区纪工委", t.number, "REASON-7310", "2026年11月23日",
                 "2026年11月19日", "Hr Off", "Hr Head", "/static/notice-print.css"):
        assert text in html, text
    # The print stylesheet is a static file (the CSP allows no inline style).
    css = client.get("/static/notice-print.css")
    assert "@page" in css.get_data(as_text=True) and "size: A4" in css.get_data(as_text=True)
    css.close()
    html = client.get("/notices/DB-2026-0002").get_data(as_text=True)
    assert "EXPLAIN-7312" in html and 'data-status="explained"' in html

    everything = client.get("/notices/").get_data(as_text=True)
    assert 'data-notice="DB-2026-0001"' in everything and 'data-notice="DB-2026-0002"' in everything
    issued = client.get("/notices/?status=issued").get_data(as_text=True)
    assert 'data-notice="DB-2026-0001"' in issued and 'data-notice="DB-2026-0002"' not in issued
    explained = client.get("/notices/?status=explained").get_data(as_text=True)
    assert 'data-notice="DB-2026-0001"' not in explained and 'data-notice="DB-2026-0002"' in explained
    assert 'data-notice=' not in client.get("/notices/?status=concluded").get_data(as_text=True)

    login(park.leader)
    assert client.get("/notices/").status_code == 200
    login(park.hr_official)
    assert client.get("/notices/").status_code == 403      # the list is the inspectors' desk
    assert client.get("/notices/DB-2026-0001").status_code == 200
    login(park.fin_official)                                # cannot see the ticket at all
    assert client.get("/notices/DB-2026-0001").status_code == 404
    assert client.get("/notices/DB-2099-0001").status_code == 404
    client.post("/logout")
    assert client.get("/notices/DB-2026-0001").status_code == 302


# --- refusals --------------------------------------------------------------------------------


def snapshot(t: Ticket):
    """Everything an action could write: the ticket, its record, notices, clocks, outbox, rounds."""
    t = fresh(t)
    count = lambda model: db.session.scalar(db.select(db.func.count(model.id)))  # noqa: E731
    return (ticket_facts(t), t.event_count, t.version, t.head_hash, count(Event), count(SupervisionNotice),
            count(Clock), count(OutboxMessage), count(Handling), count(Feedback),
            sorted(db.session.scalars(db.select(TransferRequest.status))),
            [(n.status, n.explanation, n.conclusion) for n in db.session.scalars(
                db.select(SupervisionNotice).order_by(SupervisionNotice.id))])


def refused(t, action, actor, exc=Refused, **data):
    before = snapshot(t)
    with pytest.raises(exc):
        perform(fresh(t), action, actor, **data)
    assert snapshot(t) == before


def test_who_may_not_issue_explain_or_conclude(park, clock, cal):
    t = accepted(park, clock)
    clock(2026, 11, 19, 10, 0)
    for who in (park.hr_official, park.hr_head, park.coordinator, park.leader, park.admin, park.firm_user):
        refused(t, "issue_notice", who, reason="不该签发")
    refused(t, "issue_notice", park.inspector, InvalidInput, reason="   ")
    submitted = file_request(park)
    refused(submitted, "issue_notice", park.inspector, reason="尚无承办人")   # no lead yet

    perform(fresh(t), "issue_notice", park.inspector, reason="REASON-1")
    n = notice_of(t)
    # Concluding before the explanation; explaining as the inspector or as anyone but
    # the official and the department's heads.
    refused(t, "conclude_notice", park.inspector, conclusion="accepted", comment="过早")
    for who in (park.inspector, park.hr_other, park.fin_official, park.fin_head, park.coordinator,
                park.leader, park.firm_user):
        refused(t, "explain_notice", who, notice_id=n.id, explanation="不是我的")
    refused(t, "explain_notice", park.hr_official, InvalidInput, notice_id=n.id, explanation="")

    perform(fresh(t), "explain_notice", park.hr_official, notice_id=n.id, explanation="EXPLAIN-1")
    refused(t, "explain_notice", park.hr_official, notice_id=n.id, explanation="第二次")     # twice
    refused(t, "explain_notice", park.hr_head, explanation="第二次")
    refused(t, "conclude_notice", park.hr_official, notice_id=n.id, conclusion="accepted", comment="x")
    refused(t, "conclude_notice", park.inspector, InvalidInput, notice_id=n.id, conclusion="fired", comment="x")
    refused(t, "conclude_notice", park.inspector, InvalidInput, notice_id=n.id, conclusion="accepted", comment="")

    perform(fresh(t), "conclude_notice", park.inspector, notice_id=n.id, conclusion="accepted", comment="可以")
    refused(t, "conclude_notice", park.inspector, notice_id=n.id, conclusion="committee", comment="再次")
    assert fresh(t).state == "accepted"


def test_a_second_notice_and_a_notice_of_another_ticket(park, clock, cal):
    t = accepted(park, clock)
    other = accepted(park, clock, day=(2026, 11, 18))
    clock(2026, 11, 19, 10, 0)
    perform(t, "issue_notice", park.inspector, reason="第一份")
    perform(fresh(t), "issue_notice", park.inspector, reason="第二份")
    perform(other, "issue_notice", park.inspector, reason="别的工单")
    first, second, foreign = notice_of(t, 1), notice_of(t, 2), notice_of(other, 1)
    assert (first.number, second.number, foreign.number) == ("DB-2026-0001", "DB-2026-0002", "DB-2026-0003")
    assert [c.round for c in db.session.scalars(db.select(Clock).filter_by(ticket_id=t.id, kind="explanation")
                                                .order_by(Clock.id))] == [1, 2]
    # Two awaiting: the notice must be named; another ticket's notice is refused.
    refused(t, "explain_notice", park.hr_official, InvalidInput, explanation="哪一份？")
    refused(t, "explain_notice", park.hr_official, notice_id=foreign.id, explanation="别的工单")
    # A head of the department may explain, too.
    perform(fresh(t), "explain_notice", park.hr_head, notice_id=second.id, explanation="科长说明")
    assert (notice_of(t, 1).status, notice_of(t, 2).status) == ("issued", "explained")
    refused(t, "explain_notice", park.hr_official, notice_id=second.id, explanation="又一次")
    perform(fresh(t), "explain_notice", park.hr_official, explanation="只剩一份")   # the only one left
    assert notice_of(t, 1).explanation == "只剩一份"


def test_notices_on_a_handled_ticket_continue_after_it_closes(park, clock, cal):
    t = accepted(park, clock)
    clock(2026, 11, 18, 9, 0)
    handle(park, t)
    clock(2026, 11, 19, 10, 0)
    perform(fresh(t), "issue_notice", park.inspector, reason="回访不实")
    assert fresh(t).state == "handled" and fresh(t).clock_kind == "feedback"
    record_feedback(fresh(t), park.firm_user, solved="yes", rating="satisfied", comment="")
    assert fresh(t).state == "fed_back"
    refused(t, "issue_notice", park.inspector, reason="已办结")              # closed: no new notice
    perform(fresh(t), "explain_notice", park.hr_official, explanation="已回访")
    perform(fresh(t), "conclude_notice", park.inspector, conclusion="committee", comment="移交纪委")
    assert fresh(t).state == "fed_back" and notice_of(t).status == "concluded"


# --- the inspector changes no state, on any route --------------------------------------------


def _inspector_posts(park, clock):
    """(ticket, action, form fields) for every route that changes a ticket's state."""
    hr, fin = park.depts["hr"].id, park.depts["finance"].id
    clock(2026, 11, 17, 9, 0)
    submitted = file_request(park)
    acc = accepted(park, clock)
    pending = accepted(park, clock)
    perform(pending, "request_transfer", park.hr_official, to_department_id=fin, reason="属财政")
    handled = accepted(park, clock)
    handle(park, handled)
    return [
        (submitted, "accept", {"department_id": hr, "lead_id": park.hr_official.id}),
        (submitted, "reject", {"reason": "重复"}),
        (submitted, "withdraw", {"reason": "", "confirm": "y"}),
        (acc, "handle", {"outcome": "resolved", "what_was_done": "已解决", "explanation": "",
                         "contact_method": "phone", "contacted_on": "2026-11-17"}),
        (acc, "force_close", {"reason": "强制"}),
        (pending, "transfer", {"decision": "approve", "comment": "", "lead_id": park.fin_official.id}),
        (pending, "transfer", {"decision": "deny", "comment": "不同意"}),
        (handled, "feedback", {"solved": "yes", "rating": "satisfied", "comment": ""}),
        (handled, "feedback", {"solved": "no", "rating": "dissatisfied", "comment": "没解决"}),   # rework
        (handled, "force_close", {"reason": "强制"}),
    ]


def test_the_inspector_is_refused_on_every_route_that_changes_state(park, clock, cal, login, client):
    # Every state-changing action of the table, written out: a new one must be added here.
    assert {name for name, a in ACTIONS.items() if a.to_state} == {
        "accept", "reject", "withdraw", "handle", "feedback", "rework", "expire", "force_close", "transfer"}
    cases = _inspector_posts(park, clock)
    assert {a for _t, a, _f in cases} | {"rework", "expire"} == {
        "accept", "reject", "withdraw", "handle", "feedback", "rework", "expire", "force_close", "transfer"}
    clock(2026, 11, 18, 10, 0)
    login(park.inspector)
    for t, action, fields in cases:
        before = snapshot(t)
        resp = post(client, t, action, fields | {"version": fresh(t).version})
        assert resp.status_code == 403, (action, fields, resp.status_code)
        assert snapshot(t) == before, action
    # expire is the worker's: no route at all.
    t = cases[-1][0]
    assert client.post(f"/tickets/{t.number}/do/expire", data={}).status_code == 404
    assert client.post(f"/tickets/{t.number}/do/rework", data={}).status_code == 404
    # ...and the same through the service, for the actions of the table directly.
    for t, action, fields in cases:
        name = "rework" if fields.get("rating") == "dissatisfied" else (
            "deny_transfer" if fields.get("decision") == "deny" else action)
        refused(t, name, park.inspector, **fields)
    refused(cases[-1][0], "expire", park.inspector)


# --- the explanation clock in the sweep --------------------------------------------------------


def reminder_of(t: Ticket, level: str) -> dict:
    evs = [json.loads(e.details) for e in db.session.scalars(
        db.select(Event).filter_by(ticket_id=t.id, action="reminder").order_by(Event.seq))]
    found = [d for d in evs if d["clock"] == "explanation" and d["level"] == level]
    assert len(found) == 1, evs
    return found[0]


def step_rows(t: Ticket, level: str) -> list[tuple[int, str, str]]:
    st = db.session.scalar(db.select(ReminderStep).filter_by(ticket_id=t.id, clock_kind="explanation",
                                                             level=level))
    assert st is not None and st.deadline_version == 1
    return sorted((r.user_id, r.channel, r.kind) for r in db.session.scalars(
        db.select(OutboxMessage).filter_by(step_id=st.id)))


def test_explanation_clock_in_the_sweep_reaches_exactly_the_table(park, clock, cal):
    inspector2 = park.user("inspector2", "inspector")
    db.session.commit()
    # Accepted Tue 17 Nov (talent, 10 working days: due 24:00 Tue 1 Dec, yellow 00:00 Tue 1 Dec):
    # the handle clock raises nothing before 1 December.
    t = accepted(park, clock)
    clock(2026, 11, 19, 10, 0)
    perform(fresh(t), "issue_notice", park.inspector, reason="逾期")

    clock(2026, 11, 23, 11, 59, 59)
    assert sweep() == {}
    clock(2026, 11, 23, 12, 0)
    assert sweep() == {"explanation.yellow.raised": 1}
    d = reminder_of(t, "yellow")
    assert d["recipients"] == [park.hr_official.id] and d["round"] == 1
    assert d["due"] == "2026-11-23T16:00:00.000000Z"
    assert step_rows(t, "yellow") == told("reminder", park.hr_official)

    clock(2026, 11, 23, 23, 59)
    assert sweep() == {}
    clock(2026, 11, 24, 0, 0)
    assert sweep() == {"explanation.red.raised": 1}
    # The official, the head, and the inspector who issued it (not every inspector).
    assert sorted(reminder_of(t, "red")["recipients"]) == sorted([park.hr_official.id, park.hr_head.id,
                                                                  park.inspector.id])
    assert step_rows(t, "red") == told("reminder", park.hr_official, park.hr_head, park.inspector)

    clock(2026, 11, 26, 23, 59)
    assert sweep() == {}
    clock(2026, 11, 27, 0, 0)
    assert sweep() == {"explanation.red3.raised": 1}
    assert sorted(reminder_of(t, "red3")["recipients"]) == sorted([park.inspector.id, inspector2.id])
    assert step_rows(t, "red3") == told("reminder", park.inspector, inspector2)
    assert sweep() == {}

    t = fresh(t)
    assert (t.state, t.clock_kind, t.supervised_at) == ("accepted", "handle", None)
    assert explanation_clock(notice_of(t)).next_step_at is None
    assert verify_all() == (1, [])


def test_explaining_stops_the_clock_and_voids_its_reminders(park, clock, cal, app):
    t = accepted(park, clock)
    clock(2026, 11, 19, 10, 0)
    perform(fresh(t), "issue_notice", park.inspector, reason="逾期")
    clock(2026, 11, 23, 12, 0)
    assert sweep() == {"explanation.yellow.raised": 1}
    clock(2026, 11, 23, 15, 0)
    perform(fresh(t), "explain_notice", park.hr_official, explanation="已说明")
    for at in ((2026, 11, 24, 0, 0), (2026, 11, 27, 0, 0), (2026, 11, 30, 23, 0)):
        clock(*at)
        assert sweep() == {}
    st = db.session.scalar(db.select(ReminderStep).filter_by(ticket_id=t.id, level="yellow"))
    results = {outbox.deliver(r.id) for r in db.session.scalars(db.select(OutboxMessage).filter_by(step_id=st.id))}
    assert results == {"void"}
    ev = last_event(t)
    assert ev.action == "explain_notice" and json.loads(ev.details)["late"] is False


def test_explanation_due_counts_working_days_across_national_day(park, clock, cal, app):
    # Issued Tue 29 Sep 2026: Wed 30 Sep, then 1-7 Oct off, Thu 8 Oct: due 24:00 Thu 8 Oct.
    t = accepted(park, clock, day=(2026, 9, 28))
    clock(2026, 9, 29, 10, 0)
    perform(fresh(t), "issue_notice", park.inspector, reason="节前督办")
    c = explanation_clock(notice_of(t))
    assert (c.yellow_at, c.due_at, c.red3_at) == (
        datetime(2026, 10, 8, 4, 0),     # 12:00 Thu 8 Oct
        datetime(2026, 10, 8, 16, 0),    # 24:00 Thu 8 Oct
        datetime(2026, 10, 12, 16, 0),   # 24:00 Mon 12 Oct (Fri 9, Sat 10 make-up, Mon 12)
    )
    # The limit comes from the configuration.
    app.config["EXPLANATION_LIMIT_DAYS"] = 3
    perform(fresh(t), "issue_notice", park.inspector, reason="再次督办")
    c = explanation_clock(notice_of(t, 2))
    assert (c.limit_days, c.due_at) == (3, datetime(2026, 10, 9, 16, 0))   # 24:00 Fri 9 Oct


# --- numbers -----------------------------------------------------------------------------------


def test_numbers_per_year_without_duplicates(park, clock, cal, app):
    t = accepted(park, clock)
    clock(2026, 11, 19, 10, 0)
    perform(fresh(t), "issue_notice", park.inspector, reason="一")
    # Two threads, each with its own session, take numbers at the same time.
    from tickets.services.notices import next_notice_number

    taken: list[str] = []
    errors: list[str] = []

    def take(k):
        with app.app_context():
            try:
                for _ in range(k):
                    taken.append(next_notice_number(2026))
                    db.session.commit()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=take, args=(10,)) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert sorted(taken) == [f"DB-2026-{i:04d}" for i in range(2, 22)]

    perform(fresh(t), "issue_notice", park.inspector, reason="二")
    assert notice_of(t, 2).number == "DB-2026-0022"
    # A new year starts again at 0001 (Mon 4 Jan 2027, Shanghai).
    clock(2027, 1, 4, 10, 0)
    perform(fresh(t), "issue_notice", park.inspector, reason="三")
    assert notice_of(t, 3).number == "DB-2027-0001"
    numbers = list(db.session.scalars(db.select(SupervisionNotice.number)))
    assert len(numbers) == len(set(numbers)) == 3


def test_the_official_answers_after_the_ticket_moved_to_another_department(park, clock, cal, login, client):
    t = accepted(park, clock)
    clock(2026, 11, 19, 10, 0)
    perform(fresh(t), "issue_notice", park.inspector, reason="逾期")
    perform(fresh(t), "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id,
            reason="属财政")
    perform(fresh(t), "transfer", park.coordinator, lead_id=park.fin_official.id, comment="")
    assert (fresh(t).lead_id, fresh(t).state) == (park.fin_official.id, "accepted")
    # The notice still goes to the official it was issued to, who may still read and answer it.
    login(park.hr_official)
    assert form_for("explain_notice", client.get(f"/tickets/{t.number}").get_data(as_text=True))
    resp = post(client, t, "explain_notice", {"explanation": "转办前的延误说明"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert notice_of(t).status == "explained"
    # Answered: the ticket is the finance bureau's alone again.
    assert client.get(f"/tickets/{t.number}").status_code == 404
    login(park.fin_official)
    assert "转办前的延误说明" in client.get("/notices/DB-2026-0001").get_data(as_text=True)


def test_the_notice_list_filters_with_counts_and_overdue_explanations(park, clock, cal, login, client):
    """Open, answered, concluded and overdue (unanswered past the 2 working days), each with its count."""
    t1 = accepted(park, clock)
    clock(2026, 11, 19, 10, 0)
    perform(t1, "issue_notice", park.inspector, reason="REASON-8101")          # due Mon 23 Nov 24:00
    t2 = accepted(park, clock, day=(2026, 11, 18))
    clock(2026, 11, 19, 11, 0)
    perform(t2, "issue_notice", park.inspector, reason="REASON-8102")
    t4 = accepted(park, clock, day=(2026, 11, 16))
    clock(2026, 11, 19, 12, 0)
    perform(t4, "issue_notice", park.inspector, reason="REASON-8104")
    clock(2026, 11, 20, 9, 0)
    perform(t2, "explain_notice", park.hr_official, explanation="EXPLAIN-8102")
    perform(t4, "explain_notice", park.hr_official, explanation="EXPLAIN-8104")
    clock(2026, 11, 20, 10, 0)
    perform(t4, "conclude_notice", park.inspector, conclusion="accepted", comment="CONCLUDE-8104")
    t3 = accepted(park, clock, day=(2026, 11, 23))
    clock(2026, 11, 23, 11, 0)
    perform(t3, "issue_notice", park.inspector, reason="REASON-8103")          # due Wed 25 Nov 24:00

    def shown(query):
        html = client.get(f"/notices/{query}").get_data(as_text=True)
        counts = dict(re.findall(r'data-status="([a-z]*)" data-count="(\d+)"', html))
        return counts, re.findall(r'data-notice="(DB-2026-\d+)"', html)

    clock(2026, 11, 24, 10, 0)
    login(park.inspector)
    home = client.get("/help").get_data(as_text=True)
    assert 'data-nav="notices.index"' in home                                 # in the navigation
    counts, rows = shown("")
    assert counts == {"": "4", "issued": "2", "explained": "1", "concluded": "1", "overdue": "1"}
    assert rows == ["DB-2026-0004", "DB-2026-0003", "DB-2026-0002", "DB-2026-0001"]
    assert shown("?status=overdue")[1] == ["DB-2026-0001"]
    assert shown("?status=issued")[1] == ["DB-2026-0004", "DB-2026-0001"]
    assert shown("?status=concluded")[1] == ["DB-2026-0003"]
    assert shown("?status=explained")[1] == ["DB-2026-0002"]
    assert shown("?status=nonsense")[1] == ["DB-2026-0004", "DB-2026-0003", "DB-2026-0002", "DB-2026-0001"]
    clock(2026, 11, 26, 10, 0)                                                # the last one's due has passed too
    login(park.inspector)
    counts, rows = shown("?status=overdue")
    assert counts["overdue"] == "2" and rows == ["DB-2026-0004", "DB-2026-0001"]
    login(park.hr_official)
    assert 'data-nav="notices.index"' not in client.get("/help").get_data(as_text=True)
