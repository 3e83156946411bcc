"""The official's queue as a to-do list (to do / waiting for the firm, counts, previous and
next) and the search (parts of a number, Chinese words of title and description, firm names),
within the user's scope, on SQLite (FTS5) and on a real PostgreSQL (full-text GIN index)."""
from __future__ import annotations

import re

import pytest

from tickets.extensions import db
from tickets.models import TicketCounter
from tickets.services.actions import perform

from .conftest import accept, app_on, file_request, handle
from .pg import TempPostgres


@pytest.fixture(scope="module")
def pg_server():
    server = TempPostgres().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'queue.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_server").url)
    with app_on(url, tmp_path) as app:
        yield app


def numbers(resp) -> list[str]:
    assert resp.status_code == 200, resp.status_code
    return re.findall(r'<tr data-number="([^"]+)"', resp.get_data(as_text=True))


def count(resp, part) -> int:
    return int(re.search(rf'data-testid="count-{part}">(\d+)<', resp.get_data(as_text=True)).group(1))


def link(resp, testid) -> str | None:
    m = re.search(rf'data-testid="{testid}" href="([^"]+)"', resp.get_data(as_text=True))
    return m.group(1).replace("&amp;", "&") if m else None


def total(resp) -> int:
    return int(re.search(r'data-testid="total">\D*(\d+)', resp.get_data(as_text=True)).group(1))


def test_my_queue_splits_what_needs_me_from_what_waits_for_the_firm(park, client, login):
    todo = accept(park, file_request(park, title="待办一"))
    asked = accept(park, file_request(park, title="待企业答复"))
    perform(asked, "ask", park.hr_official, text="请提供用工计划")
    handled = handle(park, accept(park, file_request(park, title="待企业评价")))
    accept(park, file_request(park, title="别人的"), lead=park.hr_other)
    login(park.hr_official)

    resp = client.get("/desk/tickets?scope=mine")
    assert numbers(resp) == [todo.number]
    assert (count(resp, "todo"), count(resp, "waiting"), total(resp)) == (1, 2, 1)
    resp = client.get("/desk/tickets?scope=mine&part=waiting")
    assert sorted(numbers(resp)) == sorted([asked.number, handled.number])
    assert total(resp) == 2

    # The firm answers: the ticket needs the official again.
    perform(asked, "reply", park.firm_user, text="计划已上传")
    resp = client.get("/desk/tickets?scope=mine")
    assert sorted(numbers(resp)) == sorted([todo.number, asked.number])
    assert (count(resp, "todo"), count(resp, "waiting")) == (2, 1)


def test_the_head_sees_the_requests_to_decide_beside_the_to_do(park, client, login):
    t = accept(park, file_request(park))
    perform(t, "request_extension", park.hr_official, days=3, reason="等材料", public_reason="等材料")
    login(park.hr_head)
    resp = client.get("/desk/tickets?scope=mine")
    assert link(resp, "approvals-count") == "/desk/approvals"
    login(park.hr_official)
    assert link(client.get("/desk/tickets?scope=mine"), "approvals-count") is None


def test_previous_and_next_page_through_the_queue(park, client, login):
    made = [accept(park, file_request(park, title=f"第{i}件")).number for i in range(27)]
    login(park.hr_official)
    first = client.get("/desk/tickets?scope=mine")
    assert len(numbers(first)) == 25 and total(first) == 27 and link(first, "prev-page") is None
    second = client.get(link(first, "next-page"))
    assert link(second, "next-page") is None
    assert sorted(numbers(first) + numbers(second)) == sorted(made)
    back = client.get(link(second, "prev-page"))
    assert numbers(back) == numbers(first)
    assert link(back, "prev-page") is None and link(back, "next-page")
    # A cursor that is not one gives the first page, never an error.
    assert numbers(client.get("/desk/tickets?scope=mine&before=x_y")) == numbers(first)
    assert numbers(client.get("/desk/tickets?scope=mine&after=9999-99-99_1")) == numbers(first)


@pytest.fixture
def searchable(park):
    db.session.add(TicketCounter(year=2026, last=200))
    db.session.commit()
    labor = accept(park, file_request(park, title="用工缺口较大", description="需要协调招聘熟练工人"))
    other = accept(park, file_request(park, title="厂房漏水", description="屋顶维修"))
    firm_b = accept(park, file_request(park, park.firm_b_user, title="申请贷款"))
    finance = accept(park, file_request(park, title="融资难", description="缺少流动资金"), lead=park.fin_official)
    assert labor.number == "2026-000201"
    return {"labor": labor, "other": other, "firm_b": firm_b, "finance": finance}


def _search(client, q, scope="department"):
    return numbers(client.get("/desk/tickets", query_string={"scope": scope, "q": q}))


@pytest.mark.parametrize("q", ["201", "000201", "2026-000201", "缺口", "用工", "熟练", "招聘工人", "用工缺口较大"])
def test_search_finds_a_ticket_by_part_of_its_number_and_its_words(searchable, park, client, login, q):
    login(park.hr_official)
    assert _search(client, q) == [searchable["labor"].number]


def test_search_by_firm_name_and_nothing_else(searchable, park, client, login):
    login(park.hr_official)
    assert _search(client, "乙公司") == [searchable["firm_b"].number]
    assert _search(client, "维修") == [searchable["other"].number]
    assert _search(client, "没有这个词") == []


def test_search_stays_in_the_users_scope(searchable, park, client, login):
    login(park.fin_official)
    assert _search(client, "缺口") == []
    assert _search(client, "2026-000201") == []
    assert _search(client, "融资") == [searchable["finance"].number]
    assert client.get("/desk/tickets", query_string={"scope": "all", "q": "缺口"}).status_code == 403
    # In "my queue" the hr official finds only what they lead.
    login(park.hr_other)
    assert _search(client, "缺口", scope="mine") == []
    login(park.coordinator)
    assert _search(client, "缺口", scope="all") == [searchable["labor"].number]


def test_the_index_follows_a_changed_title(searchable, park, client, login):
    t = searchable["other"]
    t.title = "道路积水"
    db.session.commit()
    login(park.hr_official)
    assert _search(client, "积水") == [t.number]
    assert _search(client, "漏水") == []


@pytest.mark.parametrize("q", ['"', "*", "缺口\"*", "NEAR(a b)", "a' OR '1'='1", "':* & !", "^", "—", "%", "\\"])
def test_search_syntax_in_the_query_is_just_text(searchable, park, client, login, q):
    login(park.hr_official)
    resp = client.get("/desk/tickets", query_string={"scope": "department", "q": q})
    assert resp.status_code == 200
    numbers(resp)


def test_going_back_from_the_last_page_walks_the_same_pages(park):
    from tickets.desk.queries import Filters, queue

    made = [accept(park, file_request(park, title=f"第{i}件")).number for i in range(5)]
    pages = [queue(park.hr_official, Filters(scope="mine"), page_size=2)]
    while pages[-1].next:
        pages.append(queue(park.hr_official, Filters(scope="mine", after=pages[-1].next), page_size=2))
    assert [[t.number for t in p.tickets] for p in pages] == [made[0:2], made[2:4], made[4:5]]
    assert pages[0].prev is None and pages[1].prev and pages[2].prev
    middle = queue(park.hr_official, Filters(scope="mine", before=pages[2].prev), page_size=2)
    assert [t.number for t in middle.tickets] == made[2:4]
    assert middle.prev and middle.next
    start = queue(park.hr_official, Filters(scope="mine", before=middle.prev), page_size=2)
    assert [t.number for t in start.tickets] == made[0:2]
    assert start.prev is None and start.next
