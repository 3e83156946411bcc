"""The authorization matrix of the web app holds for the API too.

A token acts as its user: for every role and every action, the API answers as the ticket page does
(refused 403, unknown 404, or on to the form's validation). What a token may read is written out by hand:
a firm's token never sees another firm's request (404), an integration sees only its firms', an
inspector's token changes nothing.
"""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from flask import g
from werkzeug import security

import tickets.models.org as org
from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.lifecycle import target_state
from tickets.models import Event, Ticket
from tickets.reference import ensure_reference_data
from tickets.services import tokens
from tickets.services.actions import perform
from tickets.services.calendar import seed_year
from tickets.ticket.forms import FORMS
from tickets.timeutil import from_local, set_now

from .conftest import PASSWORD, Park, accept, drop_everything, file_request
from .pgsuite import separate_url

NOW = from_local(datetime(2026, 11, 24, 10))
ROLES = ("firm", "firm_b", "official", "fin_official", "head", "coordinator", "leader", "inspector", "admin",
         "service", "service_b")
# Who reads the ticket T (firm A, led by an HR official), written from DESIGN.md: everyone else gets 404.
READS_T = {"firm", "official", "head", "coordinator", "leader", "inspector", "service"}
READS_RATES = {"head", "coordinator", "leader", "inspector"}
READS_MEETING = {"head", "coordinator", "leader", "inspector"}
STAFF = {"official", "fin_official", "head", "coordinator", "leader", "inspector", "admin"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-authz")

    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp / "uploads")
        MAIL_DIR = str(tmp / "mail")
        SQLALCHEMY_DATABASE_URI = separate_url(tmp, "authz")   # SQLite, or a database of its own in the run's PostgreSQL

    app = create_app(Cfg)

    def _own_request_user():
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)

    app.before_request_funcs.setdefault(None, []).insert(0, _own_request_user)
    real_hash = security.generate_password_hash
    with pytest.MonkeyPatch.context() as mp, app.app_context():
        mp.setattr(org, "generate_password_hash",
                   lambda password, method=None, salt_length=16: real_hash(password, "pbkdf2:sha256:1000"))
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        seed_year(2026)
        park = Park()
        set_now(from_local(datetime(2026, 11, 20, 9)))
        t = file_request(park, title="甲公司的诉求")
        accept(park, t)
        b = file_request(park, user=park.firm_b_user, title="乙公司的诉求")
        set_now(NOW)
        from tickets.services.meeting import build_list, week_of

        build_list(week_of(NOW))
        users = {"firm": park.firm_user, "firm_b": park.firm_b_user, "official": park.hr_official,
                 "fin_official": park.fin_official, "head": park.hr_head, "coordinator": park.coordinator,
                 "leader": park.leader, "inspector": park.inspector, "admin": park.admin}
        secrets = {role: tokens.create_personal(u, "authz", ["read", "write"], 90)[1] for role, u in users.items()}
        for role, firm in (("service", park.firm_a), ("service_b", park.firm_b)):
            service = tokens.save_integration(park.admin, None, role, firm.credit_code)
            users[role] = service
            secrets[role] = tokens.create_service_token(park.admin, service, role, ["read", "write"], 90)[1]
        yield SimpleNamespace(app=app, park=park, users=users, secrets=secrets, number=t.number, other=b.number,
                              week=week_of(NOW))
        db.session.remove()
        drop_everything()
    set_now(None)


@pytest.fixture(autouse=True)
def known_now(world):
    set_now(NOW)
    yield
    set_now(None)


def call(world, role, method, path, **kw):
    client = world.app.test_client()
    headers = {"Authorization": f"Bearer {world.secrets[role]}"}
    resp = client.open("/api/v1" + path, method=method, headers=headers, **kw)
    db.session.rollback()
    return resp


