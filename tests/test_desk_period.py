"""The inspector desk's date range: every tab counts what happened in the period, and says so.

The data set is tests/test_desk.py's (its docstring has the table); "now" is Friday 27 November
2026, 10:00 Shanghai. What each tab puts in the period, from the issue (a monthly report):
overdue now by due time (24:00 of a day counts in that day), supervision by the day the ticket
went on the list, rework by the dissatisfied rating, dissatisfied by the rating, bounced by an
approved transfer, the closings by their closing, extensions by the request, repeats by filing.
"""
from __future__ import annotations

import re
from datetime import date

from tickets.extensions import db
from tickets.services import desk
from tickets.services.rates.period import Period

from .conftest_browser import translator
from .test_desk import N, data, numbers  # noqa: F401  (data: the fixture)


def month(first: tuple, last: tuple, **filters) -> desk.DeskFilters:
    return desk.DeskFilters(period=Period(date(*first), date(*last)), **filters)


EARLY = month((2026, 11, 1), (2026, 11, 5))
LATE = month((2026, 11, 6), (2026, 11, 30))
OCTOBER = month((2026, 10, 1), (2026, 10, 31))


def test_overdue_by_due_time_in_the_period(data):
    # 000002 due Mon 9 Nov 24:00 counts on the 9th, not the 10th.
    assert numbers("overdue", month((2026, 11, 1), (2026, 11, 9))) == [N[2]]
    assert numbers("overdue", month((2026, 11, 10), (2026, 11, 20))) == [N[4]]
    assert numbers("overdue", month((2026, 11, 21), (2026, 11, 30))) == [N[10], N[9]]
    assert desk.count("overdue", month((2026, 11, 1), (2026, 11, 30))) == 4
    assert desk.count("overdue", OCTOBER) == 0


def test_ratings_rework_closings_and_extensions_in_the_period(data):
    park = data
    # Dissatisfied on 4 Nov (000003 and 000004, round 1) and 6 Nov (000004, round 2).
    assert desk.count("dissatisfied", EARLY) == 2 and desk.count("dissatisfied", LATE) == 1
    assert numbers("rework", EARLY) == [N[4], N[3]] and numbers("rework", LATE) == [N[4]]
    assert numbers("rework", OCTOBER) == []
    # Rejected on 10 Nov; closed without feedback after its due on 19 Nov; forced in November.
    assert numbers("rejected", month((2026, 11, 10), (2026, 11, 10))) == [N[7]]
    assert numbers("rejected", EARLY) == [] and numbers("unconfirmed", EARLY) == []
    assert numbers("unconfirmed", LATE) == [N[6]] and numbers("forced", LATE) == [N[8]]
    assert numbers("bounced", LATE) == [N[5]] and numbers("bounced", EARLY) == []
    # Extension requests: hr_off's on 2 Nov (approved) and 4 Nov (denied), fin_off's on 2 Nov.
    rows = desk.all_rows("extensions", month((2026, 11, 3), (2026, 11, 30)))
    assert [(r.extra["user"].username, r.extra["count"]) for r in rows] == [("hr_off", 1), ("hr_other", 1)]
    assert desk.count("extensions", month((2026, 11, 2), (2026, 11, 2))) == 2
    assert numbers("dissatisfied", month((2026, 11, 1), (2026, 11, 30), official_id=park.hr_official.id)) == [N[3]]


def test_repeats_and_supervision_in_the_period(data):
    rows = desk.all_rows("repeats", month((2026, 11, 1), (2026, 11, 30)))
    assert [(r.extra["firm"].name, r.extra["count"]) for r in rows] == [("甲公司", 4), ("乙公司", 3)]
    assert desk.count("repeats", month((2026, 11, 9), (2026, 11, 30))) == 1   # 乙/labor: 000006, 000008, 000010
    assert desk.count("repeats", OCTOBER) == 0
    assert numbers("supervision", month((2026, 11, 16), (2026, 11, 16))) == [N[2]]
    assert numbers("supervision", month((2026, 11, 27), (2026, 11, 27))) == [N[4]]


