"""Webhooks without a network: which addresses may be called, what registration refuses,
the signature, and which events write a delivery."""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from flask_babel import force_locale

from tickets.extensions import db
from tickets.models import OutboxMessage, WebhookSubscriber
from tickets.services.actions import perform
from tickets.services.webhooks import EVENTS, AddressRefused, address_refusal, check_url, sign, unix_time, \
    verify_signature

from .conftest import KNOWN_NOW, accept, file_request


@pytest.fixture
def hooks(app):
    """The operator allowed one public address (an IP literal: no DNS needed) and localhost."""
    app.config.update(WEBHOOK_ALLOWED_HOSTS=["93.184.216.34", "localhost"], WEBHOOK_ALLOW_PRIVATE=False)
    return app


def subscriber(events=EVENTS, active=True, name="ERP") -> WebhookSubscriber:
    sub = WebhookSubscriber(name=name, url="https://93.184.216.34/hook", secret="s" * 43, events=",".join(events),
                            active=active)
    db.session.add(sub)
    db.session.commit()
    return sub


def webhook_rows(sub=None) -> list[OutboxMessage]:
    stmt = db.select(OutboxMessage).filter_by(channel="webhook").order_by(OutboxMessage.id)
    if sub is not None:
        stmt = stmt.filter_by(subscriber_id=sub.id)
    return list(db.session.scalars(stmt))


# --- addresses ---------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "::ffff:127.0.0.1",
    "::ffff:10.1.2.3", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "100.64.0.1", "240.0.0.1",
])
def test_addresses_that_are_not_public_are_refused(app, address):
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946",
                                     "::ffff:93.184.216.34", "172.32.0.1", "192.169.0.1"])
def test_public_addresses_are_allowed(app, address):
    assert address_refusal(address) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "fe80::1", "::ffff:127.0.0.1"])
def test_the_operator_may_allow_private_addresses(app, address):
    assert address_refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1", "ff02::1"])
def test_unspecified_and_multicast_stay_refused_when_private_is_allowed(app, address):
    assert address_refusal(address, allow_private=True) is not None


def test_the_allow_list_decides_the_host(hooks):
    target = check_url("https://93.184.216.34:8443/hook?x=1")
    assert (target.host, target.port, target.path, target.addresses) == ("93.184.216.34", 8443, "/hook?x=1",
                                                                        ("93.184.216.34",))
    with force_locale("en"), pytest.raises(AddressRefused, match="not in the operator"):
        check_url("https://8.8.8.8/hook")
    hooks.config["WEBHOOK_ALLOWED_HOSTS"] = []
    with force_locale("en"), pytest.raises(AddressRefused, match="not in the operator"):
        check_url("https://93.184.216.34/hook")


def test_an_allowed_host_that_resolves_to_loopback_is_refused(hooks):
    with force_locale("en"), pytest.raises(AddressRefused, match="loopback, private or link-local"):
        check_url("https://localhost/hook")
    hooks.config["WEBHOOK_ALLOW_PRIVATE"] = True
    assert "127.0.0.1" in check_url("https://localhost/hook").addresses


@pytest.mark.parametrize("url,why", [
    ("http://93.184.216.34/hook", "https://"), ("ftp://93.184.216.34/", "https://"), ("93.184.216.34", "https://"),
    ("https://user:pass@93.184.216.34/hook", "user name or password"),
    ("https://user@93.184.216.34/hook", "user name or password"),
    ("https://93.184.216.34:99999/hook", "not a valid address"),
])
def test_urls_refused(hooks, url, why):
    with force_locale("en"), pytest.raises(AddressRefused, match=why):
        check_url(url)


# --- registration --------------------------------------------------------------------------

