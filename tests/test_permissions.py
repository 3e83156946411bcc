"""Who sees and does what, through HTTP: 404 for what a user may not know, 403 for pages of
other roles, nothing written by refused posts, what the firm's page hides, safe redirects,
CSRF, and escaping."""
from __future__ import annotations

import os
import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from werkzeug.routing import IntegerConverter

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.forms_common import new_form_token
from tickets.models import Attachment, Clock, Event, Ticket
from tickets.reference import ensure_reference_data
from tickets.services.actions import perform
from tickets.services.common import Upload
from tickets.timeutil import now, to_local

from .records import count, snapshot
from .conftest import PASSWORD, Park, accept, file_request, handle

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def today() -> date:
    return to_local(now()).date()


def page(client, url: str, status: int = 200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    return resp.get_data(as_text=True)


def ticket_url(t: Ticket) -> str:
    return f"/tickets/{t.number}"


def post_action(client, t: Ticket, action: str, fields: dict):
    data = {f"{action}-{k}": v for k, v in fields.items()}
    return client.post(f"/tickets/{t.number}/do/{action}", data=data)


# --- firms see only their own ----------------------------------------------------------------


def test_firm_user_gets_404_for_another_firms_ticket_and_attachment(park, login, client):
    t = file_request(park, title="甲公司的秘密请求", uploads=[Upload("plan.pdf", PDF)])
    att = db.session.scalar(db.select(Attachment).filter_by(ticket_id=t.id))
    assert att is not None and att.public

    # the own firm sees both
    login(park.firm_user)
    page(client, ticket_url(t))
    assert client.get(f"/tickets/{t.number}/attachments/{att.id}").status_code == 200
    assert t.number in page(client, "/firm/requests")

    login(park.firm_b_user)
    missing = client.get("/tickets/BH-NOPE-000999")
    resp = client.get(ticket_url(t))
    assert resp.status_code == 404 and missing.status_code == 404
    # the same answer as for a ticket that does not exist: no existence oracle
    assert resp.get_data(as_text=True).replace(t.number, "N") == \
        missing.get_data(as_text=True).replace("BH-NOPE-000999", "N")
    assert "甲公司的秘密请求" not in resp.get_data(as_text=True)
    assert client.get(f"/tickets/{t.number}/attachments/{att.id}").status_code == 404
    listing = page(client, "/firm/requests")
    assert t.number not in listing and "甲公司的秘密请求" not in listing
    # nor can it act on it: the action route answers 404 as well, and writes nothing
    before = snapshot(t.id)
    assert post_action(client, t, "withdraw", {"reason": "x"}).status_code == 404
    assert snapshot(t.id) == before


def test_firm_cannot_fetch_an_internal_attachment_of_its_own_ticket(park, login, client):
    t = file_request(park)
    accept(park, t)
    perform(t, "note", park.hr_official, text="内部材料", visibility="internal",
            uploads=[Upload("internal.pdf", PDF)])
    att = db.session.scalar(db.select(Attachment).filter_by(ticket_id=t.id))
    assert not att.public
    login(park.firm_user)
    assert client.get(f"/tickets/{t.number}/attachments/{att.id}").status_code == 404
    assert "internal.pdf" not in page(client, ticket_url(t))
    login(park.hr_other)
    assert client.get(f"/tickets/{t.number}/attachments/{att.id}").status_code == 200


# --- officials see their department's tickets -------------------------------------------------


def test_officials_see_their_department_only(park, login, client):
    t = file_request(park)
    accept(park, t)  # HR, lead hr_official
    for user in (park.fin_official, park.fin_head):
        login(user)
        page(client, ticket_url(t), 404)
        before = snapshot(t.id)
        resp = post_action(client, t, "note", {"text": "x", "visibility": "internal"})
        assert resp.status_code == 404 and snapshot(t.id) == before
    for user in (park.hr_official, park.hr_other, park.hr_head):
        login(user)
        page(client, ticket_url(t))


def test_coordinator_leader_inspector_see_every_ticket(park, login, client):
    a_sub = file_request(park)
    a_acc = file_request(park)
    accept(park, a_acc)
    b_sub = file_request(park, user=park.firm_b_user)
    b_acc = file_request(park, user=park.firm_b_user, category_id=park.category("financing").id)
    accept(park, b_acc, lead=park.fin_official)
    for user in (park.coordinator, park.leader, park.inspector):
        login(user)
        for t in (a_sub, a_acc, b_sub, b_acc):
            page(client, ticket_url(t))


# --- the inspector changes nothing ------------------------------------------------------------


def _forms(park, t):
    """Valid form data for each action, and who may post it."""
    return {
        "accept": (park.coordinator, {"department_id": park.depts["hr"].id, "lead_id": park.hr_official.id,
                                      "note": ""}),
        "reject": (park.coordinator, {"reason": "重复提交"}),
        "withdraw": (park.firm_user, {"reason": "", "confirm": "y"}),
        "handle": (park.hr_official, {"outcome": "resolved", "what_was_done": "推荐工人", "explanation": "",
                                      "contact_method": "phone", "contacted_on": today().isoformat()}),
        "feedback": (park.firm_user, {"solved": "yes", "rating": "satisfied", "comment": ""}),
        "rework": (park.firm_user, {"solved": "no", "rating": "dissatisfied", "comment": "还是缺人"}),
        "force_close": (park.coordinator, {"reason": "企业已注销"}),
        "transfer": (park.coordinator, {"decision": "approve", "comment": "同意", "lead_id": ""}),
        "ask": (park.hr_official, {"text": "请补充材料"}),
        "note": (park.hr_official, {"text": "备注", "visibility": "public"}),
        "request_extension": (park.hr_official, {"days": "3", "reason": "内部原因", "public_reason": "需要协调"}),
        "request_transfer": (park.hr_official, {"to_department_id": park.depts["finance"].id,
                                                "to_lead_id": park.fin_official.id, "reason": "属于融资"}),
    }


INSPECTOR_TRIES = [
    # (state to start from, action posted)
    ("submitted", "accept"),
    ("submitted", "reject"),
    ("submitted", "withdraw"),
    ("accepted", "handle"),
    ("accepted", "force_close"),
    ("accepted", "transfer"),
    ("accepted", "ask"),
    ("accepted", "note"),
    ("accepted", "request_extension"),
    ("accepted", "request_transfer"),
    ("handled", "feedback"),
    ("handled", "rework"),
    ("handled", "force_close"),
]


@pytest.mark.parametrize("state,action", INSPECTOR_TRIES, ids=[f"{s}-{a}" for s, a in INSPECTOR_TRIES])
def test_inspector_cannot_act(park, login, client, state, action):
    t = file_request(park)
    if state != "submitted":
        accept(park, t)
        if action == "transfer":
            perform(t, "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id,
                    to_lead_id=park.fin_official.id, reason="属于融资")
    if state == "handled":
        handle(park, t)
    who, fields = _forms(park, t)[action]
    route = "feedback" if action == "rework" else action

    login(park.inspector)
    before = snapshot(t.id)
    resp = post_action(client, t, route, fields)
    assert 400 <= resp.status_code < 500
    assert snapshot(t.id) == before

    # the same form from someone who may: it works, so the refusal above was the inspector's
    login(who)
    resp = post_action(client, t, route, fields)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert snapshot(t.id)["Event"] > before["Event"]


def test_inspector_cannot_post_expire(park, login, client):
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    login(park.inspector)
    before = snapshot(t.id)
    assert 400 <= client.post(f"/tickets/{t.number}/do/expire").status_code < 500
    assert snapshot(t.id) == before


def test_inspector_note_is_hidden_from_the_firm(park, login, client):
    t = file_request(park)
    accept(park, t)
    login(park.inspector)
    resp = post_action(client, t, "inspector_note", {"text": "INSPECTOR-ONLY-7731"})
    assert resp.status_code == 302
    assert "INSPECTOR-ONLY-7731" in page(client, ticket_url(t))
    login(park.firm_user)
    html = page(client, ticket_url(t))
    assert "INSPECTOR-ONLY-7731" not in html
    assert "vis-inspector" not in html
    # nor do staff other than inspectors read it
    for user in (park.coordinator, park.hr_official, park.leader):
        login(user)
        assert "INSPECTOR-ONLY-7731" not in page(client, ticket_url(t))


def test_internal_note_hidden_from_firm_public_note_shown(park, login, client):
    t = file_request(park)
    accept(park, t)
    login(park.hr_official)
    assert post_action(client, t, "note", {"text": "INTERNAL-NOTE-4410", "visibility": "internal"}).status_code == 302
    assert post_action(client, t, "note", {"text": "PUBLIC-NOTE-5521", "visibility": "public"}).status_code == 302
    staff = page(client, ticket_url(t))
    assert "INTERNAL-NOTE-4410" in staff and "PUBLIC-NOTE-5521" in staff
    login(park.firm_user)
    html = page(client, ticket_url(t))
    assert "PUBLIC-NOTE-5521" in html
    assert "INTERNAL-NOTE-4410" not in html
    assert "vis-internal" not in html


def test_accept_note_hidden_from_firm(park, login, client):
    t = file_request(park)
    login(park.coordinator)
    resp = post_action(client, t, "accept", {"department_id": park.depts["hr"].id,
                                             "lead_id": park.hr_official.id, "note": "ACCEPT-NOTE-2290"})
    assert resp.status_code == 302
    assert "ACCEPT-NOTE-2290" in page(client, ticket_url(t))
    login(park.firm_user)
    html = page(client, ticket_url(t))
    assert "ACCEPT-NOTE-2290" not in html
    assert park.hr_official.name in html and park.depts["hr"].name_zh in html


def test_transfer_reason_hidden_from_firm_new_department_shown(park, login, client):
    t = file_request(park)
    accept(park, t)
    login(park.hr_official)
    resp = post_action(client, t, "request_transfer", {"to_department_id": park.depts["finance"].id,
                                                       "to_lead_id": park.fin_official.id,
                                                       "reason": "TRANSFER-REASON-9120"})
    assert resp.status_code == 302
    login(park.firm_user)
    assert "TRANSFER-REASON-9120" not in page(client, ticket_url(t))
    login(park.coordinator)
    resp = post_action(client, t, "transfer", {"decision": "approve", "comment": "TRANSFER-COMMENT-3381",
                                               "lead_id": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert t.department_id == park.depts["finance"].id
    login(park.firm_user)
    html = page(client, ticket_url(t))
    assert "TRANSFER-REASON-9120" not in html
    assert "TRANSFER-COMMENT-3381" not in html
    assert park.depts["finance"].name_zh in html  # the firm user reads Chinese
    assert park.fin_official.name in html


# --- what the firm's page shows of extensions and internal events ---------------------------


def test_firm_page_shows_extension_date_and_public_reason_only(park, login, client):
    t = file_request(park)
    accept(park, t)
    login(park.hr_official)
    resp = post_action(client, t, "request_extension", {"days": "5", "reason": "EXT-INTERNAL-REASON-6612",
                                                        "public_reason": "EXT-PUBLIC-REASON-2207"})
    assert resp.status_code == 302
    perform(t, "ask", park.hr_official, text="请提供岗位清单")
    perform(t, "note", park.hr_official, text="INTERNAL-NOTE-8080", visibility="internal")
    perform(t, "inspector_note", park.inspector, text="INSPECTOR-NOTE-8181")

    login(park.firm_user)
    html = page(client, ticket_url(t))
    for secret in ("EXT-INTERNAL-REASON-6612", "EXT-PUBLIC-REASON-2207", "INTERNAL-NOTE-8080",
                   "INSPECTOR-NOTE-8181"):
        assert secret not in html  # nothing of a pending request, nothing internal
    assert "请提供岗位清单" in html  # questions are public

    old_due = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle", stopped_at=None)).due_at
    login(park.hr_head)
    resp = post_action(client, t, "decide_extension", {"decision": "approve", "comment": "EXT-HEAD-COMMENT-1199"})
    assert resp.status_code == 302
    db.session.expire_all()
    clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle", stopped_at=None))
    assert clock.due_at > old_due

    login(park.firm_user)
    html = page(client, ticket_url(t))
    assert "EXT-PUBLIC-REASON-2207" in html
    # Due at 16:00 UTC is 24:00 of the same day in Shanghai, shown as such.
    assert clock.due_at.hour == 16 and f"{clock.due_at:%Y-%m-%d} 24:00" in html
    for secret in ("EXT-INTERNAL-REASON-6612", "EXT-HEAD-COMMENT-1199", "INTERNAL-NOTE-8080",
                   "INSPECTOR-NOTE-8181"):
        assert secret not in html
    assert "vis-internal" not in html and "vis-inspector" not in html
    # the firm's timeline has no request_extension / internal events at all
    for action in ("request_extension", "extension_denied", "request_transfer", "deny_transfer",
                   "inspector_note"):
        assert f'data-action="{action}"' not in html

    # staff read the internal reason
    login(park.hr_other)
    staff = page(client, ticket_url(t))
    assert "EXT-INTERNAL-REASON-6612" in staff and "INTERNAL-NOTE-8080" in staff


# --- a form posted twice ------------------------------------------------------------------------


def test_form_posted_twice_is_applied_once(park, login, client):
    t = file_request(park)
    login(park.coordinator)
    fields = {"department_id": park.depts["hr"].id, "lead_id": park.hr_official.id, "note": "",
              "version": t.version}
    assert post_action(client, t, "accept", fields).status_code == 302
    after_first = snapshot(t.id)
    assert after_first["ticket"][0] == "accepted"
    # the same form again (double click, back button): stale, nothing written
    assert post_action(client, t, "accept", fields).status_code == 409
    assert snapshot(t.id) == after_first
    # without the version: refused by the lifecycle, nothing written
    fields.pop("version")
    assert post_action(client, t, "accept", fields).status_code == 403
    assert snapshot(t.id) == after_first


# --- every page needs a login ------------------------------------------------------------------

# The favicon too: a browser asks for it before anyone signs in.
PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.language", "auth.index", "auth.favicon",
                    # The API's specification and its documentation page (every call of the API answers 401).
                    "api.openapi", "api.docs", "api.docs_asset",
                    # The load balancer's health checks (tickets/health.py).
                    "health.healthz", "health.readyz"}


def _example_url(app, rule) -> str:
    values = {}
    for name in rule.arguments:
        conv = rule._converters.get(name)
        values[name] = 1 if isinstance(conv, IntegerConverter) else "x"
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def test_every_route_requires_login(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _example_url(app, rule)
        for method in ("GET", "POST"):
            if method not in rule.methods:
                continue
            resp = client.open(url, method=method)
            if resp.status_code == 302:
                assert urlsplit(resp.headers["Location"]).path == "/login", (method, url, resp.headers["Location"])
            else:
                assert resp.status_code == 401, (method, url, resp.status_code)
            checked += 1
        if "GET" not in rule.methods:
            assert client.get(url).status_code in (302, 401, 405), url
    assert checked >= 10


def test_public_routes_do_not_require_login(client):
    assert client.get("/login").status_code == 200
    resp = client.get("/")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"


# --- pages of other roles: 403 -----------------------------------------------------------------


def test_scope_all_is_forbidden_for_a_plain_official(park, login, client):
    login(park.hr_official)
    page(client, "/desk/tickets?scope=mine")
    page(client, "/desk/tickets?scope=all", 403)
    page(client, "/desk/tickets?scope=inbox", 403)
    for user in (park.coordinator, park.leader, park.inspector):
        login(user)
        page(client, "/desk/tickets?scope=all")


def test_admin_is_forbidden_for_non_admins(park, login, client):
    for user in (park.coordinator, park.leader, park.inspector, park.hr_head, park.hr_official,
                 park.firm_user):
        login(user)
        page(client, "/admin/", 403)
    login(park.admin)
    page(client, "/admin/")


def test_approvals_forbidden_for_firm_and_plain_officials(park, login, client):
    for user in (park.firm_user, park.hr_official, park.inspector):
        login(user)
        page(client, "/desk/approvals", 403)
    for user in (park.coordinator, park.hr_head):
        login(user)
        page(client, "/desk/approvals")


def test_firm_pages_forbidden_for_staff(park, login, client):
    for user in (park.coordinator, park.hr_official, park.inspector):
        login(user)
        page(client, "/firm/requests", 403)
        page(client, "/firm/requests/new", 403)


# --- the login `next` parameter ----------------------------------------------------------------

NEXT_REFUSED = [
    "//evil.example",
    "//evil.example/firm/requests",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "https://evil.example/firm/requests",
    "http:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "evil.example",
]


def _login_with_next(client, user, next_value: str):
    client.post("/logout")
    resp = client.post("/login", query_string={"next": next_value},
                       data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 302
    return resp.headers["Location"]


def test_login_next_local_path_is_followed(park, client):
    # hr_official's home is the desk, so following `next` is visible
    assert urlsplit(_login_with_next(client, park.hr_official, "/firm/requests")).path == "/firm/requests"
    loc = _login_with_next(client, park.hr_official, "/tickets/BH-1?x=1")
    assert loc.endswith("/tickets/BH-1?x=1")


@pytest.mark.parametrize("target", NEXT_REFUSED)
def test_login_next_offsite_goes_home(park, client, target):
    loc = _login_with_next(client, park.hr_official, target)
    parts = urlsplit(loc)
    assert parts.netloc in ("", "localhost"), loc
    assert parts.path == "/desk/tickets", loc


def test_login_next_percent_encoded_backslash_stays_on_site(park, client):
    """`/%5Cevil` sent raw decodes to `/\\evil` (refused); doubly encoded it arrives as the
    literal path `/%5Cevil`, which is a local path: it is followed, and stays on this site."""
    client.post("/logout")
    resp = client.post("/login?next=/%5Cevil.example",
                       data={"username": park.hr_official.username, "password": PASSWORD})
    assert urlsplit(resp.headers["Location"]).path == "/desk/tickets"
    loc = _login_with_next(client, park.hr_official, "/%5Cevil.example")
    parts = urlsplit(loc)
    assert parts.netloc in ("", "localhost") and parts.path == "/%5Cevil.example", loc
    assert not parts.path.startswith("//") and "\\" not in loc


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_language_switch_next_offsite_is_refused(client, target):
    resp = client.post("/language/en", data={"next": target})
    assert resp.status_code == 302
    parts = urlsplit(resp.headers["Location"])
    assert parts.netloc in ("", "localhost") and parts.path == "/"


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(tmp_path):
    class Cfg(TestingConfig):
        WTF_CSRF_ENABLED = True
        UPLOAD_DIR = str(tmp_path / "uploads")
        SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'csrf.db'}")

    app = create_app(Cfg)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        yield app
        db.session.remove()
        db.drop_all()


TOKEN = re.compile(r'name="(?:[\w-]+-)?csrf_token" type="hidden" value="([^"]+)"')


def _token(html: str) -> str:
    m = TOKEN.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def _csrf_login(client, user):
    client.post("/logout")  # refused without a token, or harmless
    token = _token(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302


def test_csrf_login_without_token_is_refused(csrf_app):
    park = Park()
    client = csrf_app.test_client()
    resp = client.post("/login", data={"username": park.coordinator.username, "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/desk/tickets").status_code == 302  # still signed out


def test_csrf_ticket_action_without_token_is_refused(csrf_app):
    park = Park()
    client = csrf_app.test_client()
    t = file_request(park)
    _csrf_login(client, park.coordinator)
    fields = {"department_id": park.depts["hr"].id, "lead_id": park.hr_official.id, "note": ""}
    before = snapshot(t.id)
    resp = post_action(client, t, "accept", fields)
    assert resp.status_code == 400
    assert snapshot(t.id) == before
    # with the page's token it works
    token = _token(page(client, ticket_url(t)))
    resp = post_action(client, t, "accept", {**fields, "csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert t.state == "accepted"


def test_csrf_new_request_without_token_is_refused(csrf_app):
    park = Park()
    client = csrf_app.test_client()
    _csrf_login(client, park.firm_user)
    data = {"category_id": park.category("labor").id, "title": "CSRF-TITLE", "description": "缺人",
            "urgency": "normal", "contact_name": "王经理", "contact_phone": "13800138000", "follows_number": "",
            "form_token": new_form_token()}
    resp = client.post("/firm/requests/new", data=data)
    assert resp.status_code == 400
    assert count(Ticket) == 0 and count(Event) == 0
    token = _token(page(client, "/firm/requests/new"))
    resp = client.post("/firm/requests/new", data={**data, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert count(Ticket) == 1


# --- escaping ------------------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"


def test_title_is_escaped_on_ticket_page_and_queues(park, login, client):
    t = file_request(park, title=f"招工 {XSS}", description=f"描述 {XSS}", contact_name=f"王{XSS}"[:100])
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for user, urls in (
        (park.coordinator, [ticket_url(t), "/desk/tickets?scope=inbox", "/desk/tickets?scope=all"]),
        (park.firm_user, [ticket_url(t), "/firm/requests"]),
    ):
        login(user)
        for url in urls:
            html = page(client, url)
            assert XSS not in html, url
            assert escaped in html, url
        if user is park.coordinator:  # the search box echoes the query
            html = page(client, "/desk/tickets?scope=all&q=" + XSS)
            assert XSS not in html, url
            assert escaped in html, url
