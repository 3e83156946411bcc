"""Sessions end when they should, proved from outside: cookies copied out and replayed on a fresh
client after sign-out, an admin's reset, a role change and a deactivation; the remember-me cookie's
lifetime and flags; the CSRF secret rotated at sign-in; the idle timeout."""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from config import Config, DevelopmentConfig, ProductionConfig, TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data
from tickets.timeutil import set_now

from .account_support import REMEMBER, SESSION, cookies_of, kinds, replay, sign_in, signed_in, user_form
from .conftest import KNOWN_NOW, PASSWORD, Park
from .pgsuite import fresh_schema, suite_url


# ---------------------------------------------------------------- cookies outlive nothing

def test_a_session_cookie_saved_before_sign_out_is_refused_after(app, park, client):
    assert sign_in(client, park.coordinator.username).status_code == 302
    saved = cookies_of(client, SESSION)
    assert signed_in(replay(app, saved))  # the copy works while the session lives
    client.post("/logout")
    thief = replay(app, saved)
    resp = thief.get("/desk/tickets")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert not signed_in(thief)


def test_a_remember_me_cookie_saved_before_sign_out_is_refused_after(app, park, client):
    assert sign_in(client, park.coordinator.username, remember=True).status_code == 302
    saved = cookies_of(client, REMEMBER)
    assert saved, "no remember-me cookie was set"
    assert signed_in(replay(app, saved))  # alone, it signs a new browser in
    client.post("/logout")
    assert not signed_in(replay(app, saved))


def test_sign_out_ends_the_sessions_on_every_other_device(app, park):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, park.hr_official.username)
    sign_in(phone, park.hr_official.username, remember=True)
    laptop.post("/logout")
    assert not signed_in(phone)
    assert not signed_in(replay(app, cookies_of(phone, REMEMBER)))


def test_a_cookie_with_the_numeric_id_signed_with_the_key_finds_nobody(app, park):
    # The published-key attack of issue 8: {"_user_id": "1", "_fresh": true} signed with the key.
    forged = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": str(park.admin.id), "_fresh": True})
    thief = replay(app, {SESSION: forged})
    resp = thief.get("/admin/users")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def _admin_saves(app, park, user, **over):
    admin = app.test_client()
    assert sign_in(admin, park.admin.username).status_code == 302
    resp = admin.post(f"/admin/users/{user.id}", data=user_form(user, **over))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()


@pytest.mark.parametrize("change", [
    {"password": "a-new-long-secret-2026"},                       # the admin's reset
    {"roles": ["official", "leader"]},                            # a role added
    {"is_head": "y"},                                             # made head: more to decide
])
def test_an_admin_change_ends_the_users_other_sessions(app, park, change):
    user = park.hr_official
    browser = app.test_client()
    sign_in(browser, user.username, remember=True)
    saved = cookies_of(browser, SESSION, REMEMBER)
    assert signed_in(browser)
    _admin_saves(app, park, user, **change)
    assert not signed_in(browser)
    assert not signed_in(replay(app, {SESSION: saved[SESSION]}))
    assert not signed_in(replay(app, {REMEMBER: saved[REMEMBER]}))


def test_a_deactivation_ends_sessions_for_good_even_after_reactivation(app, park):
    user = park.hr_official
    browser = app.test_client()
    sign_in(browser, user.username, remember=True)
    saved = cookies_of(browser, SESSION, REMEMBER)
    _admin_saves(app, park, user, active="")
    assert not signed_in(browser)
    _admin_saves(app, park, user, active="y")
    assert not signed_in(replay(app, {SESSION: saved[SESSION]}))
    assert not signed_in(replay(app, {REMEMBER: saved[REMEMBER]}))
    assert "deactivated" in kinds(user) and "activated" in kinds(user)


def test_a_deactivated_user_is_refused_whatever_the_cookie(app, park, client):
    sign_in(client, park.hr_official.username)
    park.hr_official.active = False  # directly in the database: no new token
    db.session.commit()
    assert not signed_in(client)


def test_an_admin_saving_a_name_only_keeps_the_users_sessions(app, park):
    user = park.hr_official
    browser = app.test_client()
    sign_in(browser, user.username)
    _admin_saves(app, park, user, name="刘洋")
    assert signed_in(browser)


