"""The whole loop through the API only: a service token files for a firm, an official's token accepts and
handles, the firm's token rates. Every step is checked against the record the web pages read."""
from __future__ import annotations

from tickets.extensions import db
from tickets.models import Event, Ticket
from tickets.timeutil import local_today

from .api_support import Api, integration, token_for
from .conftest import Park

NEW = {"category": "labor", "title": "招工难", "description": "缺少 30 名操作工", "contact_name": "王经理",
       "contact_phone": "13800138000"}


def test_the_loop_through_the_api_only(app, client):
    park = Park()
    _service, service_token = integration(park, [park.firm_a])
    platform = Api(client, service_token)
    coordinator = Api(client, token_for(park.coordinator))
    official = Api(client, token_for(park.hr_official))
    firm = Api(client, token_for(park.firm_user))

    resp = platform.post("/tickets", {**NEW, "firm": park.firm_a.credit_code})
    assert resp.status_code == 201, resp.get_json()
    number = resp.get_json()["number"]
    assert resp.headers["Location"] == f"/api/v1/tickets/{number}"
    body = resp.get_json()
    assert body["state"]["code"] == "submitted"
    assert body["state"]["label"] == {"zh": "待受理", "en": "Awaiting acceptance"}
    assert body["channel"]["code"] == "platform"

    resp = coordinator.act(number, "accept", lead_id=park.hr_official.id, department_id=park.depts["hr"].id)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["state"]["code"] == "accepted"
    assert resp.get_json()["lead"]["name"] == park.hr_official.name

    resp = official.act(number, "handle", outcome="resolved", what_was_done="推荐了 30 名工人",
                        contact_method="phone", contacted_on=local_today().isoformat())
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["state"]["code"] == "handled"

    resp = firm.act(number, "rate", solved="yes", rating="satisfied", comment="谢谢")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["state"]["code"] == "fed_back"
    assert resp.get_json()["rating"]["label"]["zh"] == "满意"

    ticket = db.session.scalar(db.select(Ticket).filter_by(number=number))
    actions = [e.action for e in db.session.scalars(db.select(Event).filter_by(ticket_id=ticket.id).order_by(Event.seq))]
    assert [a for a in actions if a != "clock_started"] == ["file", "accept", "handle", "feedback"]
    assert ticket.submitter.is_service

    detail = firm.get(f"/tickets/{number}").get_json()
    assert [e["event"]["code"] for e in detail["timeline"]][0] == "file"
    assert detail["actions"] == []


def test_the_firm_reads_only_the_public_record(app, client):
    park = Park()
    firm = Api(client, token_for(park.firm_user))
    coordinator = Api(client, token_for(park.coordinator))
    number = firm.post("/tickets", NEW).get_json()["number"]
    coordinator.act(number, "accept", lead_id=park.hr_official.id, department_id=park.depts["hr"].id,
                    note="内部说明")
    coordinator.act(number, "note", text="只给员工看", visibility="internal")
    seen = firm.get(f"/tickets/{number}").get_json()
    assert "只给员工看" not in str(seen) and "内部说明" not in str(seen)
    staff = coordinator.get(f"/tickets/{number}").get_json()
    assert "只给员工看" in str(staff)


def test_the_form_validation_answers_in_both_languages_and_writes_nothing(app, client):
    park = Park()
    firm = Api(client, token_for(park.firm_user))
    resp = firm.post("/tickets", {**NEW, "title": "", "category": "no-such"})
    assert resp.status_code == 400
    assert resp.content_type == "application/problem+json"
    problem = resp.get_json()
    assert set(problem["errors"]) == {"title", "category"}
    assert problem["errors"]["title"]["zh"] != problem["errors"]["title"]["en"]
    # The filing service's own rules, as on the web form: a phone number that is none.
    problem = firm.post("/tickets", {**NEW, "contact_phone": "12"}).get_json()
    assert problem["status"] == 400 and set(problem["errors"]) == {"contact_phone"}
    assert problem["errors"]["contact_phone"]["zh"] == "请输入有效的手机号码或固定电话号码。"
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0


def test_a_read_only_token_changes_nothing(app, client):
    park = Park()
    firm = Api(client, token_for(park.firm_user, scopes=("read",)))
    resp = firm.post("/tickets", NEW)
    assert resp.status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0
