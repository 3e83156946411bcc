"""The defects of the hardening issue, tried from outside over real HTTP, as an attacker would.

The app is started the way `make run` starts it (the development config, CSRF on, keys created
in an instance folder) and served on a loopback port by a Werkzeug server in a thread; every
request below goes through a socket with `http.client`, cookies carried by hand. Each test is
one line of the issue's list, and each now fails to get in.
"""
from __future__ import annotations

import http.client
import re
import threading
import uuid
from datetime import datetime
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from flask import Flask

from tickets.extensions import db
from tickets.models import Ticket
from tickets.reference import ensure_reference_data
from tickets.timeutil import from_local, set_now

from .conftest import PASSWORD, Park
from .test_secrets import PUBLISHED_SECRET, started_like_make_run

NOW = from_local(datetime(2026, 11, 24, 10))
# A PDF that is also an HTML page with a script (the polyglot).
POLYGLOT = (b"%PDF-1.4\n<html><script>alert(document.domain)</script></html>\n1 0 obj\n<< /Type /Catalog >>\n"
            b"endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


class Browser:
    """One visitor: a cookie jar and the CSRF token of the last page, over a real connection."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                cookies: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        jar = self.cookies if cookies is None else cookies
        head = dict(headers or {})
        if jar:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        conn.request(method, path, body=body, headers=head)
        resp = conn.getresponse()
        data = resp.read()
        for value in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                if morsel.value and morsel["max-age"] != "0" and "1970" not in morsel["expires"]:
                    jar[name] = morsel.value
                else:
                    jar.pop(name, None)
        conn.close()
        return resp.status, resp.headers, data.decode("utf-8", "replace")

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, fields: dict, token_from: str | None = None):
        fields = dict(fields)
        if token_from is not None:
            fields.setdefault("csrf_token", self.csrf(token_from))
        return self.request("POST", path, urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def csrf(self, path: str) -> str:
        _s, _h, html = self.get(path)
        return csrf_of(html)

    def sign_in(self, username: str, password: str = PASSWORD, remember: bool = False):
        fields = {"username": username, "password": password}
        if remember:
            fields["remember"] = "y"
        return self.post("/login", fields, token_from="/login")


def csrf_of(html: str) -> str:
    """The CSRF token of a page, whichever form renders it (Flask-WTF's field or a plain input)."""
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


@pytest.fixture
def server(tmp_path):
    from werkzeug.serving import make_server

    set_now(NOW, running=True)
    app = started_like_make_run(tmp_path)
    with app.app_context():
        db.create_all()
        ensure_reference_data()
        park = Park()
        names = {"admin": park.admin.username, "firm": park.firm_user.username,
                 "labor": park.category("labor").id, "firm_id": park.firm_a.id,
                 "firm_user_id": park.firm_user.id}
        db.session.remove()
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, srv.server_port, names
    finally:
        srv.shutdown()
        thread.join(10)
        srv.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        set_now(None)


def to_login(status, headers) -> bool:
    return status == 302 and "/login" in headers.get("Location", "")


def forge(payload: dict, key: str) -> str:
    forger = Flask("forger")
    forger.secret_key = key
    return forger.session_interface.get_signing_serializer(forger).dumps(payload)


def test_a_cookie_signed_with_the_published_key_opens_nothing(server):
    app, port, names = server
    outsider = Browser(port)
    cookie = {app.config["SESSION_COOKIE_NAME"]: forge({"_user_id": "1", "_fresh": True}, PUBLISHED_SECRET)}
    status, headers, _ = outsider.get("/admin/users", cookies=cookie)
    assert to_login(status, headers)


def test_sign_out_ends_the_saved_session_and_remember_cookies(server):
    app, port, names = server
    b = Browser(port)
    assert to_login(*b.get("/admin/users")[:2])
    status, headers, _ = b.sign_in(names["admin"], remember=True)
    assert status == 302 and not to_login(status, headers)
    assert b.get("/admin/users")[0] == 200
    saved = dict(b.cookies)
    assert "remember_token" in saved
    b.post("/logout", {}, token_from="/admin/users")
    # Both cookies, replayed together or the remember cookie alone, open nothing any more.
    assert to_login(*b.get("/admin/users", cookies=dict(saved))[:2])
    assert to_login(*b.get("/admin/users", cookies={"remember_token": saved["remember_token"]})[:2])


def test_two_hundred_wrong_passwords_then_the_right_one_does_not_get_in(server):
    app, port, names = server
    b = Browser(port)
    answers = [b.sign_in(names["admin"], "wrong password %d" % i)[0] for i in range(200)]
    assert answers[:5] == [200] * 5 and set(answers[5:]) == {429}
    status, headers, _ = b.sign_in(names["admin"])
    assert status == 429 and b.get("/admin/users")[0] == 302


def test_unknown_and_known_accounts_get_the_same_answer(server):
    app, port, names = server
    known = Browser(port).sign_in(names["admin"], "wrong password 1")
    unknown = Browser(port).sign_in("nobody-" + uuid.uuid4().hex[:8], "wrong password 1")
    assert known[0] == unknown[0] == 200
    message = re.compile(r'role="alert">([^<]+)<')
    assert message.findall(known[2]) == message.findall(unknown[2]) != []


def test_headers_of_a_signed_in_page(server):
    app, port, names = server
    b = Browser(port)
    b.sign_in(names["admin"])
    status, headers, html = b.get("/admin/users")
    assert status == 200
    assert headers["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in headers["Cache-Control"]
    assert "<style" not in html and " style=" not in html and "<script>" not in html


def test_the_csrf_secret_changes_at_sign_in(server):
    app, port, names = server
    b = Browser(port)
    before = b.csrf("/login")
    b.sign_in(names["firm"])
    after = b.csrf("/inbox/")
    # A token copied from the signed-out page (say, planted by an attacker) is refused afterwards.
    status, _h, _b = b.post("/logout", {"csrf_token": before})
    assert status == 400 and b.get("/inbox/")[0] == 200
    assert b.post("/logout", {"csrf_token": after})[0] == 302


def test_an_admin_reset_ends_the_users_open_sessions(server):
    app, port, names = server
    firm = Browser(port)
    firm.sign_in(names["firm"], remember=True)
    saved = dict(firm.cookies)
    assert firm.get("/inbox/")[0] == 200
    admin = Browser(port)
    admin.sign_in(names["admin"])
    page = f"/admin/users/{names['firm_user_id']}"
    _s, _h, html = admin.get(page)
    fields = [("csrf_token", csrf_of(html)), ("username", names["firm"]), ("name", "甲公司联系人"),
              ("roles", "firm"), ("language", "zh"), ("email", ""), ("mobile", ""),
              ("firm_id", str(names["firm_id"])), ("department_id", ""), ("active", "y"),
              ("password", "A new start 2026")]
    status, headers, body = admin.request("POST", page, urlencode(fields).encode(),
                                          {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, body[:2000]
    # The session cookie and the remember cookie the firm's browser holds both open nothing now.
    assert to_login(*firm.get("/inbox/", cookies=dict(saved))[:2])
    assert to_login(*firm.get("/inbox/", cookies={"remember_token": saved["remember_token"]})[:2])


@pytest.mark.parametrize("path", ["/tickets/2026-000001/attachments/9223372036854775808",
                                  "/admin/users/9223372036854775808", "/admin/firms/99999999999999999999"])
def test_ids_past_the_database_integer_are_404(server, path):
    app, port, names = server
    b = Browser(port)
    b.sign_in(names["admin"])
    assert b.get(path)[0] == 404


def test_marking_a_notification_past_the_integer_is_404(server):
    app, port, names = server
    b = Browser(port)
    b.sign_in(names["firm"])
    assert b.post("/inbox/9223372036854775808/read", {}, token_from="/inbox/")[0] == 404


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = "----bihuan" + uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    for name, (filename, data, ctype) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def file_request(b: Browser, names: dict, files: dict | None = None, token: str | None = None):
    _s, _h, html = b.get("/firm/requests/new")
    csrf = csrf_of(html)
    token = token or re.search(r'name="form_token" type="hidden" value="([^"]+)"', html).group(1)
    body, ctype = multipart({"csrf_token": csrf, "form_token": token, "category_id": names["labor"],
                             "title": "招工难", "description": "缺少 30 名操作工", "urgency": "normal",
                             "contact_name": "王经理", "contact_phone": "13800138000"}, files or {})
    status, headers, _ = b.request("POST", "/firm/requests/new", body, {"Content-Type": ctype})
    return status, headers, token


def test_a_polyglot_named_html_downloads_as_a_pdf(server):
    app, port, names = server
    b = Browser(port)
    b.sign_in(names["firm"])
    status, headers, _ = file_request(b, names, {"attachments": ("poly.html", POLYGLOT, "text/html")})
    assert status == 302, status
    number = re.search(r"/tickets/([0-9-]+)", headers["Location"]).group(1)
    _s, _h, page = b.get(f"/tickets/{number}")
    link = re.search(rf'href="(/tickets/{number}/attachments/\d+)"', page).group(1)
    status, headers, body = b.get(link)
    assert status == 200
    disposition = headers["Content-Disposition"]
    assert "poly.pdf" in disposition and ".html" not in disposition
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"].startswith("application/pdf")


def test_the_same_request_form_posted_twice_files_one_ticket(server):
    app, port, names = server
    b = Browser(port)
    b.sign_in(names["firm"])
    first, _h, token = file_request(b, names)
    second, headers, _t = file_request(b, names, token=token)   # the back button, then submit again
    assert first == second == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 1
