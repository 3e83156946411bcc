"""Passwords: the rules (length, the common list, not the username) everywhere a password is set;
the change-password page; the forced change after an admin's reset and after the XLSX import."""
from __future__ import annotations

import io

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from tickets.extensions import db
from tickets.models import User
from tickets.services.passwords import COMMON_LIST, common_passwords, password_problem

from .account_support import SESSION, cookies_of, kinds, replay, sign_in, signed_in, user_form
from .conftest import PASSWORD, credit_code

NEW = "a-new-long-secret-2026"


@pytest.fixture
def en(park):
    for user in (park.admin, park.coordinator, park.hr_official):
        user.language = "en"
    db.session.commit()
    return park


# ---------------------------------------------------------------- the rules

def test_the_common_list_ships_with_its_source_and_the_chinese_patterns():
    header = COMMON_LIST.read_text(encoding="utf-8").splitlines()[:12]
    assert any("zxcvbn" in line for line in header)
    common = common_passwords()
    assert len(common) > 10_000
    for word in ("123456", "qwerty", "password", "woaini1314", "a123456", "5201314", "1qaz2wsx3edc",
                 "1234567890", "qwertyuiop", "wang123456"):
        assert word in common, word


@pytest.mark.parametrize("password, username, refused", [
    ("short-pw", "", "at least 10 characters"),
    ("woaini1314", "", "common passwords"),
    ("1234567890", "", "common passwords"),
    ("QwertyUiop", "", "common passwords"),           # case does not matter
    ("coordinator_li", "coordinator_li", "must not be the username"),
    ("Coordinator_Li", "coordinator_li", "must not be the username"),
    ("x" * 201, "", "at most 200 characters"),
])
def test_weak_passwords_are_refused_with_a_reason(app, password, username, refused):
    with force_locale("en"):
        assert refused in str(password_problem(password, username))


def test_a_good_password_passes(app):
    assert password_problem("晨光 riverside 2026", "zhang") is None
    assert password_problem(NEW, "coord") is None


# ---------------------------------------------------------------- the change-password page

def test_the_header_links_to_the_change_password_page(en, login):
    client = login(en.coordinator)
    html = client.get("/help").get_data(as_text=True)
    assert 'href="/password"' in html
    assert client.get("/password").status_code == 200


@pytest.mark.parametrize("new, message", [
    ("short-pw", "The password needs at least 10 characters."),
    ("woaini1314", "This password is on the list of common passwords"),
    ("qwertyuiop", "This password is on the list of common passwords"),
    ("coordinator_li", "The password must not be the username."),
])
def test_weak_new_passwords_are_refused_and_nothing_changes(en, client, new, message):
    user = en.user("coordinator_li", "coordinator")
    user.language = "en"
    db.session.commit()
    sign_in(client, user.username)
    before = (user.password_hash, user.session_token)
    resp = client.post("/password", data={"current": PASSWORD, "new": new, "confirm": new})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (user.password_hash, user.session_token) == before
    assert "password_changed" not in kinds(user)


@pytest.mark.parametrize("data, message", [
    ({"current": "not the password", "new": NEW, "confirm": NEW}, "The current password is wrong."),
    ({"current": PASSWORD, "new": NEW, "confirm": NEW + "x"}, "The two new passwords are not the same."),
    ({"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD}, "must differ from the current one"),
])
def test_the_change_is_refused_without_the_current_password_or_matching_twice(en, login, data, message):
    client = login(en.coordinator)
    before = en.coordinator.password_hash
    resp = client.post("/password", data=data)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert en.coordinator.password_hash == before


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, en):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, en.coordinator.username)
    sign_in(elsewhere, en.coordinator.username, remember=True)
    saved = cookies_of(elsewhere, SESSION, "remember_token")
    resp = here.post("/password", data={"current": PASSWORD, "new": NEW, "confirm": NEW})
    assert resp.status_code == 302
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert not signed_in(replay(app, saved))
    here.post("/logout")
    assert sign_in(here, en.coordinator.username, NEW).status_code == 302
    assert kinds(en.coordinator).count("password_changed") == 1


