"""SQL statements per page stay the same whatever the number of rows shown.

Each page is read twice, with a few rows and with several times as many, and must run the same
number of statements both times: nothing is loaded row by row (docs/PERFORMANCE.md).
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tickets.extensions import db
from tickets.services.actions import perform

from .conftest import accept, file_request


@contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def page_statements(client, url: str, rows: int = 0) -> list[str]:
    """The statements of one GET of `url`, which must show at least `rows` links to tickets."""
    client.get(url)  # warm: the first request of a client loads what every later one has cached
    with statements() as seen:
        resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    shown = resp.get_data(as_text=True).count('href="/tickets/')
    assert shown >= rows, (url, shown)
    return seen


def assert_same(few: list[str], many: list[str], what: str = "") -> None:
    """No more statements with many rows than with few (fewer when a full page needs one query less)."""
    if len(many) > len(few):
        import difflib

        diff = "\n".join(difflib.unified_diff([s.split("\n")[0][:150] + " | " + s[-200:].replace("\n", " ")
                                               for s in few],
                                              [s.split("\n")[0][:150] + " | " + s[-200:].replace("\n", " ")
                                               for s in many], lineterm="", n=1))
        raise AssertionError(f"{what}: {len(few)} statements with few rows, {len(many)} with many:\n{diff}")


def pending_requests(park, n: int) -> None:
    """n extension requests and n transfer requests waiting for the HR head (and a coordinator)."""
    fin = park.depts["finance"]
    for i in range(n):
        t = accept(park, file_request(park, title=f"延期 {i}"))
        perform(t, "request_extension", park.hr_official, days=3, reason="等材料", public_reason="等材料")
        t = accept(park, file_request(park, title=f"转办 {i}"))
        perform(t, "request_transfer", park.hr_official, to_department_id=fin.id,
                to_lead_id=park.fin_official.id, reason="属财政")
    db.session.commit()


@pytest.mark.parametrize("viewer", ["hr_head", "coordinator"])
def test_approvals(park, login, viewer):
    pending_requests(park, 3)
    client = login(getattr(park, viewer))
    # The head decides the extensions inside the department, a coordinator the transfers out of it.
    few = page_statements(client, "/desk/approvals", rows=3)
    pending_requests(park, 9)
    many = page_statements(client, "/desk/approvals", rows=12)
    assert_same(few, many)


def firms_with_overdue_tickets(park, start: int, n: int) -> None:
    """n more firms, each with a request accepted and left to run late, one re-worked."""
    from tickets.services.actions import record_feedback

    from .conftest import handle

    for i in range(start, start + n):
        firm = park.firm(f"企业{i}", 100 + i)
        user = park.user(f"firm{i}", "firm", firm=firm)
        t = accept(park, file_request(park, user=user, title=f"逾期 {i}"))
        perform(t, "request_extension", park.hr_official, days=2, reason="等材料", public_reason="等材料")
        t2 = handle(park, accept(park, file_request(park, user=user, title=f"返工 {i}")))
        record_feedback(t2, user, solved="no", rating="dissatisfied", comment="没解决")
        t3 = accept(park, file_request(park, user=user, title=f"转办 {i}", follows_number=t.number))
        perform(t3, "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id,
                to_lead_id=park.fin_official.id, reason="属财政")
        perform(t3, "transfer", park.coordinator, comment="同意")
        perform(t3, "request_transfer", park.fin_official, to_department_id=park.depts["hr"].id,
                to_lead_id=park.hr_other.id, reason="还是人社的")
        perform(t3, "transfer", park.coordinator, comment="退回")  # bounced: two transfers
        handle(park, accept(park, file_request(park, user=user, title=f"未评价 {i}")))
        perform(file_request(park, user=user, title=f"不予受理 {i}"), "reject", park.coordinator, reason="不属于受理范围")
        perform(accept(park, file_request(park, user=user, title=f"强制 {i}")), "force_close", park.coordinator,
                reason="企业已停产")
    db.session.commit()


DESK_TABS = ["overdue", "supervision", "rework", "dissatisfied", "bounced", "unconfirmed", "rejected", "forced",
             "extensions", "repeats"]


def test_inspector_desk(park, login, clock):
    from tickets.services.sweep import sweep

    def late(start, n):
        clock(2026, 11, 24, 9)
        firms_with_overdue_tickets(park, start, n)
        clock(2026, 12, 28, 10)  # every handle clock overdue, red for 3 days; feedback windows over
        sweep()

    late(0, 4)
    client = login(park.inspector)
    # The extension tab lists officials, not tickets.
    rows = {tab: 0 if tab == "extensions" else 1 for tab in DESK_TABS}
    few = {tab: page_statements(client, f"/inspect/desk?tab={tab}", rows=4 * rows[tab]) for tab in DESK_TABS}
    late(4, 12)
    for tab in DESK_TABS:
        many = page_statements(client, f"/inspect/desk?tab={tab}", rows=16 * rows[tab])
        assert_same(few[tab], many, tab)


@pytest.mark.parametrize("viewer", ["inspector", "hr_official", "firm_user"])
def test_ticket_page(park, login, viewer):
    """A ticket's page with a short and a long record: notes by several people, questions, replies."""
    from .conftest import handle

    t = accept(park, file_request(park))

    def talk(n):
        for i in range(n):
            perform(t, "note", park.hr_official, text=f"进展 {i}", visibility="public")
            perform(t, "note", park.hr_head, text=f"内部 {i}", visibility="internal")
            perform(t, "inspector_note", park.inspector, text=f"督查 {i}")
            perform(t, "ask", park.hr_official, text=f"问题 {i}")
            perform(t, "reply", park.firm_user, text=f"回复 {i}")
        db.session.commit()

    talk(2)
    client = login(getattr(park, viewer))
    few = page_statements(client, f"/tickets/{t.number}")
    talk(10)
    handle(park, t)
    db.session.commit()
    many = page_statements(client, f"/tickets/{t.number}")
    assert_same(few, many, viewer)
    assert len(many) <= 25, "\n".join(many)