@pytest.mark.parametrize("role", ROLES)
def test_who_reads_a_ticket(world, role):
    resp = call(world, role, "GET", f"/tickets/{world.number}")
    assert resp.status_code == (200 if role in READS_T else 404), resp.get_json()
    numbers = [t["number"] for t in call(world, role, "GET", "/tickets").get_json()["items"]]
    assert (world.number in numbers) == (role in READS_T)
    # Firm B's request: its firm, its integration and those who read everything.
    assert (world.other in numbers) == (role in {"firm_b", "service_b", "coordinator", "leader", "inspector"})


@pytest.mark.parametrize("role", ROLES)
def test_who_reads_the_rates_and_the_meeting_list(world, role):
    assert call(world, role, "GET", "/rates").status_code == (200 if role in READS_RATES else 403)
    assert call(world, role, "GET", "/meeting").status_code == (200 if role in READS_MEETING else 403)
    assert call(world, role, "GET", f"/meeting/{world.week}").status_code == (200 if role in READS_MEETING else 403)
    departments = call(world, role, "GET", "/departments").get_json()["items"]
    assert ("officials" in departments[0]) == (role in STAFF)


@pytest.mark.parametrize("role", ROLES)
def test_who_files_for_firm_a(world, role):
    body = {"firm": world.park.firm_a.credit_code, "category": "labor", "title": "", "description": "x",
            "contact_name": "王经理", "contact_phone": "13800138000"}
    resp = call(world, role, "POST", "/tickets", json=body)
    # The empty title is refused (400) for whoever may file for firm A: its own firm, its integration,
    # a coordinator and its liaison leader. Everyone else is refused before the form is read.
    assert resp.status_code == (400 if role in {"firm", "service", "coordinator", "leader"} else 403), resp.get_json()


def _web_answer(world, role, action) -> str:
    if role.startswith("service"):
        # No web sign-in for an integration: it reads T as its firm does and may take no action on it, so
        # the ticket page would refuse it every action that T's state allows, and read the form of the others.
        if role == "service_b":
            return "HIDE"
        return "DENY" if target_state("accepted", action) is not None else "OK"
    client = world.app.test_client()
    client.post("/login", data={"username": world.users[role].username, "password": PASSWORD})
    resp = client.post(f"/tickets/{world.number}/do/{action}", data={})
    db.session.rollback()
    return {403: "DENY", 404: "HIDE"}.get(resp.status_code, "OK")


@pytest.mark.parametrize("action", sorted(FORMS))
@pytest.mark.parametrize("role", ROLES)
def test_every_action_is_refused_as_on_the_ticket_page(world, role, action):
    ticket = db.session.scalar(db.select(Ticket).filter_by(number=world.number))
    events = ticket.event_count
    resp = call(world, role, "POST", f"/tickets/{world.number}/actions/{action}", json={})
    api = {403: "DENY", 404: "HIDE"}.get(resp.status_code, "OK")
    assert api == _web_answer(world, role, action), resp.get_json()
    assert resp.status_code != 200  # an empty body never passes a form
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).event_count == events


@pytest.mark.parametrize("action,body", [
    ("note", {"text": "督查意见", "visibility": "internal"}),
    ("accept", {"lead_id": 0, "department_id": 0}),
    ("handle", {"outcome": "resolved", "what_was_done": "x", "contact_method": "phone", "contacted_on": "2026-11-24"}),
    ("force_close", {"reason": "督查"}),
])
def test_an_inspector_token_changes_nothing(world, action, body):
    ticket = db.session.scalar(db.select(Ticket).filter_by(number=world.number))
    before = (ticket.state, ticket.event_count, db.session.scalar(db.select(db.func.count()).select_from(Event)))
    resp = call(world, "inspector", "POST", f"/tickets/{world.number}/actions/{action}", json=body)
    assert resp.status_code == 403 and resp.content_type == "application/problem+json"
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.state, ticket.event_count,
            db.session.scalar(db.select(db.func.count()).select_from(Event))) == before


def test_a_service_token_may_not_act_on_its_firms_tickets_beyond_filing(world):
    resp = call(world, "service", "POST", f"/tickets/{world.number}/actions/note", json={"text": "x"})
    assert resp.status_code == 403