def test_registration_refuses_bad_addresses_and_changes_nothing(hooks, park, login):
    client = login(park.admin)
    for url in ("http://93.184.216.34/hook", "https://example.org/hook", "https://u:p@93.184.216.34/hook",
                "https://localhost/hook"):
        resp = client.post("/admin/webhooks/new", data={"name": "ERP", "url": url, "events": ["file"],
                                                        "active": "y"})
        assert resp.status_code == 400, url
        assert 'class="field-error"' in resp.get_data(as_text=True), url
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookSubscriber)) == 0, url
    sub = subscriber()
    resp = client.post(f"/admin/webhooks/{sub.id}", data={"name": "ERP", "url": "http://93.184.216.34/hook",
                                                           "events": ["file"]})
    assert resp.status_code == 400
    db.session.expire_all()
    assert (sub.url, sub.event_codes, sub.active) == ("https://93.184.216.34/hook", list(EVENTS), True)


def test_registration_makes_a_secret_shown_once(hooks, park, login):
    client = login(park.admin)
    resp = client.post("/admin/webhooks/new", data={"name": "ERP", "url": "https://93.184.216.34/hook",
                                                    "events": ["file", "accept"], "active": "y"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    sub = db.session.scalar(db.select(WebhookSubscriber))
    assert len(sub.secret) >= 43 and sub.secret in resp.get_data(as_text=True)
    assert sub.event_codes == ["file", "accept"] and sub.created_by_id == park.admin.id
    assert sub.secret not in client.get(f"/admin/webhooks/{sub.id}").get_data(as_text=True)
    assert sub.secret not in client.get("/admin/webhooks").get_data(as_text=True)
    old = sub.secret
    resp = client.post(f"/admin/webhooks/{sub.id}/secret")
    db.session.expire_all()
    assert sub.secret != old and sub.secret in resp.get_data(as_text=True)


def test_events_must_come_from_the_list(hooks, park, login):
    client = login(park.admin)
    for events in ([], ["inspector_note"], ["reminder", "file"]):
        resp = client.post("/admin/webhooks/new", data={"name": "ERP", "url": "https://93.184.216.34/hook",
                                                        "events": events})
        assert resp.status_code == 400, events
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookSubscriber)) == 0


# --- the signature -------------------------------------------------------------------------

def test_the_signature_is_hmac_sha256_over_timestamp_and_body():
    body, secret, ts = '{"id":"X-1"}'.encode(), "top secret", 1_764_000_000
    expected = hmac.new(b"top secret", b"1764000000." + body, hashlib.sha256).hexdigest()
    assert sign(secret, body, ts) == "sha256=" + expected


def test_verify_signature():
    body, secret, ts = '{"id":"X-1","event":"file"}'.encode(), "top secret", unix_time(KNOWN_NOW)
    sig = sign(secret, body, ts)
    assert verify_signature(secret, body, str(ts), sig, now=ts + 10)
    assert verify_signature(secret, body, ts, sig)  # the service clock stands at KNOWN_NOW
    assert not verify_signature(secret, body.replace(b"file", b"fila"), ts, sig, now=ts)
    assert not verify_signature(secret, body, ts + 1, sig, now=ts)
    assert not verify_signature("other secret", body, ts, sig, now=ts)
    assert not verify_signature(secret, body, ts, sig, now=ts + 301)
    assert not verify_signature(secret, body, ts, sig, now=ts - 301)
    assert not verify_signature(secret, body, "soon", sig, now=ts)
    assert not verify_signature(secret, body, ts, sig[len("sha256="):], now=ts)


# --- which events write a delivery ---------------------------------------------------------

def test_public_events_write_one_row_each_in_the_same_transaction(park):
    sub = subscriber()
    t = file_request(park)
    rows = webhook_rows(sub)
    assert [(r.key, r.kind, r.user_id, r.ticket_id, r.status) for r in rows] == [
        (f"{t.number}:1:s{sub.id}", "webhook", None, t.id, "pending")]
    assert rows[0].event.action == "file" and rows[0].event.seq == 1 and rows[0].event_id is not None
    accept(park, t)
    assert [r.event.action for r in webhook_rows(sub)] == ["file", "accept", "clock_started"]


