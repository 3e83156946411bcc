"""Fixtures for the end-to-end browser test: the real app on a live server, and Chromium.

Imported by tests/test_e2e_loop.py (`from .conftest_browser import ...`), so the main
tests/conftest.py stays as it is. Debian's Chromium is driven through `executable_path`
because `playwright install` needs internet access that CI machines lack.
"""
from __future__ import annotations

import io
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import got_request_exception

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db

from .conftest import KNOWN_NOW, PASSWORD, Park
from .pgsuite import fresh_schema, suite_url
from .procs import without_faketime

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class LiveServer:
    url: str
    app: object
    users: dict          # role -> username
    ids: dict            # a few ids the test compares against (department ids, ...)
    password: str = PASSWORD
    errors: list = field(default_factory=list)   # exceptions raised while serving a request
    page_problems: list = field(default_factory=list)   # 5xx responses and script errors in the pages
    pages: dict = field(default_factory=dict)           # name -> Playwright page, for failure screenshots


@pytest.fixture
def live_server(tmp_path):
    """The real app, CSRF on, on a SQLite file database, served from a background thread."""
    from werkzeug.serving import make_server

    from tickets.reference import ensure_reference_data
    from tickets.services.calendar import seed_known_years
    from tickets.timeutil import set_now

    class BrowserConfig(TestingConfig):
        WTF_CSRF_ENABLED = True          # a real browser posts real tokens
        SQLALCHEMY_DATABASE_URI = suite_url(tmp_path, "e2e.db")   # or the run's PostgreSQL (tests/pgsuite.py)
        UPLOAD_DIR = str(tmp_path / "uploads")
        MAIL_DIR = str(tmp_path / "mail")

    # A running clock from the known moment: time passes for the live server, the date is known.
    set_now(KNOWN_NOW, running=True)
    app = create_app(BrowserConfig)
    with app.app_context():
        fresh_schema(db)
        ensure_reference_data()
        seed_known_years()
        park = Park()
        users = {name: getattr(park, name).username for name in
                 ("firm_user", "coordinator", "hr_official", "inspector")}
        ids = {"hr_dept": park.depts["hr"].id, "labor": park.category("labor").id,
               "hr_official_name": park.hr_official.name}
        db.session.remove()

    errors: list = []

    def record(sender, exception, **extra):
        errors.append(repr(exception))

    got_request_exception.connect(record, app)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, users=users, ids=ids,
                         errors=errors)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def browser():
    """Debian's Chromium, headless, through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=without_faketime())
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ (gitignored): screenshots of the key steps."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("failure-*"):
        old.unlink()
    return ARTIFACTS


def make_pdf() -> bytes:
    """A small, well-formed one-page PDF."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n" % (len(objs) + 1))
    out.write(b"0000000000 65535 f \n")
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def translator(lang: str):
    """gettext for `lang` from the project's compiled catalog; the msgid itself when there is none.

    The test finds labels by their text in the page's language; with no compiled zh
    catalog yet, the Chinese pages show the English msgids, and so does this.
    """
    from babel.support import Translations

    if lang == "en":
        return lambda msgid: msgid
    t = Translations.load(str(ROOT / "translations"), [lang])
    return t.gettext


def has_catalog(lang: str) -> bool:
    return (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.mo").exists()
