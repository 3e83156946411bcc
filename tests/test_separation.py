"""Separation of duties: the inspector role is never held with coordinator, official (head) or admin.

Whoever audits does not handle (DESIGN.md). Every path that gives a user roles is
refused alike, with a message naming the conflict, and changes nothing: the admin
form (new user and edit), the XLSX import (all or nothing, with row numbers), and the
demo seeder, which checks its staff through the same service rule.
"""
from __future__ import annotations

import re

import pytest

from tickets.extensions import db
from tickets.models import User
from tickets.services.errors import InvalidInput
from tickets.services.people import require_separation, save_user, separation_conflict

from .conftest import credit_code
from .test_admin import admin, book, counts, upload  # noqa: F401  (the admin fixture)

CONFLICTS = [
    # (roles, head?, the conflict the message names)
    (["inspector", "coordinator"], False, "coordinator"),
    (["inspector", "official"], False, "official"),
    (["inspector", "official"], True, "department head"),
    (["inspector", "admin"], False, "admin"),
    (["inspector", "leader", "coordinator", "admin"], False, "coordinator and admin"),
]


def message(conflict: str) -> str:
    return (f"Separation of duties: the inspector role cannot be combined with {conflict} on one user "
            "(whoever audits does not handle).")


@pytest.mark.parametrize("roles,head,conflict", CONFLICTS, ids=[c for _r, _h, c in CONFLICTS])
def test_admin_form_refuses_inspector_with_a_handling_role(admin, park, roles, head, conflict):
    data = {"username": "li", "name": "李四", "roles": roles, "language": "en", "email": "", "mobile": "",
            "department_id": str(park.depts["hr"].id) if "official" in roles else "", "active": "y",
            "password": "long-enough-1"}
    if head:
        data["is_head"] = "y"
    before = counts()
    resp = admin.post("/admin/users/new", data=data)
    assert resp.status_code == 400
    assert message(conflict) in resp.get_data(as_text=True)
    assert counts() == before


def test_admin_form_refuses_adding_a_handling_role_to_an_inspector(admin, park):
    resp = admin.post(f"/admin/users/{park.inspector.id}", data={
        "username": "inspector", "name": "Inspector", "roles": ["inspector", "coordinator"], "language": "en",
        "active": "y", "password": ""})
    assert resp.status_code == 400 and message("coordinator") in resp.get_data(as_text=True)
    # Nor the other way round: an admin who would make themselves an inspector.
    resp = admin.post(f"/admin/users/{park.admin.id}", data={
        "username": "admin", "name": "Admin", "roles": ["admin", "inspector"], "language": "en", "active": "y"})
    assert resp.status_code == 400 and message("admin") in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, park.inspector.id).roles == {"inspector"}
    assert db.session.get(User, park.admin.id).roles == {"admin"}


def test_the_service_refuses_whatever_calls_it(park):
    before = counts()
    with pytest.raises(InvalidInput) as e:
        save_user(None, park.admin, username="li", name="李四", roles=["inspector", "official"],
                  department_id=park.depts["hr"].id, is_head=True, password="long-enough-1")
    assert list(e.value.errors) == ["roles"]
    assert counts() == before
    # Inspector with leader or firm-free reading roles is fine.
    assert separation_conflict(["inspector", "leader"]) is None
    save_user(None, park.admin, username="li", name="李四", roles=["inspector", "leader"], password="long-enough-1")


def test_import_refuses_the_row_and_imports_nothing(admin, park):
    data = book(admin, firms=[["癸公司", credit_code(401), "", "", "", ""]], users=[
        ["ok_user", "好", "leader", "zh", "", "", "", "", "", "good-pass-1"],
        ["audit_coord", "纪检协调", "纪检, 协调员", "zh", "", "", "", "", "", "good-pass-1"],   # row 3
        ["audit_head", "纪检局长", "inspector, official", "zh", "", "", "", "hr", "yes", "good-pass-1"],  # row 4
        ["audit_admin", "纪检管理", "inspector, admin", "zh", "", "", "", "", "", "good-pass-1"],  # row 5
    ])
    before = counts()
    resp = upload(admin, data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert re.findall(r'data-sheet="(\w+)" data-row="(\d+)"', html) == [("users", "3"), ("users", "4"),
                                                                          ("users", "5")]
    assert "3 rows have problems; nothing was imported." in html
    for conflict in ("coordinator", "department head", "admin"):
        assert message(conflict) in html
    assert counts() == before


def test_demo_staff_keep_the_separation():
    from tickets.demo.people import STAFF

    for username, _name, roles, _dept, head, _lang in STAFF:
        assert separation_conflict(roles, head) is None, username
    with pytest.raises(InvalidInput):
        require_separation(("inspector", "coordinator"))
