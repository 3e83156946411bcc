"""Fixtures: an app on a fresh database per test, a client, and scenario helpers."""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime

import pytest

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db as _db
from tickets.models import CalendarDay, CalendarYear, Firm, User
from tickets.reference import ensure_reference_data
from tickets.timeutil import from_local, local_today, set_now
from tickets.validators import credit_check_char

from . import pgsuite

PASSWORD = "correct horse 7"
# Every test runs "at" this moment unless it sets its own (the `clock` fixture, set_now,
# frozen): Tuesday 24 November 2026, 07:30 in Shanghai, a working day, which is still
# Monday 23:30 in UTC. Nothing a test checks may depend on the wall clock, so CI gives the
# same answer at any hour; and because the UTC and the Shanghai dates differ at this moment,
# code (or a test) that takes a UTC date for the local one fails every time, not only at night.
KNOWN_NOW = from_local(datetime(2026, 11, 24, 7, 30))


def credit_code(n: int) -> str:
    """A valid unified social credit code, different for each n."""
    first17 = f"91330100{n:09d}"
    return first17 + credit_check_char(first17)


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Tests hash with a cheap pbkdf2: scrypt for a dozen users per test costs seconds.

    tests/test_auth.py checks that the real code asks for scrypt.
    """
    import tickets.models.org as org
    from werkzeug import security

    real = security.generate_password_hash
    monkeypatch.setattr(org, "generate_password_hash",
                        lambda password, method=None, salt_length=16: real(password, "pbkdf2:sha256:1000"))


FUZZ_COUNTS = os.path.join(os.path.dirname(__file__), "..", "test-artifacts")


def pytest_configure(config):
    # TEST_DB=postgresql: one temporary cluster for the run, a database per xdist worker (tests/pgsuite.py).
    pgsuite.configure(config)
    # The controller (not an xdist worker) forgets the counts of an earlier run.
    if not hasattr(config, "workerinput") and os.path.isdir(FUZZ_COUNTS):
        for name in os.listdir(FUZZ_COUNTS):
            if name.startswith("fuzz-count-"):
                os.remove(os.path.join(FUZZ_COUNTS, name))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """How many requests the property-based run (tests/test_fuzz.py) generated, over every worker."""
    if hasattr(config, "workerinput") or not os.path.isdir(FUZZ_COUNTS):
        return
    total = sum(int(open(os.path.join(FUZZ_COUNTS, n)).read() or 0)
                for n in os.listdir(FUZZ_COUNTS) if n.startswith("fuzz-count-"))
    if total:
        terminalreporter.write_line(f"hypothesis: {total} generated requests (tests/test_fuzz.py)")


@pytest.fixture(autouse=True)
def known_now():
    """The service clock stands at KNOWN_NOW for the test; set back to the real clock after."""
    set_now(KNOWN_NOW)
    yield KNOWN_NOW
    set_now(None)


@contextmanager
def app_on(url: str, tmp_path):
    """An app on a fresh schema at `url` (SQLite file or PostgreSQL), with the reference data."""
    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp_path / "uploads")
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)

    def _own_request_user():
        # The test keeps one app context pushed and every test-client request reuses
        # it; Flask-Login caches the user on `g`, so let each request load its own.
        from flask import g

        g.pop("_login_user", None)

    # First of the before_request functions: the session check (tickets/auth/sessions.py) reads the user too.
    app.before_request_funcs.setdefault(None, []).insert(0, _own_request_user)

    with app.app_context():
        pgsuite.fresh_schema(_db)
        ensure_reference_data()
        yield app
        _db.session.remove()
        if _db.engine.dialect.name == "postgresql" and url == os.environ.get("TEST_DATABASE_URL"):
            _db.engine.dispose()   # the next test empties the tables (tests/pgsuite.py)
        else:
            drop_everything()
            _db.engine.dispose()
    set_now(None)


@pytest.fixture
def app(tmp_path):
    with app_on(pgsuite.suite_url(tmp_path), tmp_path) as app:
        yield app


def drop_everything() -> None:
    """drop_all, with SQLite's row-by-row foreign key checks off (tickets follow tickets)."""
    if _db.engine.dialect.name == "sqlite":
        with _db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            _db.metadata.drop_all(conn)
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    else:
        _db.drop_all()


