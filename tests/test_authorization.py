"""The authorization matrix: every route of the URL map × every role, the answer written out.

EXPECTED below is written by hand from DESIGN.md (roles) and the issue, deliberately not derived
from tickets/permissions.py. Each row is an endpoint; each role's answer is one of
  OK     the page (2xx), or the action's own answer to the empty or minimal form sent here:
         a redirect elsewhere than the sign-in page, or 400 for the form's missing fields;
  LOGIN  302 to the sign-in page;
  DENY   403;
  HIDE   404 (the user may not learn that the thing exists).
Roles are chosen so that "own" and "foreign" are both tried: the ticket T belongs to firm A and
is led by an HR official; `firm_b` is another firm's user and `fin_official` an official of
another department. A notification is tried as the user's own (`mark_read`) and another user's
(`mark_read_foreign`).

A route added to the app without a row here fails `test_every_route_has_a_row`.
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
from tickets.models import Attachment, Notification, OutboxMessage, SupervisionNotice, WebhookSubscriber
from tickets.reference import ensure_reference_data
from tickets.services.actions import perform
from tickets.services.calendar import seed_year
from tickets.services.common import Upload
from tickets.timeutil import from_local, set_now

from .conftest import PASSWORD, Park, accept, drop_everything, file_request
from .pgsuite import separate_url

OK, LOGIN, DENY, HIDE = "OK", "LOGIN", "DENY", "HIDE"
ROLES = ("anonymous", "firm", "firm_b", "official", "fin_official", "head", "coordinator", "leader", "inspector",
         "admin")
SIGNED_IN = ROLES[1:]
NOW = from_local(datetime(2026, 11, 24, 10))
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def only(*roles, other=DENY, anonymous=LOGIN):
    """OK for `roles`, `other` for every other signed-in role, `anonymous` for the anonymous visitor."""
    row = {r: (OK if r in roles else other) for r in SIGNED_IN}
    row["anonymous"] = anonymous
    return row


EVERYONE = only(*SIGNED_IN, anonymous=OK)
SIGNED = only(*SIGNED_IN)
ADMIN = only("admin")
STAFF_QUEUE = only("official", "fin_official", "head", "coordinator", "leader", "inspector")
DESK = only("coordinator", "leader", "inspector")
# The weekly meeting list: read by inspectors too (they read everything); decided by coordinators.
MEETING = only("coordinator", "leader", "head", "inspector")
RATES = only("coordinator", "leader", "head", "inspector")
# The ticket T (firm A, HR): its firm, HR's officials and head, and those who read everything.
# Everyone else (another firm, another department, the admin) is never told it exists.
TICKET = only("firm", "official", "head", "coordinator", "leader", "inspector", other=HIDE)
# Its supervision notice: staff who read the ticket's internal record; never a firm.
NOTICE = only("official", "head", "coordinator", "leader", "inspector", other=HIDE)

EXPECTED = {
    "static": EVERYONE,
    "auth.index": only(*SIGNED_IN),      # a redirect home, or to the sign-in page
    "auth.login": EVERYONE,
    "auth.language": EVERYONE,
    # Signing out ends with the sign-in page for everyone (anonymous: asked to sign in first).
    "auth.logout": only(other=LOGIN),
    "auth.help": SIGNED,
    # Another role's help (here the inspector's): staff read every role's; a firm only its own.
    "auth.help_role": only("official", "fin_official", "head", "coordinator", "leader", "inspector", "admin",
                           other=HIDE),
    "auth.favicon": EVERYONE,
    # The load balancer's health checks: no session, no user.
    "health.healthz": EVERYONE,
    "health.readyz": EVERYONE,
    "auth.change_password": SIGNED,
    # One's own API tokens; the token tried here is the firm user's (another user's: 404).
    "auth.api_tokens": SIGNED,
    "auth.revoke_api_token": only("firm", other=HIDE),
    "firm.my_requests": only("firm", "firm_b"),
    "firm.new_request": only("firm", "firm_b"),
    "desk.queue": STAFF_QUEUE,
    "desk.queue_page": STAFF_QUEUE,
    # Extension and transfer decisions: heads and coordinators.
    "desk.approvals": only("head", "coordinator"),
    # Filing on a firm's behalf: coordinators, and the leader who is firm A's liaison.
    "desk.file_for": only("coordinator", "leader"),
    "ticket.view": TICKET,
    "ticket.attachment": TICKET,
    # An internal note on T: the staff of T write it; its firm, leaders and inspectors read T but may not.
    "ticket.act": {**TICKET, "firm": DENY, "leader": DENY, "inspector": DENY},
    "inbox.index": SIGNED,
    "inbox.mark_all_read": SIGNED,
    "inbox.mark_read": SIGNED,
    "inbox.mark_read_foreign": only(other=HIDE),
    "inspect.desk": DESK,
    "inspect.audit": only("leader", "inspector"),
    "inspect.audit_run": only("inspector"),
    "notices.index": DESK,
    "notices.view": NOTICE,
    "notices.print_view": NOTICE,
    "meeting.current": MEETING,
    "meeting.week": MEETING,
    "meeting.xlsx": MEETING,
    "meeting.print_view": MEETING,
    "meeting.build_now": only("coordinator"),
    "meeting.decide": only("coordinator"),
    "rates.dashboard": RATES,
    "rates.download": RATES,
    "exports.index": only("inspector"),
    **{f"admin.{name}": ADMIN for name in (
        "index", "users", "user_new", "user_edit", "user_unlock", "firms", "firm_new", "firm_edit",
        "departments", "department_new", "department_edit", "categories", "category_new", "category_edit",
        "calendar", "calendar_day", "calendar_load", "calendar_schedule", "calendar_schedule_file",
        "calendar_schedule_sample", "import_people_page", "import_template", "worker", "worker_retry",
        "security_log_page", "integrations", "integration_new", "integration_edit", "integration_token_new",
        "integration_token_revoke", "webhooks", "webhook_new", "webhook_edit", "webhook_secret", "webhook_log",
        "webhook_replay")},
    # The API reads no session cookie: signed in or not, a call without a token is 401 (the token matrix is
    # tests/test_api_authorization.py). Its specification and documentation page are public.
    **{f"api.{name}": only(other="401", anonymous="401") for name in (
        "list_tickets", "create_ticket", "get_ticket", "ticket_action", "categories", "departments", "rates",
        "meeting_weeks", "meeting_list")},
    **{f"api.{name}": EVERYONE for name in ("openapi", "docs", "docs_asset")},
}
# The minimal valid form a row posts, so that the permission (not the form) decides.
FORMS = {"ticket.act": {"note-text": "内部备注", "note-visibility": "internal"}}
# Rows that try a variant of another endpoint's route.
VARIANTS = {"inbox.mark_read_foreign": "inbox.mark_read"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("authz")

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
        # A webhook subscriber, so that the ticket filed below has a delivery for its log and replay pages.
        hook = WebhookSubscriber(name="ERP", url="https://erp.example.com/hook", secret="x" * 43, events="file")
        db.session.add(hook)
        db.session.commit()
        set_now(from_local(datetime(2026, 11, 20, 9)))
        t = file_request(park, title="甲公司的诉求", uploads=[Upload("plan.pdf", PDF)])
        accept(park, t)
        perform(t, "issue_notice", park.inspector, reason="督办")
        set_now(NOW)
        from tickets.services.meeting import build_list, week_of

        week = week_of(NOW)
        build_list(week)
        users = {"firm": park.firm_user, "firm_b": park.firm_b_user, "official": park.hr_official,
                 "fin_official": park.fin_official, "head": park.hr_head, "coordinator": park.coordinator,
                 "leader": park.leader, "inspector": park.inspector, "admin": park.admin}
        notes = {}
        for role, user in users.items():
            n = Notification(key=f"authz:{role}", user_id=user.id, ticket_id=None, kind="digest",
                             params='{"day": "2026-11-23", "digest": "x"}', created_at=NOW)
            db.session.add(n)
            db.session.flush()
            notes[role] = n.id
        db.session.commit()
        from tickets.services import tokens

        personal, _raw = tokens.create_personal(park.firm_user, "authz", ["read"], 90)
        service = tokens.save_integration(park.admin, None, "authz", park.firm_a.credit_code)
        service_token, _raw = tokens.create_service_token(park.admin, service, "authz", ["read"], 90)
        att = db.session.scalar(db.select(Attachment).filter_by(ticket_id=t.id))
        notice = db.session.scalar(db.select(SupervisionNotice).filter_by(ticket_id=t.id))
        delivery = db.session.scalar(db.select(OutboxMessage.id).filter_by(subscriber_id=hook.id))
        yield SimpleNamespace(app=app, park=park, users=users, number=t.number, attachment=att.id,
                              notice=notice.number, week=week, notes=notes, firm_id=park.firm_a.id,
                              dept_id=park.depts["hr"].id, cat_id=park.category("labor").id,
                              personal_token=personal.id, service_id=service.id, service_token=service_token.id,
                              subscriber_id=hook.id, outbox_id=delivery)
        db.session.remove()
        drop_everything()
    set_now(None)


@pytest.fixture(autouse=True)
def known_now(world):
    set_now(NOW)
    yield
    set_now(None)


def url_for_row(world, row: str, role: str) -> tuple[str, str]:
    """(method, path) that the row tries, for `role` (whose own notification is theirs)."""
    from flask import url_for

    endpoint = VARIANTS.get(row, row)
    rule = next(r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint)
    method = "GET" if "GET" in rule.methods else "POST"
    other = "coordinator" if role != "coordinator" else "firm"
    values = {"number": world.number, "attachment_id": world.attachment, "week": world.week, "lang": "zh",
              "filename": "app.css", "action": "note", "role": "inspector", "user_id": world.users["firm"].id,
              "firm_id": world.firm_id, "dept_id": world.dept_id, "cat_id": world.cat_id,
              "subscriber_id": world.subscriber_id, "outbox_id": world.outbox_id,
              "notification_id": world.notes.get(other if row == "inbox.mark_read_foreign" else role,
                                                 world.notes["firm"])}
    if endpoint.startswith("notices."):
        values["number"] = world.notice
    values.update(service_id=world.service_id, filename="swagger-ui.css" if endpoint == "api.docs_asset" else
                  values["filename"], week="2026-W48" if endpoint == "api.meeting_list" else values["week"],
                  token_id=world.personal_token if endpoint == "auth.revoke_api_token" else world.service_token)
    with world.app.test_request_context():
        path = url_for(endpoint, **{k: v for k, v in values.items() if k in rule.arguments})
    return method, path


def answer(resp) -> str:
    if resp.status_code == 302 and "/login" in resp.headers.get("Location", ""):
        return LOGIN
    if resp.status_code == 403:
        return DENY
    if resp.status_code == 404:
        return HIDE
    if resp.status_code < 400 or resp.status_code == 400:
        return OK
    if resp.status_code == 503 and resp.headers.get("Cache-Control") == "no-store" and resp.is_json \
            and set(resp.get_json()) == {"database", "redis"}:
        return OK  # /readyz's own answer: no Redis runs for these tests
    return str(resp.status_code)


def cells():
    return [(row, role) for row in EXPECTED for role in ROLES]


@pytest.mark.parametrize("row,role", cells())
def test_authorization_matrix(world, row, role):
    client = world.app.test_client()
    if role != "anonymous":
        resp = client.post("/login", data={"username": world.users[role].username, "password": PASSWORD})
        assert resp.status_code == 302 and "/login" not in resp.headers["Location"], role
    method, path = url_for_row(world, row, role)
    resp = client.get(path) if method == "GET" else client.post(path, data=FORMS.get(row, {}))
    db.session.rollback()
    assert answer(resp) == EXPECTED[row][role], (row, role, method, path, resp.status_code,
                                                 resp.headers.get("Location"))


def test_every_route_has_a_row(world):
    endpoints = {r.endpoint for r in world.app.url_map.iter_rules()}
    rows = {VARIANTS.get(row, row) for row in EXPECTED}
    assert endpoints - rows == set(), "routes without a row in the authorization matrix"
    assert rows - endpoints == set(), "rows for routes that do not exist"
    assert all(set(EXPECTED[row]) == set(ROLES) for row in EXPECTED)


NAV = ("firm.my_requests", "firm.new_request", "desk.queue", "desk.approvals", "desk.file_for", "inspect.desk",
       "notices.index", "meeting.current", "rates.dashboard", "exports.index", "admin.index")


@pytest.mark.parametrize("role", SIGNED_IN)
def test_the_navigation_shows_exactly_the_pages_the_rules_open(world, role):
    import re

    client = world.app.test_client()
    client.post("/login", data={"username": world.users[role].username, "password": PASSWORD})
    html = client.get("/help").get_data(as_text=True)
    shown = set(re.findall(r'data-nav="([a-z_.]+)"', html))
    assert shown == {e for e in NAV if EXPECTED[e][role] == OK}, role
