"""A deadline that touches a year whose schedule is not loaded says so, to every role, wherever it is shown.

By hand: 2026 is loaded from chinese-calendar, 2027 is not. Request A (labor, 5 working
days) is filed and accepted Thu 31 December 2026 16:00: Fri 1 January 2027 is a provisional
holiday, so Mon 4 (1) to Fri 8 January (5): due 24:00 Fri 8 January 2027, yellow from 24:00
Thu 7 January: provisional. Request B is filed Tue 24 November 2026 07:30 (KNOWN_NOW) and
accepted then: 25, 26, 27, 30 November, 1 December: due 24:00 Tue 1 December 2026: official.
"""
from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import event

from tickets.extensions import db
from tickets.models import Notification, OutboxMessage, SupervisionNotice
from tickets.services import outbox
from tickets.services.calendar import seed_year
from tickets.services.actions import perform
from tickets.services.schedule import load_schedule
from tickets.services.schedule_files import read_schedule
from tickets.services.sweep import sweep

from .conftest import accept, file_request
from .test_schedule import SCHEDULE_2027

NOTE = "provisional: the 2027 holiday schedule is not loaded yet"


@pytest.fixture
def two(park, clock, app, tmp_path):
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    for u in db.session.scalars(db.select(type(park.admin))):
        u.language = "en"
    assert seed_year(2026) > 0
    db.session.commit()
    b = accept(park, file_request(park, title="十一月的事"))
    assert b.due_at == datetime(2026, 12, 1, 16, 0)
    clock(2026, 12, 31, 16)
    a = accept(park, file_request(park, title="跨年的事"))
    assert a.due_at == datetime(2027, 1, 8, 16, 0)
    return a, b


def row_of(html: str, number: str) -> str:
    start = html.index(f'data-number="{number}"')
    return html[start:html.index("</tr>", start)]


def test_queues_firm_list_and_ticket_page_say_provisional(park, two, login):
    a, b = two
    for user, page in ((park.hr_official, "/desk/tickets?scope=mine"), (park.hr_head, "/desk/tickets?scope=department"),
                       (park.coordinator, "/desk/tickets?scope=all"), (park.firm_user, "/firm/requests")):
        html = login(user).get(page).get_data(as_text=True)
        assert NOTE in row_of(html, a.number), (user.username, page)
        assert "provisional" not in row_of(html, b.number), (user.username, page)
    for user in (park.firm_user, park.hr_official, park.leader, park.inspector, park.coordinator):
        html = login(user).get(f"/tickets/{a.number}").get_data(as_text=True)
        assert "Handling deadline: 2027-01-08 24:00</span> <span class=\"provisional tag\" data-testid=\"provisional\">" \
               f"{NOTE}</span>" in html, user.username
        assert "provisional" not in login(user).get(f"/tickets/{b.number}").get_data(as_text=True)


def test_the_loaded_years_are_read_once_per_page(park, two, login, clock):
    for n in range(3):
        accept(park, file_request(park, title=f"第{n}件"))
    client = login(park.hr_official)
    reads, clock_reads = [], []

    def count(conn, cursor, statement, *args):
        if "FROM calendar_years" in statement:
            reads.append(statement)
        if "clocks.started_at" in statement:
            clock_reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = client.get("/desk/tickets?scope=mine").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert html.count(NOTE) == 4  # A and the three accepted on 31 December
    assert len(reads) == 1
    assert len(clock_reads) == 1  # the open clocks of the page's rows, in one query (selectinload)


def test_reminder_email_and_inbox_say_provisional_until_the_schedule_is_loaded(park, two, login, clock, app):
    a, _b = two
    clock(2027, 1, 7, 12, 0)
    assert sweep() == {"handle.yellow.skipped": 1, "handle.red.skipped": 1, "handle.red3.raised": 1}  # B's
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()
    clock(2027, 1, 8, 0, 0)  # 24:00 Thu 7 January: the yellow step of A
    assert sweep() == {"handle.yellow.raised": 1}
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(kind="reminder")).all()
    assert sorted(r.channel for r in rows) == ["email", "inapp"]
    assert [outbox.deliver(r.id) for r in rows] == ["sent", "sent"]
    mail = message_from_bytes(next(Path(app.config["MAIL_DIR"]).glob("*.eml")).read_bytes(), policy=policy.default)
    assert mail["Subject"] == f"{a.number}: the handling deadline 2027-01-08 24:00 ({NOTE}) is near."
    html = login(park.hr_official).get("/inbox/").get_data(as_text=True)
    assert f"the handling deadline 2027-01-08 24:00 ({NOTE}) is near." in html

    # The State Council's schedule is loaded: the note goes, in the inbox as on the pages.
    # (1-3 January off, Mon 4 January worked: A's deadline does not move.)
    load_schedule(2027, read_schedule("2027.csv", SCHEDULE_2027.encode()), "file", park.admin.id)
    html = login(park.hr_official).get("/inbox/").get_data(as_text=True)
    assert "the handling deadline 2027-01-08 24:00 is near." in html and "provisional" not in html
    assert "provisional" not in login(park.firm_user).get(f"/tickets/{a.number}").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Notification.id)).where(Notification.ticket_id == a.id)) == 1


def test_a_supervision_notice_due_in_an_unloaded_year_says_so(park, two, login, clock):
    a, _b = two
    # Issued Thu 31 December 2026 17:00: 2 working days, Mon 4 and Tue 5 January 2027 (1 January off).
    clock(2026, 12, 31, 17)
    perform(a, "issue_notice", park.inspector, reason="逾期未办")
    notice = db.session.scalar(db.select(SupervisionNotice).filter_by(ticket_id=a.id))
    assert notice.due_at == datetime(2027, 1, 5, 16, 0)
    shown = f'2027-01-05 24:00 <span class="provisional tag" data-testid="provisional">{NOTE}</span>'
    for page in ("/notices/", f"/notices/{notice.number}", f"/tickets/{a.number}"):
        assert shown in login(park.inspector).get(page).get_data(as_text=True), page
    # The printed notice writes the date as a document does (the inspector reads English).
    printed = login(park.inspector).get(f"/notices/{notice.number}/print").get_data(as_text=True)
    assert f'by 24:00 on 5 January 2027 (Beijing time) <span class="provisional tag" data-testid="provisional">{NOTE}</span>' \
        in printed


def test_help_says_how_provisional_years_work(park, login):
    for u in (park.firm_user, park.admin):
        u.language = "en"
    db.session.commit()
    html = login(park.firm_user).get("/help").get_data(as_text=True)
    assert 'data-testid="help-provisional"' in html and 'data-testid="help-admin-calendar"' not in html
    html = login(park.admin).get("/help").get_data(as_text=True)
    assert "flask --app wsgi calendar load --year 2027 --file schedule.csv" in html
    assert "Article 6" in html