def test_a_failed_action_writes_no_row(park):
    sub = subscriber()
    t = file_request(park)
    from tickets.services.errors import ServiceError

    with pytest.raises(ServiceError):
        perform(t, "reject", park.coordinator, reason="")
    db.session.rollback()
    assert [r.event.action for r in webhook_rows(sub)] == ["file"]


def test_internal_and_inspector_notes_are_never_sent(park):
    sub = subscriber()
    t = file_request(park)
    accept(park, t)
    before = len(webhook_rows(sub))
    perform(t, "note", park.hr_official, text="内部备注", visibility="internal")
    perform(t, "inspector_note", park.inspector, text="纪检备注")
    perform(t, "issue_notice", park.inspector, reason="督办")
    assert len(webhook_rows(sub)) == before
    perform(t, "note", park.hr_official, text="公开备注", visibility="public")
    assert [r.event.action for r in webhook_rows(sub)][before:] == ["note"]


def test_a_subscriber_gets_only_the_events_it_wants(park):
    wants_accept = subscriber(events=["accept"], name="accept only")
    inactive = subscriber(active=False, name="off")
    everything = subscriber(name="all")
    t = file_request(park)
    assert webhook_rows(wants_accept) == [] and webhook_rows(inactive) == []
    accept(park, t)
    assert [r.event.action for r in webhook_rows(wants_accept)] == ["accept"]
    assert webhook_rows(inactive) == []
    assert [r.event.action for r in webhook_rows(everything)] == ["file", "accept", "clock_started"]


def test_a_subscriber_of_an_integration_hears_only_of_its_firms(hooks, park, login):
    from tickets.services import tokens

    platform = tokens.save_integration(park.admin, None, "浙里办", park.firm_a.credit_code)
    login(park.admin)
    resp = login(park.admin).post("/admin/webhooks/new", data={
        "name": "浙里办", "url": "https://93.184.216.34/hook", "events": ["file"], "active": "y",
        "service_id": str(platform.id)})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    scoped = db.session.scalar(db.select(WebhookSubscriber).filter_by(name="浙里办"))
    assert scoped.service_id == platform.id
    everyone = subscriber(events=["file"], name="all")
    a = file_request(park)
    b = file_request(park, user=park.firm_b_user)
    assert [r.ticket_id for r in webhook_rows(scoped)] == [a.id]
    assert sorted(r.ticket_id for r in webhook_rows(everyone)) == sorted([a.id, b.id])
    # Another user than an integration's account is not a choice.
    refused = login(park.admin).post(f"/admin/webhooks/{scoped.id}", data={
        "name": "浙里办", "url": "https://93.184.216.34/hook", "events": ["file"], "active": "y",
        "service_id": str(park.coordinator.id)})
    assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.get(WebhookSubscriber, scoped.id).service_id == platform.id


def test_the_body_is_the_same_on_every_try(app, park):
    from tickets.services.webhooks import body_bytes

    subscriber()
    t = file_request(park)
    row = webhook_rows()[0]
    first = body_bytes(row.event, row.ticket)
    from tickets.timeutil import set_now

    set_now(KNOWN_NOW + timedelta(days=3))
    accept(park, t)
    assert body_bytes(row.event, row.ticket) == first


def test_webhook_forms_need_the_csrf_token(hooks, park, login):
    client = login(park.admin)
    sub = subscriber()
    hooks.config["WTF_CSRF_ENABLED"] = True
    data = {"name": "ERP 2", "url": "https://93.184.216.34/hook", "events": ["file"], "active": "y"}
    assert client.post("/admin/webhooks/new", data=data).status_code == 400
    assert client.post(f"/admin/webhooks/{sub.id}", data=data).status_code == 400
    assert client.post(f"/admin/webhooks/{sub.id}/secret").status_code == 400
    db.session.expire_all()
    assert [(s.name, s.secret) for s in db.session.scalars(db.select(WebhookSubscriber))] == [("ERP", "s" * 43)]
    import re

    page = client.get("/admin/webhooks/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/admin/webhooks/new", data=dict(data, csrf_token=token)).status_code == 200
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookSubscriber)) == 2
