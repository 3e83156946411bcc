"""The requests of the API: the list's filters and keyset pages, the lifecycle actions one by one, the
optimistic lock, and the figures, which are the dashboard's and the meeting list's own."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from tickets.extensions import db
from tickets.models import ExtensionRequest, Ticket, TransferRequest
from tickets.services.rates import compute, export, month_of
from tickets.timeutil import local_today, now, set_now

from .api_support import Api, token_for
from .conftest import Park, accept, file_request, handle


@pytest.fixture
def world(app, client):
    park = Park()
    return park, {name: Api(client, token_for(getattr(park, name))) for name in (
        "firm_user", "firm_b_user", "coordinator", "hr_official", "hr_head", "fin_head", "leader", "inspector")}


def numbers(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [t["number"] for t in resp.get_json()["items"]]


def test_the_list_pages_by_keyset_in_the_order_of_the_last_change_and_never_by_offset(world):
    park, api = world
    filed = []
    for i in range(7):
        filed.append(file_request(park, title=f"诉求 {i}").number)
        set_now(now() + timedelta(minutes=1))
    statements = []

    def seen(conn, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        pages, cursor = [], None
        while True:
            resp = api["coordinator"].get("/tickets", limit=3, **({"cursor": cursor} if cursor else {}))
            pages.append(numbers(resp))
            cursor = resp.get_json()["next_cursor"]
            if cursor is None:
                break
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [n for p in pages for n in p] == filed
    pages_read = [(s, p) for s, p in statements if s.startswith("SELECT tickets.id")]
    assert len(pages_read) == 3
    # SQLite's dialect writes "LIMIT ? OFFSET ?" for every LIMIT; the offset is always 0: the cursor pages.
    assert all("OFFSET" not in s.upper() or p[-1] == 0 for s, p in pages_read), pages_read
    # A change moves a request to the end of the order: a sync that kept its cursor reads it again.
    set_now(now() + timedelta(minutes=1))
    accept(park, db.session.scalar(db.select(Ticket).filter_by(number=filed[0])))
    assert numbers(api["coordinator"].get("/tickets", updated_since=(now() - timedelta(seconds=1)).isoformat()
                                          + "Z")) == [filed[0]]


def test_the_filters(world, clock):
    park, api = world
    clock(2026, 11, 16, 9)
    late = file_request(park, title="逾期的")
    accept(park, late)
    b = file_request(park, user=park.firm_b_user, title="乙公司的", category_id=park.category("financing").id)
    clock(2026, 11, 24, 10)
    fresh = file_request(park, title="新的")
    coordinator = api["coordinator"]
    assert numbers(coordinator.get("/tickets", state="accepted")) == [late.number]
    assert sorted(numbers(coordinator.get("/tickets", state="submitted,accepted"))) == sorted(
        [late.number, b.number, fresh.number])
    assert numbers(coordinator.get("/tickets", category="financing")) == [b.number]
    assert numbers(coordinator.get("/tickets", department="hr")) == [late.number]
    assert late.number in numbers(coordinator.get("/tickets", warning_level="red")) + numbers(
        coordinator.get("/tickets", warning_level="red3"))
    assert fresh.number not in numbers(coordinator.get("/tickets", warning_level="red"))
    # The firm's token filters only its own.
    assert numbers(api["firm_b_user"].get("/tickets", state="submitted,accepted")) == [b.number]
    for bad in ({"state": "open"}, {"category": "nope"}, {"department": "x" * 40}, {"warning_level": "pink"},
                {"updated_since": "yesterday"}, {"limit": "0"}, {"limit": "101"}, {"cursor": "not-ours"}):
        resp = coordinator.get("/tickets", **bad)
        assert resp.status_code == 400 and set(resp.get_json()["errors"]) == set(bad), bad


def test_each_lifecycle_action_through_the_api(world):
    park, api = world
    t = file_request(park)
    assert api["coordinator"].act(t.number, "reject", reason="").status_code == 400
    r = api["coordinator"].act(t.number, "reject", reason="不属于园区职责")
    assert r.get_json()["state"]["code"] == "rejected"

    w = file_request(park)
    assert api["firm_user"].act(w.number, "withdraw", reason="已自行解决").status_code == 400  # not confirmed
    assert api["firm_user"].act(w.number, "withdraw", confirm=True).get_json()["state"]["code"] == "withdrawn"

    t = file_request(park)
    accept(park, t)
    official, head = api["hr_official"], api["hr_head"]
    resp = official.act(t.number, "extension", days=3, reason="需要现场核实", public_reason="需要现场核实")
    assert resp.status_code == 200, resp.get_json()
    assert head.act(t.number, "decide_extension", decision="approve").status_code == 200
    assert db.session.scalar(db.select(ExtensionRequest.status).filter_by(ticket_id=t.id)) == "approved"
    assert official.act(t.number, "note", text="已电话联系", visibility="public").status_code == 200
    assert official.act(t.number, "ask", text="请提供岗位清单").status_code == 200
    assert api["firm_user"].act(t.number, "reply", text="已发邮件").status_code == 200
    fin = park.depts["finance"].id
    resp = official.act(t.number, "request_transfer", to_department_id=fin, reason="属于融资问题")
    assert resp.status_code == 200, resp.get_json()
    resp = api["coordinator"].act(t.number, "transfer", decision="approve", lead_id=park.fin_official.id)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["department"]["code"] == "finance"
    assert db.session.scalar(db.select(TransferRequest.status).filter_by(ticket_id=t.id)) == "approved"
    # The HR official no longer sees it; the finance official handles it; the firm asks for rework.
    assert official.get(f"/tickets/{t.number}").status_code == 404
    fin_official = Api(official.client, token_for(park.fin_official))
    resp = fin_official.act(t.number, "handle", outcome="partly", what_was_done="对接了银行",
                            explanation="额度有限", contact_method="visit", contacted_on=local_today().isoformat())
    assert resp.status_code == 200, resp.get_json()
    resp = api["firm_user"].act(t.number, "rate", solved="no", rating="dissatisfied", comment="没有解决")
    assert resp.get_json()["state"]["code"] == "accepted" and resp.get_json()["round"] == 2


def test_a_stale_version_is_refused_and_changes_nothing(world):
    park, api = world
    t = file_request(park)
    version = api["coordinator"].get(f"/tickets/{t.number}").get_json()["version"]
    api["coordinator"].act(t.number, "note", text="先记一笔", visibility="internal")
    resp = api["coordinator"].act(t.number, "reject", reason="重复", version=version)
    assert resp.status_code == 409 and resp.content_type == "application/problem+json"
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).state == "submitted"


def test_bad_bodies_are_refused_with_a_message(world, client):
    park, api = world
    t = file_request(park)
    events = t.event_count
    headers = api["coordinator"].headers({"Content-Type": "application/json"})
    for body in (b"[1, 2]", b"{not json", b'{"reason": ["a", "b"]}'):
        resp = client.post(f"/api/v1/tickets/{t.number}/actions/reject", data=body, headers=headers)
        assert resp.status_code == 400, body
        assert resp.get_json()["messages"]["zh"]
    resp = client.post(f"/api/v1/tickets/{t.number}/actions/reject", data="reason=x",
                       headers=api["coordinator"].headers({"Content-Type": "application/x-www-form-urlencoded"}))
    assert resp.status_code == 400
    assert api["coordinator"].act(t.number, "no_such_action").status_code == 404
    assert api["coordinator"].get("/tickets/2026-999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).event_count == events


def test_the_rates_are_the_dashboards_own_figures(world):
    park, api = world
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    resp = api["leader"].get("/rates", by="department")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    period = month_of(local_today())
    assert (body["from"], body["to"]) == (period.first.isoformat(), period.last.isoformat())
    expected = {str(r["unit"]): r for r in export.structured(compute(period, "department", locale="zh"))}
    for row in body["rows"]:
        assert row["on_time_handling"] == expected[row["unit"]]["on_time_handling"]
        assert row["label"]["zh"] == expected[row["unit"]]["label"]
    assert api["leader"].get("/rates", week="2026-W99").status_code == 400
    assert api["firm_user"].get("/rates").status_code == 403


def test_the_meeting_list_says_codes_with_their_labels(world):
    park, api = world
    t = file_request(park)
    from tickets.services.meeting import build_list, week_of

    build_list(week_of(now()))
    weeks = api["inspector"].get("/meeting").get_json()["weeks"]
    assert weeks == [week_of(now())]
    data = api["inspector"].get(f"/meeting/{weeks[0]}").get_json()
    item = data["open"][0]["items"][0]
    assert item["number"] == t.number
    assert item["state"] == {"code": "submitted", "label": {"zh": "待受理", "en": "Awaiting acceptance"}}
    assert data["name"]["zh"] == "项目提速增效会议诉求清单"
    assert api["inspector"].get("/meeting/2020-W01").status_code == 404
