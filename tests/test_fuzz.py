"""Hostile input, generated: every route of the URL map, every form field and query parameter.

Hypothesis draws a role, a route, values for the route's path parts, query parameters and
form fields (NUL bytes, right-to-left override, emoji, a megabyte, numbers past 2^63,
wrong types, duplicates, missing fields) and sends the request through the test client.
Whatever comes in, the answer is a page or a 4xx, never a 5xx; a refused request (4xx)
changes nothing in the database; and afterwards every ticket's record is whole (its events
match its head hash and count, verified with the audit key).

The run is derandomized (the same cases every time, on every machine) and prints how many
requests it generated (`pytest_terminal_summary` in tests/conftest.py).
"""
from __future__ import annotations

import os
from datetime import datetime
from types import SimpleNamespace

import pytest
from flask import g
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import security

import tickets.models.org as org
from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data
from tickets.services.actions import perform
from tickets.services.calendar import seed_year
from tickets.timeutil import from_local, set_now

from .conftest import PASSWORD, Park, accept, drop_everything, file_request, handle
from .pgsuite import separate_url

FUZZ_NOW = from_local(datetime(2026, 11, 24, 10))
# The second database's run (TEST_SECOND_RUN=1, scripts/test_at_odd_hours.sh) repeats the search with fewer
# examples: the first run has made the 1200; this one shows the other database takes them too.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300" if os.environ.get("TEST_SECOND_RUN") == "1" else "1200"))
COUNTER = os.path.join(os.path.dirname(__file__), "..", "test-artifacts")

# Query parameters the routes read, and a few they do not.
ARGS = ("after", "before", "q", "unread", "state", "department", "category", "official", "level", "year",
        "week", "month", "tab", "status", "scope", "next", "format", "by", "from", "to", "page", "sort", "lang")
# Hostile values: the edges of every type a form or a URL carries.
NASTY = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\u202eevil", "😀" * 20, "<script>alert(1)</script>", "' OR 1=1 --", "%00",
    "../../etc/passwd", "-1", "0", "1", "3.5", "1e309", "NaN", "9223372036854775807", "9223372036854775808",
    "99999999999999999999999999", "-9223372036854775809", "２０２６-１１-０１", "2026-02-30", "2026-13-01",
    "0001-01-01", "9999-12-31", "2026-W99", "2026-W48", "2026-11", "2026-11-24", "2026-11-24T10:00",
    "zh", "en", "xx", "approve", "deny", "confirm", "refuse", "internal", "public", "resolved", "yes", "no",
    "satisfied", "dissatisfied", "labor", "csv", "xlsx", "json", "department", "official", "total",
    "true", "false", "on", "|", "0|2026-01-01T00:00:00|1", "x" * 5001, "长" * 300,
])
TEXT = st.one_of(NASTY, st.text(max_size=40), st.integers(-2**70, 2**70).map(str))
BIG = st.just("A" * 1_000_000)


def form_fields() -> list[str]:
    """Every field name a form of the app declares (ticket actions with their prefix), and raw ones."""
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    from tickets.ticket.forms import FORMS

    names = {"csrf_token", "id", "channel", "next", "open", "what", "who_user_id", "who_text", "by_date",
             "new_due", "chair_id", "year", "day", "is_workday", "name"}

    def fields_of(cls):
        return {k for base in cls.__mro__ for k, v in vars(base).items() if isinstance(v, UnboundField)}

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    for cls in walk(FlaskForm):
        names |= fields_of(cls)
    for action, cls in FORMS.items():
        names |= {f"{action}-{k}" for k in fields_of(cls)}
    return sorted(names)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")

    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp / "uploads")
        MAIL_DIR = str(tmp / "mail")
        SQLALCHEMY_DATABASE_URI = separate_url(tmp, "fuzz")   # SQLite, or a database of its own in the run's PostgreSQL

    app = create_app(Cfg)

    def _own_request_user():
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)

    # First of the before_request functions, as in tests/conftest.py: the session check reads the user.
    app.before_request_funcs.setdefault(None, []).insert(0, _own_request_user)

    real_hash = security.generate_password_hash
    with pytest.MonkeyPatch.context() as mp, app.app_context():
        mp.setattr(org, "generate_password_hash",
                   lambda password, method=None, salt_length=16: real_hash(password, "pbkdf2:sha256:1000"))
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        seed_year(2026)
        park = Park()
        set_now(from_local(datetime(2026, 11, 20, 9)))
        submitted = file_request(park, title="待受理")
        accepted = file_request(park, title="办理中")
        accept(park, accepted)
        perform(accepted, "ask", park.hr_official, text="请补充材料")
        handled = file_request(park, title="待反馈")
        accept(park, handled)
        handle(park, handled)
        perform(accepted, "issue_notice", park.inspector, reason="督办")
        set_now(FUZZ_NOW)
        from tickets.services.meeting import build_list, week_of

        build_list(week_of(FUZZ_NOW))
        db.session.commit()
        numbers = [t.number for t in (submitted, accepted, handled)]
        users = {name: getattr(park, name) for name in
                 ("firm_user", "coordinator", "hr_official", "hr_head", "leader", "inspector", "admin")}
        clients = {}
        for name, user in users.items():
            c = app.test_client()
            resp = c.post("/login", data={"username": user.username, "password": PASSWORD})
            assert resp.status_code == 302, name
            clients[name] = (c, user)
        clients["anonymous"] = (app.test_client(), None)
        rules = [r for r in app.url_map.iter_rules() if r.endpoint not in ("static", "auth.logout")]
        yield SimpleNamespace(app=app, park=park, numbers=numbers, clients=clients, rules=rules,
                              fields=form_fields(), week=week_of(FUZZ_NOW))
        db.session.remove()
        drop_everything()
    set_now(None)


