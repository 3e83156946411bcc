"""Sign-in: online guessing is throttled per account and per address; an unknown account answers
like a known one, with the same message and the same password work; an admin unlocks an account.

The limiter counts in memory here (TestingConfig); tests/test_signin_redis.py runs the same limits
on a real Redis, and with Redis down."""
from __future__ import annotations

import pytest
from werkzeug import security

import tickets.models.org as org
from tickets.extensions import db
from tickets.models import SecurityEvent

from .account_support import kinds, sign_in, signed_in
from .conftest import PASSWORD

WRONG = "not-the-password"
WRONG_ANSWER = "Wrong username or password."
PAUSED = "Too many failed sign-ins"


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _english(client):
    client.post("/language/en", data={"next": "/login"})
    return client


# ---------------------------------------------------------------- online guessing

def test_200_wrong_passwords_then_the_right_one_does_not_sign_in(app, park, client):
    _english(client)
    statuses = [sign_in(client, park.coordinator.username, f"{WRONG}-{i}").status_code for i in range(200)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    resp = sign_in(client, park.coordinator.username, PASSWORD)
    assert resp.status_code == 429 and PAUSED in _text(resp)
    assert not signed_in(client)
    # Only the five guesses that were checked are in the log, and one lock.
    assert kinds(park.coordinator).count("login_failed") == 5
    assert kinds(park.coordinator).count("account_locked") == 1


def test_the_lock_is_per_account_another_user_still_signs_in(app, park, client):
    for i in range(5):
        sign_in(client, park.coordinator.username, WRONG)
    assert sign_in(client, park.coordinator.username).status_code == 429
    assert sign_in(client, park.leader.username).status_code == 302


def test_an_address_is_paused_after_20_failures_whatever_the_names(app, park, client):
    for i in range(20):
        assert sign_in(client, f"guess{i}", WRONG).status_code == 200
    # The 21st attempt from this address is refused, even with a real account's right password.
    assert sign_in(client, park.leader.username).status_code == 429
    assert [e.kind for e in db.session.scalars(db.select(SecurityEvent).filter_by(kind="address_locked"))] \
        == ["address_locked"]


def test_another_address_is_not_paused(app, park):
    here = app.test_client()
    for i in range(20):
        here.post("/login", data={"username": f"guess{i}", "password": WRONG},
                  environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert here.post("/login", data={"username": park.leader.username, "password": PASSWORD},
                     environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 429
    there = app.test_client()
    assert there.post("/login", data={"username": park.leader.username, "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "192.0.2.11"}).status_code == 302


def test_successes_use_up_nothing_and_clear_the_accounts_earlier_failures(app, park, client):
    for _round in range(3):
        for i in range(4):
            assert sign_in(client, park.coordinator.username, WRONG).status_code == 200
        assert sign_in(client, park.coordinator.username).status_code == 302
        client.post("/logout")
    assert sign_in(client, park.coordinator.username).status_code == 302


def test_a_form_with_a_missing_field_is_not_a_guess(app, park, client):
    for i in range(10):
        assert client.post("/login", data={"username": park.coordinator.username}).status_code == 200
    assert sign_in(client, park.coordinator.username).status_code == 302


# ---------------------------------------------------------------- unknown and known accounts alike

def test_unknown_known_and_deactivated_accounts_get_the_same_answer(app, park, client):
    _english(client)
    park.leader.active = False
    db.session.commit()
    for name, password in (("nobody-here", WRONG), (park.coordinator.username, WRONG),
                           (park.leader.username, PASSWORD)):
        resp = sign_in(client, name, password)
        assert resp.status_code == 200 and WRONG_ANSWER in _text(resp), name
    # Locked alike too: a name with no account is paused after as many failures as a real one.
    for name in ("nobody-here", park.coordinator.username):
        for i in range(4):
            sign_in(client, name, WRONG)
        resp = sign_in(client, name, WRONG)
        assert resp.status_code == 429 and PAUSED in _text(resp), name


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password hash the sign-in verifies, in order."""
    seen = []
    real = security.check_password_hash

    def counting(pwhash, password):
        seen.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(org, "check_password_hash", counting)
    return seen


def test_an_unknown_name_costs_the_same_hash_work_as_a_known_one(app, park, client, hash_checks):
    known = park.coordinator.password_hash
    sign_in(client, park.coordinator.username, WRONG)
    sign_in(client, "nobody-here", WRONG)
    park.leader.active = False
    db.session.commit()
    sign_in(client, park.leader.username, PASSWORD)
    assert len(hash_checks) == 3  # one verification each: wrong password, unknown name, deactivated
    method = known.split("$")[0]  # e.g. "scrypt:32768:8:1" (cheapened in tests alike)
    assert [h.split("$")[0] for h in hash_checks] == [method] * 3
    assert hash_checks[1] != known


def test_the_dummy_hash_is_made_with_scrypt_like_every_real_one(monkeypatch):
    asked = []
    monkeypatch.setattr(org, "_dummy_hash", None)
    monkeypatch.setattr(org, "generate_password_hash",
                        lambda password, method="pbkdf2", salt_length=16: asked.append(method) or "scrypt:x$y$z")
    monkeypatch.setattr(org, "check_password_hash", lambda h, p: False)
    assert org.check_no_password("anything") is False
    assert org.check_no_password("again") is False
    assert asked == ["scrypt"]  # made once per process, with the method of set_password


# ---------------------------------------------------------------- the admin unlocks

def test_an_admin_sees_the_lock_and_unlocks_the_account(app, park, client, login):
    for i in range(5):
        sign_in(client, park.hr_official.username, WRONG)
    assert sign_in(client, park.hr_official.username).status_code == 429
    admin = app.test_client()
    assert sign_in(admin, park.admin.username).status_code == 302
    page = _text(admin.get(f"/admin/users/{park.hr_official.id}"))
    assert 'data-testid="locked"' in page and 'data-testid="unlock"' in page
    resp = admin.post(f"/admin/users/{park.hr_official.id}/unlock")
    assert resp.status_code == 302
    assert 'data-testid="not-locked"' in _text(admin.get(f"/admin/users/{park.hr_official.id}"))
    assert sign_in(client, park.hr_official.username).status_code == 302
    unlocked = db.session.scalar(db.select(SecurityEvent).filter_by(kind="unlocked"))
    assert unlocked.user_id == park.hr_official.id and unlocked.actor_id == park.admin.id


def test_only_an_admin_may_unlock(app, park, login):
    client = login(park.coordinator)
    assert client.post(f"/admin/users/{park.hr_official.id}/unlock").status_code == 403
    assert "unlocked" not in kinds()