def test_bars_by_department_follow_the_period(data):
    park = data
    got = {(d.code if d else None): n for d, n in desk.by_department("overdue")}
    assert got == {"hr": 1, "finance": 2, None: 1}
    got = {(d.code if d else None): n for d, n in desk.by_department("overdue", month((2026, 11, 10), (2026, 11, 30)))}
    assert got == {"finance": 2, None: 1}
    assert [(d.code, n) for d, n in desk.by_department("rework", LATE)] == [("finance", 1)]
    assert park


def test_the_page_counts_follow_the_range_and_keep_it_in_every_link(data, client, login):
    login(data.inspector)
    html = client.get("/inspect/desk?tab=overdue&from=2026-11-21&to=2026-11-30").get_data(as_text=True)
    assert 'data-testid="tab-overdue" data-count="2"' in html and 'data-testid="tab-rejected" data-count="0"' in html
    assert f'data-number="{N[10]}"' in html and f'data-number="{N[2]}"' not in html
    assert 'data-testid="period"' in html and "2026-11-21" in html
    # The tab links and the shortcuts carry the range; "any date" drops it and keeps the other filters.
    assert "/inspect/desk?tab=rejected&amp;from=2026-11-21&amp;to=2026-11-30" in html
    bars = html.split('data-testid="bars-overdue"')[1].split("</svg>")[0]
    assert re.findall(r'data-unit="([^"]+)" data-value="(\d+)"', bars) == [
        ("财政金融局", "1"), (translator("zh")("Not yet assigned"), "1")]
    html = client.get("/inspect/desk?tab=rejected&from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert 'data-testid="count">1<' in html and f'data-number="{N[7]}"' in html
    html = client.get(f"/inspect/desk?tab=overdue&department={data.depts['finance'].id}"
                      "&from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert f'href="/inspect/desk?tab=overdue&amp;department={data.depts["finance"].id}" data-testid="clear-period"' in html


def test_the_next_page_keeps_the_range(data, client, login, monkeypatch):
    monkeypatch.setattr(desk, "PAGE_SIZE", 1)
    login(data.inspector)
    html = client.get("/inspect/desk?tab=overdue&from=2026-11-21&to=2026-11-30").get_data(as_text=True)
    assert html.count("data-number=") == 1 and f'data-number="{N[10]}"' in html
    nxt = html.split('data-testid="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "from=2026-11-21" in nxt and "to=2026-11-30" in nxt
    html = client.get(nxt).get_data(as_text=True)
    assert f'data-number="{N[9]}"' in html and 'data-testid="next-page"' not in html


def test_a_bad_range_says_so_and_limits_nothing(data, client, login):
    data.inspector.language = "en"  # the messages below are the English ones
    db.session.commit()
    login(data.inspector)
    for query, field, message in (
            ("from=2026-13-01&to=2026-11-30", "from", "Please give a date as 2026-11-01."),
            ("from=2026-11-30&to=2026-11-01", "to", "The period ends before it starts."),
            ("from=2026-11-01", "to", "Please give a date as 2026-11-01."),
            ("from=%3Cb%3E&to=x", "from", "Please give a date as 2026-11-01."),
            ("from=1900-01-01&to=1900-01-31", "from", "Please give a period between 2000 and 2099."),
            ("from=2020-01-01&to=2026-11-30", "to", "A period is at most two years.")):
        resp = client.get(f"/inspect/desk?tab=overdue&{query}")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, query
        assert f'data-testid="error-{field}">{message}<' in html, query
        assert 'data-testid="period-error"' in html and 'data-testid="period"' not in html
        assert 'data-testid="tab-overdue" data-count="4"' in html, query   # no range applied
    assert "<b>" not in client.get("/inspect/desk?from=%3Cb%3E&to=x").get_data(as_text=True)