@pytest.fixture(autouse=True)
def known_now(world):
    set_now(FUZZ_NOW)
    yield
    set_now(None)


def fingerprint() -> tuple:
    """Row counts of every table and the sum of ticket versions: what a refused request must not move."""
    db.session.expire_all()
    counts = tuple(db.session.execute(db.select(db.func.count()).select_from(t)).scalar()
                   for t in db.metadata.sorted_tables)
    versions = db.session.execute(db.text("SELECT COALESCE(SUM(version), 0) FROM tickets")).scalar()
    return counts + (versions,)


def path_value(draw, world, name: str, converter: str):
    if converter == "IntegerConverter":
        return draw(st.one_of(st.integers(1, 5), st.integers(-5, 2**70), st.just(2**63), st.just(2**63 - 1)))
    if name == "number":
        return draw(st.one_of(st.sampled_from(world.numbers), TEXT.filter(lambda s: "/" not in s and s)))
    if name == "week":
        return draw(st.one_of(st.just(world.week), TEXT.filter(lambda s: "/" not in s and s)))
    if name == "action":
        from tickets.ticket.forms import FORMS

        return draw(st.one_of(st.sampled_from(sorted(FORMS)), TEXT.filter(lambda s: "/" not in s and s)))
    return draw(TEXT.filter(lambda s: "/" not in s and s and s not in (".", "..")))


@st.composite
def requests(draw, world):
    role = draw(st.sampled_from(sorted(world.clients)))
    rule = draw(st.sampled_from(world.rules))
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    values = {}
    for arg in rule.arguments:
        converter = type(rule._converters[arg]).__name__
        values[arg] = path_value(draw, world, arg, converter)
    query = draw(st.dictionaries(st.sampled_from(ARGS), TEXT, max_size=4))
    form = {}
    if method == "POST":
        form = draw(st.dictionaries(st.sampled_from(world.fields), st.one_of(TEXT, st.lists(TEXT, max_size=3)),
                                    max_size=8))
        if draw(st.integers(0, 40)) == 0:  # now and then a megabyte in one field
            form[draw(st.sampled_from(world.fields))] = draw(BIG)
    return role, rule, method, values, query, form


def url_of(world, rule, values: dict) -> str:
    from urllib.parse import quote

    path = rule.rule
    for arg, value in values.items():
        for conv in ("int:", "path:", ""):
            path = path.replace(f"<{conv}{arg}>", quote(str(value), safe=""))
    return path


def count_case(n: int = 1) -> None:
    """Add to this process's count of generated requests (summed in the terminal summary)."""
    os.makedirs(COUNTER, exist_ok=True)
    path = os.path.join(COUNTER, f"fuzz-count-{os.getpid()}")
    done = int(open(path).read()) if os.path.exists(path) else 0
    with open(path, "w") as f:
        f.write(str(done + n))


def test_any_input_gives_a_page_or_a_4xx_and_a_refusal_writes_nothing(world):
    seen: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests(world))
    def one(case):
        role, rule, method, values, query, form = case
        client, user = world.clients[role]
        url = url_of(world, rule, values)
        before = fingerprint()
        if method == "GET":
            resp = client.get(url, query_string=query)
        else:
            resp = client.post(url, query_string=query, data=form)
        count_case()
        seen[resp.status_code] = seen.get(resp.status_code, 0) + 1
        # /readyz answers 503 by design when Redis is not reachable (the test app has none).
        ready = rule.rule == "/readyz" and resp.status_code == 503
        assert resp.status_code < 500 or ready, (role, method, url, query,
                                                 form and {k: str(v)[:80] for k, v in form.items()})
        if 400 <= resp.status_code < 500:
            assert fingerprint() == before, (role, method, url, resp.status_code)
        db.session.rollback()
        if user is not None and resp.status_code == 302 and "/login" in resp.headers.get("Location", ""):
            # The request ended the session (a role change, say): sign in again for the next case.
            client.post("/login", data={"username": user.username, "password": PASSWORD})

    one()
    # Every ticket's record is whole after all of it.
    from tickets.audit import verify_ticket
    from tickets.models import Ticket

    broken = {t.number: verify_ticket(t) for t in db.session.scalars(db.select(Ticket)) if verify_ticket(t)}
    assert broken == {}
    # The generator reached past the front door: some requests were served, some refused.
    assert any(s < 300 for s in seen) and any(400 <= s < 500 for s in seen), seen