def test_an_admin_editing_their_own_roles_stays_signed_in_here(app, park, client):
    sign_in(client, park.admin.username)
    other = replay(app, cookies_of(client, SESSION))
    resp = client.post(f"/admin/users/{park.admin.id}", data=user_form(park.admin, roles=["admin", "leader"]))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert signed_in(client, "/admin/users")
    assert not signed_in(other)


# ---------------------------------------------------------------- cookie lifetime and flags

class _FixedDatetime(datetime):
    """Flask-Login dates the remember-me cookie with datetime.utcnow: pinned, so no wall clock is read."""

    @classmethod
    def utcnow(cls):
        return cls(2026, 11, 24, 0, 0, 0)


def _set_cookie_headers(resp, name):
    return [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "=")]


def test_the_remember_me_cookie_lasts_14_days_at_most_and_is_httponly_lax(app, park, client, monkeypatch):
    import flask_login.login_manager as lm

    monkeypatch.setattr(lm, "datetime", _FixedDatetime)
    resp = sign_in(client, park.coordinator.username, remember=True)
    (header,) = _set_cookie_headers(resp, REMEMBER)
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", header).group(1)).replace(tzinfo=None)
    assert expires - _FixedDatetime.utcnow() <= timedelta(days=14)
    assert expires - _FixedDatetime.utcnow() == timedelta(days=14)
    assert "HttpOnly" in header and "SameSite=Lax" in header
    (session_header,) = _set_cookie_headers(resp, SESSION)
    assert "HttpOnly" in session_header and "SameSite=Lax" in session_header


def test_no_remember_me_cookie_unless_ticked(park, client):
    resp = sign_in(client, park.coordinator.username)
    assert resp.status_code == 302 and not _set_cookie_headers(resp, REMEMBER)


def test_remember_days_can_only_shorten(monkeypatch):
    assert Config.REMEMBER_COOKIE_DURATION == timedelta(days=14)
    import importlib

    import config

    monkeypatch.setenv("REMEMBER_DAYS", "90")
    try:
        assert importlib.reload(config).Config.REMEMBER_COOKIE_DURATION == timedelta(days=14)
        monkeypatch.setenv("REMEMBER_DAYS", "3")
        assert importlib.reload(config).Config.REMEMBER_COOKIE_DURATION == timedelta(days=3)
    finally:
        monkeypatch.delenv("REMEMBER_DAYS")
        importlib.reload(config)


def test_cookies_are_secure_outside_local_development():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True and ProductionConfig.REMEMBER_COOKIE_SECURE is True
    # `make run` serves plain http on 127.0.0.1; a Secure cookie would never come back there.
    assert DevelopmentConfig.SESSION_COOKIE_SECURE is False
    for cfg in (Config, ProductionConfig, DevelopmentConfig, TestingConfig):
        assert cfg.SESSION_COOKIE_HTTPONLY and cfg.REMEMBER_COOKIE_HTTPONLY
        assert cfg.SESSION_COOKIE_SAMESITE == cfg.REMEMBER_COOKIE_SAMESITE == "Lax"


def test_production_sends_both_cookies_secure(tmp_path, monkeypatch):
    monkeypatch.delenv("BIHUAN_FROZEN_NOW", raising=False)
    monkeypatch.delenv("BIHUAN_CLOCK_OFFSET", raising=False)

    class Prod(ProductionConfig):
        SECRET_KEY = "a-real-secret-key-of-length"
        AUDIT_KEY = "a-real-audit-key-of-length"
        SQLALCHEMY_DATABASE_URI = suite_url(tmp_path, "prod.db")
        RATELIMIT_STORAGE_URI = "memory://"
        WTF_CSRF_ENABLED = False

    prod = create_app(Prod)
    with prod.app_context():
        fresh_schema(db)
        ensure_reference_data()
        park = Park()
        resp = sign_in(prod.test_client(), park.coordinator.username, remember=True)
        assert resp.status_code == 302
        for name in (SESSION, REMEMBER):
            (header,) = _set_cookie_headers(resp, name)
            assert "Secure" in header and "HttpOnly" in header, header
        db.session.remove()


# ---------------------------------------------------------------- the CSRF secret rotates at sign-in

