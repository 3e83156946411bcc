"""Sort, filter, page and path parameters outside what a page offers: a page or a 4xx, never a 5xx.

The pages come from `app.url_map`; the query parameters a page is tried with are every
name the package reads from `request.args` (found in its source, so a parameter added
later is tried too) that its view module mentions. Each is tried alone with values no
form offers: out-of-range numbers, dates that do not exist, NUL, RTL override, emoji,
very long text. String parts of a path (`<number>`, `<week>`, ...) get the same values.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest
from werkzeug.routing import UnicodeConverter

from tickets.extensions import db

from .conftest import accept, file_request

ROOT = Path(__file__).resolve().parent.parent
VALUES = ["", "x", "-1", str(2**63), "9" * 400, "1e400", "\x00", "\u202eevil😀", "2026-W99", "2026-02-30",
          "0000-01-01", "9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59_9223372036854775808", "a" * 5000]


def query_names() -> set[str]:
    """Every name read from the query string anywhere in the package."""
    names = set()
    for path in (ROOT / "tickets").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"request\.args\.get\(\s*\"(\w+)\"", text))
        # The rates read the period through a local alias: `a = request.args`.
        if re.search(r"(\w+) = request\.args\b", text):
            names |= set(re.findall(r"\b\w\.get\(\"(\w+)\"", text))
    return names


def module_source(app, endpoint: str) -> str:
    return inspect.getsource(sys.modules[app.view_functions[endpoint].__module__])


def test_every_query_parameter_is_found():
    assert {"after", "before", "by", "category", "department", "format", "from", "to", "week", "month", "level",
            "official", "q", "scope", "state", "status", "tab", "unread", "year", "next"} <= query_names()


@pytest.fixture
def world(park):
    t = file_request(park)
    accept(park, t)
    file_request(park)
    db.session.commit()
    return t


def reached_by(client_for, users, url):
    """The first of `users` who gets the page itself (200) with no parameters, as a list."""
    for user in users:
        if client_for(user).get(url).status_code == 200:
            return [user]
    return []


def test_odd_query_parameters(app, park, login, world):
    names = query_names()
    users = (park.coordinator, park.hr_official, park.inspector, park.leader, park.admin, park.firm_user)
    tried = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        source = module_source(app, rule.endpoint)
        params = sorted(n for n in names if f'"{n}"' in source)
        for user in reached_by(login, users, rule.rule):
            client = login(user)
            for name in params:
                for value in VALUES:
                    resp = client.get(rule.rule, query_string={name: value})
                    tried += 1
                    where = (rule.rule, user.username, name, value[:40], resp.status_code)
                    assert resp.status_code < 500, where
                    assert resp.status_code in (200, 302, 400, 403, 404), where
    assert tried > 500, tried


def test_odd_path_parts(app, park, login, world):
    users = (park.coordinator, park.inspector, park.admin, park.firm_user)
    tried = 0
    for rule in app.url_map.iter_rules():
        strings = [n for n, c in rule._converters.items() if isinstance(c, UnicodeConverter)]
        if not strings:
            continue
        for user in users:
            client = login(user)
            for value in VALUES:
                if not value or "/" in value:
                    continue  # an empty or slashed part is another URL, not this route
                path = rule.rule
                for name in rule.arguments:
                    path = path.replace(f"<int:{name}>", "1").replace(f"<{name}>", value)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    resp = client.open(path, method=method, data={})
                    tried += 1
                    where = (rule.rule, method, user.username, value[:40], resp.status_code)
                    assert resp.status_code < 500, where
    assert tried > 200, tried


def test_a_nul_in_a_query_or_json_is_refused_and_dropped_from_a_form(app, park, login):
    """PostgreSQL refuses NUL in text. A query or a JSON body with one: 400 in the user's language,
    before any view runs. A form: the NUL is dropped, so that what the user typed is not lost."""
    from tickets.extensions import db
    from tickets.models import Ticket

    from .test_form_token import form_data, post, token_of

    client = login(park.firm_user)
    before = db.session.scalar(db.select(db.func.count()).select_from(Ticket))
    resp = login(park.hr_official).get("/desk/tickets", query_string={"q": "a\x00b"})
    assert resp.status_code == 400 and "不允许" in resp.get_data(as_text=True)  # zh, the user's language
    client = login(park.firm_user)
    api = client.post("/api/v1/tickets", data='{"title": "a\\u0000b"}', content_type="application/json")
    assert api.status_code == 400 and api.mimetype == "application/problem+json"
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == before
    token = token_of(client.get("/firm/requests/new").get_data(as_text=True))
    resp = post(client, dict(form_data(park, token), title="招工\x00难"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    filed = db.session.scalars(db.select(Ticket).order_by(Ticket.id.desc())).first()
    assert filed.title == "招工难"
