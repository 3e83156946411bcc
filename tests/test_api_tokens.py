"""API tokens: made on the profile page and by admins for integrations, shown once, stored hashed,
revoked, expired, throttled like sign-ins, and never a way around the session rules."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest

from tickets.extensions import db
from tickets.models import ApiToken, SecurityEvent, Ticket
from tickets.services import tokens
from tickets.timeutil import now, set_now

from .api_support import Api, integration, token_for
from .conftest import PASSWORD, Park

TOKEN = re.compile(r"bh_[A-Za-z0-9_-]{43}")


def kinds() -> list[str]:
    return list(db.session.scalars(db.select(SecurityEvent.kind).order_by(SecurityEvent.id)))


def test_the_profile_page_shows_a_new_token_once_and_stores_only_its_hash(app, client, login):
    park = Park()
    login(park.firm_user)
    resp = client.post("/account/tokens", data={"name": "ERP 对接", "write": "y", "lifetime": "90"})
    assert resp.status_code == 201
    raw = TOKEN.search(resp.get_data(as_text=True)).group(0)
    row = db.session.scalar(db.select(ApiToken))
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in (row.prefix, row.name)
    assert row.scope_set == {"read", "write"} and row.expires_at == row.created_at + timedelta(days=90)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert raw not in page and f"bh_{raw[3:11]}" in page and "ERP 对接" in page
    assert Api(client, raw).get("/tickets").status_code == 200
    assert "token_created" in kinds()


def test_a_refused_token_form_changes_nothing(app, client, login):
    park = Park()
    login(park.firm_user)
    resp = client.post("/account/tokens", data={"name": "", "lifetime": "7"})
    assert resp.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


def test_revoked_expired_or_deactivated_tokens_open_nothing(app, client, login):
    park = Park()
    raw = token_for(park.firm_user)
    api = Api(client, raw)
    assert api.get("/tickets").status_code == 200
    login(park.firm_user)
    token = db.session.scalar(db.select(ApiToken))
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    resp = api.get("/tickets")
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.get_json()["messages"]["zh"] != resp.get_json()["messages"]["en"]

    short = tokens.create_personal(park.firm_user, "短期", ["read"], 30)[1]
    assert Api(client, short).get("/tickets").status_code == 200
    set_now(now() + timedelta(days=30))
    assert Api(client, short).get("/tickets").status_code == 401

    other = token_for(park.coordinator)
    park.coordinator.active = False
    db.session.commit()
    assert Api(client, other).get("/tickets").status_code == 401


def test_another_users_token_cannot_be_revoked_and_does_not_exist(app, client, login):
    park = Park()
    raw = token_for(park.coordinator)
    token = db.session.scalar(db.select(ApiToken))
    login(park.firm_user)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert "bh_" + raw[3:11] not in client.get("/account/tokens").get_data(as_text=True)
    assert Api(client, raw).get("/tickets").status_code == 200


def test_an_admins_password_reset_or_deactivation_revokes_the_users_tokens(app):
    from tickets.services.people import _access, _record_changes

    park = Park()
    token_for(park.hr_official)
    before = _access(park.hr_official)
    _record_changes(park.hr_official, park.admin, False, before, password_set=True)
    db.session.commit()
    assert db.session.scalar(db.select(ApiToken)).revoked_at is not None


def test_last_use_is_noted_at_most_once_a_minute(app, client):
    park = Park()
    api = Api(client, token_for(park.firm_user))
    api.get("/categories")
    first = db.session.scalar(db.select(ApiToken)).last_used_at
    assert first == now()
    set_now(now() + timedelta(seconds=30))
    api.get("/categories")
    db.session.expire_all()
    assert db.session.scalar(db.select(ApiToken)).last_used_at == first
    set_now(now() + timedelta(seconds=31))
    api.get("/categories")
    db.session.expire_all()
    assert db.session.scalar(db.select(ApiToken)).last_used_at == now()


def test_refused_tokens_are_throttled_per_address_like_sign_ins(app, client):
    app.config["API_TOKEN_ADDRESS_LIMIT"] = "3 per 15 minutes"
    park = Park()
    good = token_for(park.firm_user)
    for _ in range(3):
        assert Api(client, "bh_" + "x" * 43).get("/tickets").status_code == 401
    resp = Api(client, good).get("/tickets")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) == 900
    assert resp.content_type == "application/problem+json"
    assert kinds().count("token_refused") == 3
    # Another address is not held up.
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {good}"},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_the_api_never_reads_the_session_cookie(app, client, login):
    park = Park()
    login(park.coordinator)
    assert client.get("/api/v1/tickets").status_code == 401
    # With a firm's token beside the coordinator's cookie, the call is the firm's, and nothing more.
    firm_token = token_for(park.firm_user)
    from .conftest import file_request

    b = file_request(park, user=park.firm_b_user)
    assert client.get(f"/api/v1/tickets/{b.number}", headers={"Authorization": f"Bearer {firm_token}"}).status_code == 404
    assert client.post("/api/v1/tickets", json={}, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_service_account_never_signs_in_to_the_web_app(app, client):
    park = Park()
    service, _raw = integration(park, [park.firm_a])
    for password in ("x", PASSWORD, service.password_hash):
        # The sign-in page again (a success would redirect), refused as a name with no account.
        assert client.post("/login", data={"username": service.username, "password": password}).status_code == 200
    refused = db.session.scalars(db.select(SecurityEvent).filter_by(kind="login_failed")).all()
    assert len(refused) == 3 and all(e.user_id is None for e in refused)
    assert client.get("/help").status_code == 302


def test_the_admin_makes_an_integration_for_firms_by_credit_code(app, client, login):
    park = Park()
    login(park.admin)
    resp = client.post("/admin/integrations/new", data={"name": "省平台", "firms": "91330100MA00000000\nnot-a-code"})
    assert resp.status_code == 400
    assert "not-a-code".upper() in resp.get_data(as_text=True)
    assert tokens.integrations() == []
    resp = client.post("/admin/integrations/new",
                       data={"name": "省平台", "firms": f"{park.firm_a.credit_code}, {park.firm_b.credit_code}"})
    assert resp.status_code == 302
    service = tokens.integrations()[0]
    assert {f.id for f in tokens.served_firms(service)} == {park.firm_a.id, park.firm_b.id}
    resp = client.post(f"/admin/integrations/{service.id}/tokens", data={"name": "生产", "write": "y", "lifetime": "365"})
    assert resp.status_code == 201
    raw = TOKEN.search(resp.get_data(as_text=True)).group(0)
    assert raw not in client.get(f"/admin/integrations/{service.id}").get_data(as_text=True)
    api = Api(client, raw)
    resp = api.post("/tickets", {"firm": park.firm_b.credit_code, "category": "labor", "title": "缺工",
                                 "description": "省平台转来", "contact_name": "李", "contact_phone": "13800138000"})
    assert resp.status_code == 201, resp.get_json()
    # The admin takes firm B away: the integration no longer reads its request.
    client.post(f"/admin/integrations/{service.id}", data={"name": "省平台", "firms": park.firm_a.credit_code,
                                                           "active": "y"})
    assert api.get(f"/tickets/{resp.get_json()['number']}").status_code == 404
    # Deactivated: every token stops.
    client.post(f"/admin/integrations/{service.id}", data={"name": "省平台", "firms": park.firm_a.credit_code})
    assert api.get("/tickets").status_code == 401
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 1


def test_an_integration_files_only_for_its_own_firms_and_learns_nothing_of_others(app, client):
    park = Park()
    _service, raw = integration(park, [park.firm_a])
    api = Api(client, raw)
    body = {"category": "labor", "title": "缺工", "description": "x", "contact_name": "李",
            "contact_phone": "13800138000"}
    other = api.post("/tickets", {**body, "firm": park.firm_b.credit_code})
    unknown = api.post("/tickets", {**body, "firm": "91330100MA2XXXXXX0"})
    assert other.status_code == unknown.status_code == 403
    assert other.get_json()["messages"] == unknown.get_json()["messages"]


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer bh_short", "token bh_" + "a" * 43])
def test_malformed_authorization_headers_are_refused(app, client, header):
    Park()
    resp = client.get("/api/v1/tickets", headers={"Authorization": header})
    assert resp.status_code == 401 and resp.content_type == "application/problem+json"