def accepted_tickets(park, n: int) -> None:
    for i in range(n):
        accept(park, file_request(park, title=f"排队 {i}"), lead=park.hr_official)
    db.session.commit()


def test_official_queue_first_and_deep_pages(park, login):
    import re

    accepted_tickets(park, 5)
    client = login(park.hr_official)
    few = page_statements(client, "/desk/tickets", rows=5)
    accepted_tickets(park, 60)
    many = page_statements(client, "/desk/tickets", rows=25)
    assert_same(few, many, "first page")
    # The next page, by its link: a keyset cursor, the same statements again.
    html = client.get("/desk/tickets").get_data(as_text=True)
    after = re.search(r'data-testid="next-page" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert_same(few, page_statements(client, after, rows=25), "next page")


def test_inbox(park, login):
    """Each notification about a request of its own: nothing is loaded per row."""
    from tickets.models import Notification

    def notify(start, n):
        for i in range(start, start + n):
            t = file_request(park, title=f"通知 {i}")
            db.session.add(Notification(key=f"test:{i}", user_id=park.coordinator.id, ticket_id=t.id, kind="filed",
                                        params='{"number": "%s", "firm": "甲公司", "title": "招工难"}' % t.number))
        db.session.commit()

    notify(0, 3)
    client = login(park.coordinator)
    few = page_statements(client, "/inbox/")
    notify(3, 40)
    many = page_statements(client, "/inbox/")
    assert_same(few, many, "inbox")


def test_a_deep_queue_page_searches_its_index_on_both_columns(park, login):
    """The keyset of the queue's next page is a row value, which the index search uses after the lead
    (or the state): the deep page reads from its cursor on, not the official's whole range."""
    import re

    from sqlalchemy import event

    accepted_tickets(park, 30)
    client = login(park.hr_official)
    html = client.get("/desk/tickets").get_data(as_text=True)
    after = re.search(r'data-testid="next-page" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert client.get(after).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    [(page_sql, params)] = [(s, p) for s, p in seen if "ORDER BY tickets.queue_due_at, tickets.id" in s]
    conn = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        # A handful of rows: PostgreSQL would rightly scan the table; asked not to, it shows the index it can use.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + page_sql, params))
        # Whichever index it takes (by lead, by state, or the overdue one on (queue_due_at, id)), the
        # row value is in its Index Cond: the range starts at the cursor.
        assert re.search(r"Index Cond: \(.*ROW\(queue_due_at, id\) > ROW\(", plan), plan
        return
    plan = " ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + page_sql, params))
    # The range starts at the cursor's due time (the old `due > ? OR (due = ? AND id > ?)` was bounded
    # by the lead alone: a deep page read every ticket of the official before it).
    # (Any of the queue's indexes, by lead, by state or the overdue one, whichever the planner takes.)
    assert re.search(r"USING INDEX ix_tickets_\w+ \((?:\w+=\? AND )?\(?queue_due_at", plan), plan