@pytest.fixture
def csrf_app(tmp_path):
    class Cfg(TestingConfig):
        WTF_CSRF_ENABLED = True
        SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'csrf.db'}")

    app = create_app(Cfg)

    def fresh_g():
        # In use every request has a g of its own; the test client's requests share the test's
        # app context, so forget what Flask-Login and Flask-WTF cache there.
        from flask import g

        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        yield app
        db.session.remove()
        db.drop_all()


TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _token(client, path):
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def test_a_csrf_token_seen_before_sign_in_is_refused_after(csrf_app):
    park = Park()
    client = csrf_app.test_client()
    before = _token(client, "/login")
    resp = sign_in(client, park.coordinator.username, csrf_token=before)
    assert resp.status_code == 302
    # The token planted before sign-in (by whoever could see the sign-in page) no longer works...
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert signed_in(client)
    # ...a token issued after sign-in does.
    after = _token(client, "/help")
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 302
    assert not signed_in(client)


# ---------------------------------------------------------------- idle timeout

def test_an_idle_session_ends_with_a_clear_message(app, park, client):
    assert Config.IDLE_TIMEOUT_MINUTES == 30 and app.config["IDLE_TIMEOUT_MINUTES"] == 30
    park.coordinator.language = "en"
    db.session.commit()
    sign_in(client, park.coordinator.username)
    set_now(KNOWN_NOW + timedelta(minutes=29))
    assert signed_in(client, "/desk/tickets")
    set_now(KNOWN_NOW + timedelta(minutes=29 + 29))  # 29 minutes after the last request: still alive
    assert signed_in(client, "/desk/tickets")
    set_now(KNOWN_NOW + timedelta(minutes=29 + 29 + 31))
    resp = client.get("/desk/tickets")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert resp.headers["Location"].endswith("/login?next=/desk/tickets")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in page
    assert not signed_in(client)
    assert kinds(park.coordinator)[-1] == "idle_logout"


def test_signing_out_after_an_idle_spell_still_ends_every_session(app, park, client):
    sign_in(client, park.coordinator.username, remember=True)
    saved = cookies_of(client, REMEMBER)
    set_now(KNOWN_NOW + timedelta(minutes=31))
    assert client.post("/logout").status_code == 302
    set_now(KNOWN_NOW + timedelta(minutes=32))
    sign_in(app.test_client(), park.coordinator.username)  # active again elsewhere
    assert not signed_in(replay(app, saved))


def test_the_idle_timeout_is_configurable(app, park, client):
    app.config["IDLE_TIMEOUT_MINUTES"] = 5
    sign_in(client, park.coordinator.username)
    set_now(KNOWN_NOW + timedelta(minutes=6))
    assert not signed_in(client)


def test_remember_me_does_not_revive_an_idle_session_in_the_same_browser(app, park, client):
    sign_in(client, park.coordinator.username, remember=True)
    saved = cookies_of(client, REMEMBER)
    set_now(KNOWN_NOW + timedelta(minutes=31))
    resp = client.get("/desk/tickets")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get_cookie(REMEMBER) is None  # the idle sign-out deleted it
    assert not signed_in(client)
    # A copy of it made before does not start a session either: the user has been idle.
    assert not signed_in(replay(app, saved))


def test_remember_me_restores_a_session_while_the_user_was_active_within_the_timeout(app, park, client):
    sign_in(client, park.coordinator.username, remember=True)
    saved = cookies_of(client, REMEMBER)
    set_now(KNOWN_NOW + timedelta(minutes=20))
    reopened = replay(app, saved)  # the browser restarted: no session cookie, the remember-me cookie
    assert signed_in(reopened)
    set_now(KNOWN_NOW + timedelta(minutes=20 + 31))
    assert not signed_in(replay(app, saved))
    assert not signed_in(reopened)


def test_last_activity_is_written_at_most_once_a_minute(app, park, client):
    sign_in(client, park.coordinator.username)
    start = park.coordinator.last_seen_at
    set_now(KNOWN_NOW + timedelta(seconds=30))
    client.get("/help")
    db.session.expire_all()
    assert park.coordinator.last_seen_at == start
    set_now(KNOWN_NOW + timedelta(seconds=90))
    client.get("/help")
    db.session.expire_all()
    assert park.coordinator.last_seen_at == KNOWN_NOW + timedelta(seconds=90)
