"""The security headers, read off real responses: the sign-in page, every page of every role, errors.

The CSP is written out here letter by letter (not imported), so that a change to the
policy is a change to this test too.
"""
from __future__ import annotations

import pytest

from config import ProductionConfig, TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.models import Attachment

from .conftest import file_request
from .pgsuite import suite_url

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def check_common(resp, where: str) -> None:
    h = resp.headers
    assert h.get("Content-Security-Policy") == CSP, (where, h.get("Content-Security-Policy"))
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin"), where
    assert h.get("X-Frame-Options") == "DENY", where


def test_sign_in_page(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    check_common(resp, "/login")
    # Not production: no HSTS (a developer's http://127.0.0.1 must not be pinned to https).
    assert "Strict-Transport-Security" not in resp.headers


def test_errors_and_redirects_carry_the_headers(client, park, login):
    check_common(client.get("/no-such-page"), "404")
    check_common(client.get("/desk/tickets"), "302 to sign-in")
    login(park.firm_user)
    resp = client.get("/admin/")
    assert resp.status_code == 403
    check_common(resp, "403")
    assert resp.headers["Cache-Control"] == "no-store"


def _get_routes(app):
    """Every GET route that takes no argument, from the URL map (a new page is covered by itself)."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            yield rule.rule


def test_every_page_of_every_role(app, park, login):
    t = file_request(park)
    for user in (park.firm_user, park.coordinator, park.hr_official, park.hr_head, park.leader,
                 park.inspector, park.admin):
        client = login(user)
        urls = list(_get_routes(app)) + [f"/tickets/{t.number}"]
        for url in urls:
            resp = client.get(url)
            where = f"{user.username} {url} {resp.status_code}"
            # /readyz answers 503 here: no Redis runs for this test (tests/test_health_logs.py).
            assert resp.status_code < 500 or url == "/readyz", where
            check_common(resp, where)
            # Signed in: nothing is kept by the browser or a proxy, whatever the status.
            assert resp.headers.get("Cache-Control") == "no-store", where


def test_after_sign_out_the_pages_are_no_longer_no_store_by_default(client, park, login):
    login(park.coordinator)
    assert client.get("/desk/tickets").headers["Cache-Control"] == "no-store"
    client.post("/logout")
    resp = client.get("/login")
    assert resp.status_code == 200
    assert resp.headers.get("Cache-Control") != "no-store"


def test_static_files_stay_cacheable(client, park, login):
    login(park.coordinator)
    resp = client.get("/static/app.css")
    assert resp.status_code == 200
    check_common(resp, "static")
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    resp.close()


def test_attachment_download_keeps_its_stricter_policy(app, park, login):
    from tickets.services.common import Upload

    from .conftest_browser import make_pdf

    t = file_request(park, uploads=[Upload("a.pdf", make_pdf())])
    a = db.session.scalars(db.select(Attachment)).one()
    client = login(park.firm_user)
    resp = client.get(f"/tickets/{t.number}/attachments/{a.id}")
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in resp.headers["Cache-Control"]
    resp.close()


@pytest.fixture
def production_app(tmp_path, monkeypatch):
    for name in ("BIHUAN_FROZEN_NOW", "BIHUAN_CLOCK_OFFSET"):
        monkeypatch.delenv(name, raising=False)

    class Cfg(ProductionConfig):
        SECRET_KEY = "a-real-secret-for-this-test-only"
        AUDIT_KEY = "a-real-audit-key-for-this-test-only"
        SQLALCHEMY_DATABASE_URI = suite_url(tmp_path, "prod.db")

    return create_app(Cfg)


def test_hsts_in_production_only(production_app, tmp_path):
    resp = production_app.test_client().get("/login")
    assert resp.status_code == 200
    check_common(resp, "production /login")
    hsts = resp.headers.get("Strict-Transport-Security", "")
    assert hsts.startswith("max-age=") and int(hsts.split(";")[0].split("=")[1]) >= 180 * 86400, hsts

    class Other(TestingConfig):
        SQLALCHEMY_DATABASE_URI = suite_url(tmp_path, "other.db")

    resp = create_app(Other).test_client().get("/login")
    assert "Strict-Transport-Security" not in resp.headers
