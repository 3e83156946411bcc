"""Scenario helpers for the session, password and sign-in tests: sign in, copy cookies out,
replay them on a fresh client, and post the admin's user form."""
from __future__ import annotations

from tickets.extensions import db
from tickets.models import SecurityEvent

from .conftest import PASSWORD

SESSION, REMEMBER = "session", "remember_token"


def sign_in(client, username: str, password: str = PASSWORD, remember: bool = False, **extra):
    data = {"username": username, "password": password, **extra}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def cookies_of(client, *names: str) -> dict[str, str]:
    """The named cookies the client holds now (as an attacker would copy them out of a browser)."""
    out = {}
    for name in names:
        cookie = client.get_cookie(name)
        if cookie is not None:
            out[name] = cookie.value
    return out


def replay(app, cookies: dict[str, str]):
    """A fresh client (another browser) holding only these cookies."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def signed_in(client, path: str = "/help") -> bool:
    """Whether the client gets a signed-in page (not a redirect to the sign-in page)."""
    resp = client.get(path)
    return resp.status_code == 200


def user_form(user, **over) -> dict:
    """The admin's user form for `user` as it stands, with `over` changed."""
    data = {"username": user.username, "name": user.name, "roles": sorted(user.roles), "language": user.language,
            "email": user.email, "mobile": user.mobile, "firm_id": str(user.firm_id or ""),
            "department_id": str(user.department_id or ""), "active": "y" if user.active else "",
            "password": ""}
    if user.is_head:
        data["is_head"] = "y"
    data.update(over)
    return {k: v for k, v in data.items() if v != "" or k in ("password", "firm_id", "department_id")}


def kinds(user=None) -> list[str]:
    """The security log's kinds, oldest first (of one user, or all)."""
    stmt = db.select(SecurityEvent.kind).order_by(SecurityEvent.id)
    if user is not None:
        stmt = stmt.where(SecurityEvent.user_id == user.id)
    return list(db.session.scalars(stmt))
