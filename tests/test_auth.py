"""Passwords and sign-in."""
import tickets.models.org as org
from tickets.models import User


def test_passwords_are_hashed_with_scrypt(monkeypatch):
    seen = {}

    def record(password, method="pbkdf2", salt_length=16):
        seen["method"] = method
        return "hashed"

    monkeypatch.setattr(org, "generate_password_hash", record)
    u = User(username="x", name="X")
    u.set_password("a long password")
    assert seen["method"] == "scrypt" and u.password_hash == "hashed"


def test_scrypt_hash_round_trip():
    from werkzeug.security import check_password_hash, generate_password_hash

    h = generate_password_hash("s3cret pass", method="scrypt")
    assert h.startswith("scrypt:") and check_password_hash(h, "s3cret pass")
    assert not check_password_hash(h, "wrong")


def test_wrong_password_is_refused_with_a_message(park, client):
    resp = client.post("/login", data={"username": park.firm_user.username, "password": "nope"})
    assert resp.status_code == 200
    assert "Wrong username or password" in resp.get_data(as_text=True) or "用户名或密码" in resp.get_data(as_text=True)


def test_inactive_user_cannot_sign_in(park, client):
    from tickets.extensions import db

    from .conftest import PASSWORD

    park.firm_user.active = False
    db.session.commit()
    resp = client.post("/login", data={"username": park.firm_user.username, "password": PASSWORD})
    assert resp.status_code == 200
