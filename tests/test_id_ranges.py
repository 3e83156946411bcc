"""Ids beyond what the database holds give 404, never 500, on every `<int:...>` route.

The routes come from `app.url_map`, so a route added later is tried too. Each is asked,
with every method it takes, by users of every role (the one it is for gets past the
permission check to the lookup), with 2^63 and other ids no database row can have.
"""
from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from tickets.routing import IdConverter
from tickets.services.common import MAX_ID, parse_id

from .conftest import file_request

# 2**31: one past an INTEGER id, which PostgreSQL refuses to compare (an error, not "no row").
BEYOND = [str(2**31), str(2**63), str(2**64), "9" * 30, "9" * 5000]
# In range but no such row: the lookup itself must cope with the largest id.
NO_ROW = [str(MAX_ID)]
NOT_IDS = ["0", "00", "١", "-1", "1e3"]


def int_rules(app):
    """(rule, names of its integer arguments) for every route with one."""
    out = []
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if ints:
            out.append((rule, ints))
    return out


def test_every_int_converter_is_the_id_converter(app):
    rules = int_rules(app)
    assert len(rules) >= 6, [r.rule for r, _ in rules]
    for rule, ints in rules:
        assert all(type(rule._converters[name]) is IdConverter for name in ints), rule.rule


def path_for(rule, ints, value: str, number: str) -> str:
    path = rule.rule
    for name, conv in rule._converters.items():
        if name in ints:
            path = path.replace(f"<int:{name}>", value)
        else:
            path = path.replace(f"<{name}>", number if name == "number" else "x")
    return path


@pytest.mark.parametrize("value", BEYOND + NO_ROW + NOT_IDS)
def test_ids_out_of_range_are_not_found(app, park, login, value):
    t = file_request(park)
    users = (park.admin, park.coordinator, park.firm_user, park.hr_official, park.inspector, park.leader)
    for rule, ints in int_rules(app):
        reached = set()
        for user in users:
            client = login(user)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = path_for(rule, ints, value, t.number)
                resp = client.open(path, method=method, data={})
                where = (rule.rule, method, user.username, value[:30], resp.status_code)
                assert resp.status_code < 500, where
                assert resp.status_code in (403, 404), where
                reached.add(resp.status_code)
        # Somebody got past the permission check: the id itself was refused.
        assert 404 in reached, (rule.rule, value[:30])


def test_parse_id_range_checks_form_values():
    assert parse_id(str(MAX_ID)) == MAX_ID and parse_id(MAX_ID) == MAX_ID
    for bad in (str(2**63), 2**63, "0", 0, "-1", "١", "²", "1.0", "", None, True, "9" * 5000, " 12 x"):
        assert parse_id(bad) is None, bad
    assert parse_id(" 12 ") == 12
