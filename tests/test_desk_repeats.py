"""The desk's repeats tab: the same firm and category 3+ times in 90 days, then every request citing an earlier one.

| id | number      | filed        | firm, category | cites       |
| 1  | 2025-000001 | Mon 6 Jan 25 | B, other       | -           |
| 2  | 2026-000001 | Mon 16 Nov   | A, labor       | -           |
| 3  | 2026-000002 | Mon 16 Nov   | A, labor       | -           |
| 4  | 2026-000003 | Tue 17 Nov   | A, labor       | -           |
| 5  | 2026-000004 | Tue 17 Nov   | A, financing   | 2026-000001 |
| 6  | 2026-000005 | Wed 18 Nov   | B, labor       | -           |
| 7  | 2026-000006 | Thu 19 Nov   | B, labor       | 2026-000005 |
| 8  | 2026-000007 | Fri 20 Nov   | B, energy      | 2026-000005 |
| 9  | 2026-000008 | Mon 23 Nov   | B, other       | 2025-000001 (almost two years before: still a repeat) |

Groups: A/labor (3). Citations, grouped by the cited request, newest first (follows_id,
then id, descending): 2026-000007 and 2026-000006 (citing 2026-000005), 2026-000004
(citing 2026-000001), 2026-000008 (citing 2025-000001).
"""
from __future__ import annotations

import pytest

from tickets.services import desk

from .conftest import file_request

CITATIONS = [("2026-000007", "2026-000005"), ("2026-000006", "2026-000005"), ("2026-000004", "2026-000001"),
             ("2026-000008", "2025-000001")]


@pytest.fixture
def data(park, clock):
    labor, energy, financing, other = (park.category(c).id for c in ("labor", "energy", "financing", "other"))
    b = park.firm_b_user
    clock(2025, 1, 6, 9)
    file_request(park, user=b, category_id=other, title="旧诉求")
    clock(2026, 11, 16, 9)
    file_request(park, title="招工一")
    file_request(park, title="招工二")
    clock(2026, 11, 17, 9)
    file_request(park, title="招工三")
    file_request(park, category_id=financing, title="贷款", follows_number="2026-000001")
    clock(2026, 11, 18, 9)
    file_request(park, user=b, title="乙招工")
    clock(2026, 11, 19, 9)
    file_request(park, user=b, title="乙招工又来", follows_number="2026-000005")
    clock(2026, 11, 20, 9)
    file_request(park, user=b, category_id=energy, title="停电", follows_number="2026-000005")
    clock(2026, 11, 23, 9)
    file_request(park, user=b, category_id=other, title="老问题", follows_number="2025-000001")
    clock(2026, 11, 24, 9)
    return park


def described(rows):
    out = []
    for r in rows:
        if r.ticket is None:
            out.append(("group", r.extra["firm"].name, r.extra["category"].code, r.extra["count"],
                        [t.number for t in r.extra["tickets"]]))
        else:
            out.append((r.ticket.number, r.extra["cites"].number))
    return out


def test_groups_then_every_citing_request(data):
    assert described(desk.all_rows("repeats")) == [
        ("group", "甲公司", "labor", 3, ["2026-000001", "2026-000002", "2026-000003"]), *CITATIONS]
    assert desk.count("repeats") == 5
    assert desk.counts(current="repeats")["repeats"] == 5


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_keyset_pages_run_through_both_parts(data, size):
    pages, after = [], ""
    while True:
        rows, after = desk.page("repeats", after=after, size=size)
        pages.append(described(rows))
        assert len(rows) <= size
        if not after:
            break
    assert [row for p in pages for row in p] == described(desk.all_rows("repeats"))
    assert all(pages), "no empty page"


def test_a_page_that_ends_with_the_groups_continues_with_the_citations(data):
    rows, cursor = desk.page("repeats", size=1)
    assert described(rows)[0][0] == "group" and cursor == "1|"
    rows, cursor = desk.page("repeats", after=cursor, size=1)
    assert described(rows) == CITATIONS[:1] and cursor.startswith("1|")


def test_filters_apply_to_both_parts(data):
    f = desk.DeskFilters(category_id=data.category("labor").id)
    assert described(desk.all_rows("repeats", f)) == [
        ("group", "甲公司", "labor", 3, ["2026-000001", "2026-000002", "2026-000003"]),
        ("2026-000006", "2026-000005")]
    assert desk.count("repeats", f) == 2
    f = desk.DeskFilters(category_id=data.category("other").id)
    assert described(desk.all_rows("repeats", f)) == [("2026-000008", "2025-000001")]
    assert desk.count("repeats", f) == 1


def test_a_damaged_cursor_is_never_an_error(data):
    first, _c = desk.page("repeats", size=2)
    for bad in ("x", "1|x|y", "0|a|b|c", "9|9|9", "1|99999999999999999999|1"):
        rows, _c = desk.page("repeats", after=bad, size=2)
        assert rows  # never an error


def test_the_tab_shows_the_cited_request(data, client, login):
    login(data.inspector)
    html = client.get("/inspect/desk?tab=repeats").get_data(as_text=True)
    assert 'data-testid="count">5<' in html
    for number, cites in CITATIONS:
        assert f'data-number="{number}" data-cites="{cites}"' in html
    assert 'data-firm="甲公司"' in html