@pytest.fixture(scope="module")
def pg_url():
    """A throwaway PostgreSQL server for the module (tests/pg.py), for tests that compare the two databases."""
    from .pg import TempPostgres

    server = TempPostgres().start()
    yield server.url
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock():
    """Set the service clock to a Shanghai wall-clock time: clock(2026, 11, 23, 9)."""

    def move(*args):
        set_now(from_local(datetime(*args)))

    yield move
    set_now(None)


class Park:
    """A small park: two departments' officials, a coordinator, a leader, an inspector, two firms."""

    def __init__(self):
        from tickets.models import Department

        self.depts = {d.code: d for d in _db.session.scalars(_db.select(Department))}
        self.coordinator = self.user("coord", "coordinator")
        self.leader = self.user("leader", "leader")
        self.inspector = self.user("inspector", "inspector")
        self.admin = self.user("admin", "admin")
        self.hr_head = self.user("hr_head", "official", dept="hr", head=True)
        self.hr_official = self.user("hr_off", "official", dept="hr")
        self.hr_other = self.user("hr_other", "official", dept="hr")
        self.fin_head = self.user("fin_head", "official", dept="finance", head=True)
        self.fin_official = self.user("fin_off", "official", dept="finance")
        self.firm_a = self.firm("甲公司", 1, liaison=self.leader)
        self.firm_b = self.firm("乙公司", 2)
        self.firm_user = self.user("firm_a", "firm", firm=self.firm_a)
        self.firm_b_user = self.user("firm_b", "firm", firm=self.firm_b)
        _db.session.commit()

    def user(self, username, *roles, dept=None, head=False, firm=None) -> User:
        u = User(username=username, name=username.replace("_", " ").title(), email=f"{username}@example.test",
                 mobile="13800138000", language="zh", is_head=head,
                 department_id=self.depts[dept].id if dept else None, firm_id=firm.id if firm else None)
        u.set_password(PASSWORD)
        u.set_roles(roles)
        _db.session.add(u)
        _db.session.flush()
        return u

    def firm(self, name, n, liaison=None) -> Firm:
        f = Firm(name=name, credit_code=credit_code(n), address="高新区", contact_name="联系人",
                 contact_phone="13800138000", liaison_id=liaison.id if liaison else None)
        _db.session.add(f)
        _db.session.flush()
        return f

    def category(self, code):
        from tickets.models import Category

        return _db.session.scalar(_db.select(Category).filter_by(code=code))


@pytest.fixture
def park(app):
    return Park()


@pytest.fixture
def login(client):
    """login(user) signs the test client in as that user."""

    def do(user):
        client.post("/logout")
        resp = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client

    return do


def file_request(park, user=None, **over):
    """File a request through the service, as the firm user by default."""
    from tickets.services.filing import file_ticket

    user = user or park.firm_user
    data = dict(firm_id=user.firm_id, category_id=park.category("labor").id, title="招工难",
                description="缺少 30 名操作工", urgency="normal", contact_name="王经理",
                contact_phone="13800138000")
    data.update(over)
    return file_ticket(user, **data)


def accept(park, ticket, lead=None):
    from tickets.services.actions import perform

    lead = lead or park.hr_official
    return perform(ticket, "accept", park.coordinator, lead_id=lead.id, department_id=lead.department_id)


def handle(park, ticket, by=None):
    from tickets.services.actions import perform

    return perform(ticket, "handle", by or park.hr_official, outcome="resolved", what_was_done="推荐了 30 名工人",
                   explanation="", contact_method="phone", contacted_on=local_today())
