"""The security log: what is recorded (never a password), and the admin's page of it."""
from __future__ import annotations

import json

from tickets.extensions import db
from tickets.models import SecurityEvent

from .account_support import kinds, sign_in, user_form
from .conftest import PASSWORD

NEW = "a-new-long-secret-2026"


def _events():
    return db.session.scalars(db.select(SecurityEvent).order_by(SecurityEvent.id)).all()


def test_sign_ins_failures_and_sign_outs_are_recorded_with_the_address(app, park):
    client = app.test_client()
    env = {"REMOTE_ADDR": "198.51.100.7"}
    client.post("/login", data={"username": park.coordinator.username, "password": "wrong-guess-1"},
                environ_base=env)
    client.post("/login", data={"username": "no-such-user", "password": "wrong-guess-2"}, environ_base=env)
    client.post("/login", data={"username": park.coordinator.username, "password": PASSWORD, "remember": "y"},
                environ_base=env)
    client.post("/logout", environ_base=env)
    rows = [(e.kind, e.user_id, e.address, json.loads(e.detail)) for e in _events()]
    assert rows == [
        ("login_failed", park.coordinator.id, "198.51.100.7", {"reason": "password"}),
        ("login_failed", None, "198.51.100.7", {"reason": "unknown"}),
        ("login_ok", park.coordinator.id, "198.51.100.7", {"remember": True}),
        ("logout", park.coordinator.id, "198.51.100.7", {}),
    ]


def test_password_changes_resets_role_changes_and_unlocks_are_recorded_with_who(app, park, login):
    user = park.hr_official
    client = app.test_client()
    sign_in(client, user.username)
    client.post("/password", data={"current": PASSWORD, "new": NEW, "confirm": NEW})
    admin = login(park.admin)
    admin.post(f"/admin/users/{user.id}", data=user_form(user, password="given-by-admin-7"))
    db.session.expire_all()
    admin.post(f"/admin/users/{user.id}", data=user_form(user, roles=["official", "leader"]))
    admin.post(f"/admin/users/{user.id}/unlock")
    mine = [(e.kind, e.actor_id) for e in _events() if e.user_id == user.id]
    assert mine == [("login_ok", None), ("password_changed", None), ("password_reset", park.admin.id),
                    ("roles_changed", park.admin.id), ("unlocked", park.admin.id)]
    change = next(e for e in _events() if e.kind == "roles_changed")
    assert json.loads(change.detail) == {"roles": {"from": ["official"], "to": ["leader", "official"]}}


def test_no_password_is_ever_recorded(app, park, login):
    client = app.test_client()
    typed = ["wrong-guess-1", "given-by-admin-7", NEW, PASSWORD]
    sign_in(client, park.hr_official.username, typed[0])
    sign_in(client, "wrong-guess-1", typed[0])  # a password typed into the name field
    admin = login(park.admin)
    admin.post(f"/admin/users/{park.hr_official.id}", data=user_form(park.hr_official, password=typed[1]))
    page = admin.get("/admin/security").get_data(as_text=True)
    stored = " ".join(f"{e.detail} {e.address}" for e in _events())
    for secret in typed:
        assert secret not in stored and secret not in page


def test_the_admin_page_lists_newest_first_in_pages(app, park, login):
    app.config["PAGE_SIZE"] = 2
    for i in range(3):
        sign_in(app.test_client(), park.coordinator.username, f"wrong-guess-{i}")
    admin = login(park.admin)
    ids = [e.id for e in _events()]
    first = admin.get("/admin/security")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert html.count('<tr data-kind="') == 2 and 'data-kind="login_ok"' in html  # the admin's own sign-in
    assert f"before={ids[-2]}" in html
    second = admin.get(f"/admin/security?before={ids[-2]}").get_data(as_text=True)
    assert second.count('<tr data-kind="login_failed"') == 2
    last = admin.get(f"/admin/security?before={ids[1]}").get_data(as_text=True)
    assert last.count('<tr data-kind="') == 1 and "next-page" not in last
    assert admin.get("/admin/security?before=99999999999999999999").status_code == 200


def test_the_log_of_one_user(app, park, login):
    sign_in(app.test_client(), park.coordinator.username, "wrong-guess-1")
    admin = login(park.admin)
    html = admin.get(f"/admin/security?user={park.coordinator.id}").get_data(as_text=True)
    assert html.count('<tr data-kind="') == 1 and 'data-kind="login_failed"' in html
    assert f'href="/admin/security?user={park.coordinator.id}"' in admin.get(
        f"/admin/users/{park.coordinator.id}").get_data(as_text=True)


def test_the_security_log_is_for_admins_only(app, park, login, client):
    assert client.get("/admin/security").status_code == 302  # signed out: to the sign-in page
    for user in (park.coordinator, park.inspector, park.leader, park.firm_user):
        assert login(user).get("/admin/security").status_code == 403
    assert 'href="/admin/security"' in login(park.admin).get("/admin/").get_data(as_text=True)
    assert kinds()  # the sign-ins above were recorded