def test_the_admin_form_refuses_a_common_password(en, login):
    admin = login(en.admin)
    user = en.hr_official
    before = (user.password_hash, user.session_token)
    resp = admin.post(f"/admin/users/{user.id}", data=user_form(user, password="1qaz2wsx3edc"))
    assert resp.status_code == 400
    assert "list of common passwords" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (user.password_hash, user.session_token, user.must_change_password) == (*before, False)


# ---------------------------------------------------------------- forced change

def _must_change_everywhere(client):
    """Every page sends the user to the change-password page; that page and sign-out still work."""
    for path in ("/", "/help", "/desk/tickets", "/inbox/", "/admin/", "/admin/users"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/password"), path
    page = client.get("/password")
    assert page.status_code == 200 and 'data-testid="must-change"' in page.get_data(as_text=True)


def test_after_an_admin_reset_the_user_must_choose_a_new_password(app, en, login):
    admin = login(en.admin)
    user = en.hr_official
    resp = admin.post(f"/admin/users/{user.id}", data=user_form(user, password="given-by-admin-7"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert user.must_change_password
    client = app.test_client()
    assert sign_in(client, user.username, "given-by-admin-7").status_code == 302
    _must_change_everywhere(client)
    resp = client.post("/password", data={"current": "given-by-admin-7", "new": NEW, "confirm": NEW})
    assert resp.status_code == 302
    db.session.expire_all()
    assert not user.must_change_password
    assert signed_in(client, "/desk/tickets")
    assert kinds(user) == ["password_reset", "login_ok", "password_changed"]


def test_sign_out_still_works_while_the_change_is_pending(app, en, login):
    admin = login(en.admin)
    admin.post(f"/admin/users/{en.hr_official.id}", data=user_form(en.hr_official, password="given-by-admin-7"))
    client = app.test_client()
    sign_in(client, en.hr_official.username, "given-by-admin-7")
    assert client.post("/logout").status_code == 302
    assert client.get("/password").status_code == 302  # signed out: to the sign-in page


def test_a_user_the_admin_creates_must_change_the_initial_password(app, en, login):
    admin = login(en.admin)
    resp = admin.post("/admin/users/new", data={"username": "newbie", "name": "新人", "roles": ["coordinator"],
                                                "language": "en", "active": "y", "password": "initial-pass-7"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    newbie = db.session.scalar(db.select(User).filter_by(username="newbie"))
    assert newbie.must_change_password and kinds(newbie) == ["user_created"]
    client = app.test_client()
    sign_in(client, "newbie", "initial-pass-7")
    _must_change_everywhere(client)


def _workbook(client, users):
    wb = load_workbook(io.BytesIO(client.get("/admin/import/template.xlsx").data))
    wb["firms"].delete_rows(2, wb["firms"].max_row)
    ws = wb["users"]
    ws.delete_rows(2, ws.max_row)
    for row in users:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_every_imported_user_must_change_the_initial_password(app, en, login):
    admin = login(en.admin)
    data = _workbook(admin, [["imported_1", "导入一", "coordinator", "en", "", "", "", "", "", "sheet-pass-2026"]])
    resp = admin.post("/admin/import", data={"workbook": (io.BytesIO(data), "people.xlsx")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    user = db.session.scalar(db.select(User).filter_by(username="imported_1"))
    assert user.must_change_password and kinds(user) == ["user_created"]
    client = app.test_client()
    assert sign_in(client, "imported_1", "sheet-pass-2026").status_code == 302
    _must_change_everywhere(client)
    client.post("/password", data={"current": "sheet-pass-2026", "new": NEW, "confirm": NEW})
    assert signed_in(client, "/desk/tickets")


def test_the_import_refuses_a_common_initial_password(en, login):
    admin = login(en.admin)
    data = _workbook(admin, [["imported_2", "导入二", "coordinator", "en", "", "", "", "", "", "1234567890"]])
    resp = admin.post("/admin/import", data={"workbook": (io.BytesIO(data), "people.xlsx")},
                      content_type="multipart/form-data")
    assert resp.status_code == 400 and "list of common passwords" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(User).filter_by(username="imported_2")) is None
