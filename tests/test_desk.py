"""The inspector's desk: each list holds exactly the tickets it should, on a fixed data set.

The data set is built through the real services under a frozen clock, in order of
time. Numbers are taken in filing order (2026-000001 is the first filing).
November 2026 has no holiday: Monday 2, 9, 16, 23 and 30 November; Saturday 7, 14,
21, 28. Limits: acceptance 1 working day, labor and energy 5, financing 10, feedback 5.
A limit of N working days counts from the day after the start and is due at 24:00
of the N-th working day; red for 3 days at 24:00 of the 3rd working day after due.

| number | filed | firm, category | what happens | on the lists |
| 000001 | Thu 20 Aug | B, energy | withdrawn at once | (older than 90 days) |
| 000002 | Mon 2 Nov | A, labor | accepted (hr_official); handle due Mon 9 24:00, red3 Thu 12 24:00 | overdue red3 (13.4 wd), supervision |
| 000003 | Mon 2 Nov | A, labor | extension 3 days approved; handled, dissatisfied, extension 2 denied, handled, satisfied | rework (round 2), 1 dissatisfied |
| 000004 | Mon 2 Nov | B, financing | fin_official; extension 5 approved; dissatisfied twice: round 3 from Fri 6, due Fri 20 24:00, red3 Wed 25 24:00 | overdue red3 (4.4 wd), supervision, rework (round 3), 2 dissatisfied |
| 000005 | Mon 9 Nov | A, labor | transferred HR -> Finance -> HR, handled, satisfied | bounced |
| 000006 | Mon 9 Nov | B, labor | transferred inside HR to hr_other, extension requested, handled Thu 12 (it lapses), no feedback (due Thu 19 24:00) | closed without feedback |
| 000007 | Tue 10 Nov | A, labor | rejected | rejected |
| 000008 | Tue 10 Nov | B, labor | accepted, closed by force | forced |
| 000009 | Wed 18 Nov | B, energy | accepted (fin_official), due Wed 25 24:00, red3 Mon 30 24:00 | overdue red (1.4 wd) |
| 000010 | Mon 23 Nov | B, labor | not accepted: accept due Tue 24 24:00, red3 Fri 27 24:00 | overdue red (2.4 wd) |
| 000011 | Tue 24 Nov | B, energy | withdrawn at once | - |

"Now" is Friday 27 November 2026, 10:00 Shanghai; a sweep runs on Monday 16 November
09:00 and at now. Working days overdue from due to now (10:00 is 0.42 of a day):
000002 from Tue 10 Nov 00:00: 4 + 5 + 4 full days + 0.42 = 13.4;
000004 from Sat 21 Nov: 23-26 Nov 4 days + 0.42 = 4.4; 000010 from Wed 25: 2.4; 000009 from Thu 26: 1.4.
The desk shows whole working days (13, 4, 2, 1): the part of a day is not yet a day overdue.
Repeats in the 90 days before now (from 29 Aug): A/labor 000002, 000003, 000005, 000007 (4);
B/labor 000006, 000008, 000010 (3); B/energy only 2 inside the window (000009, 000011).
"""
from __future__ import annotations

import pytest

from tickets.extensions import db
from tickets.models import Ticket
from tickets.services import desk
from tickets.services.actions import perform, record_feedback
from tickets.services.calendar import seed_year
from tickets.services.sweep import sweep

from .conftest import accept, file_request, handle

N = {i: f"2026-{i:06d}" for i in range(1, 12)}


@pytest.fixture
def data(park, clock):
    seed_year(2026)
    db.session.commit()
    hr, fin = park.depts["hr"], park.depts["finance"]
    labor, energy, financing = (park.category(c).id for c in ("labor", "energy", "financing"))
    b = park.firm_b_user

    clock(2026, 8, 20, 9)
    t1 = file_request(park, user=b, category_id=energy, title="旧诉求")
    perform(t1, "withdraw", b, reason="")

    clock(2026, 11, 2, 9)
    t2 = file_request(park, title="招工难")
    accept(park, t2)
    clock(2026, 11, 2, 9, 30)
    t3 = file_request(park, title="缺技工")
    clock(2026, 11, 2, 10)
    t4 = file_request(park, user=b, category_id=financing, title="贷款")
    clock(2026, 11, 2, 11)
    accept(park, t3)
    accept(park, t4, lead=park.fin_official)
    clock(2026, 11, 2, 12)
    perform(t3, "request_extension", park.hr_official, days=3, reason="等待人社厅回复", public_reason="协调中")
    perform(t3, "decide_extension", park.hr_head, decision="approve", comment="")
    clock(2026, 11, 2, 14)
    perform(t4, "request_extension", park.fin_official, days=5, reason="银行审批", public_reason="审批中")
    perform(t4, "decide_extension", park.fin_head, decision="approve", comment="")

    clock(2026, 11, 3, 10)
    handle(park, t3)
    handle(park, t4, by=park.fin_official)
    clock(2026, 11, 4, 10)
    record_feedback(t3, park.firm_user, solved="no", rating="dissatisfied", comment="还是缺人")
    record_feedback(t4, b, solved="no", rating="dissatisfied", comment="没有放款")
    clock(2026, 11, 4, 11)
    perform(t3, "request_extension", park.hr_official, days=2, reason="再协调", public_reason="协调中")
    perform(t3, "decide_extension", park.hr_head, decision="deny", comment="期限内办结")
    clock(2026, 11, 5, 10)
    handle(park, t3)
    handle(park, t4, by=park.fin_official)
    clock(2026, 11, 6, 10)
    record_feedback(t3, park.firm_user, solved="yes", rating="satisfied", comment="")
    record_feedback(t4, b, solved="no", rating="dissatisfied", comment="仍未放款")

    clock(2026, 11, 9, 9)
    t5 = file_request(park, title="用工")
    accept(park, t5)
    clock(2026, 11, 9, 10)
    t6 = file_request(park, user=b, title="招工")
    accept(park, t6)
    clock(2026, 11, 10, 9)
    t7 = file_request(park, title="招聘会")
    perform(t7, "reject", park.coordinator, reason="不属于园区职责范围")
    clock(2026, 11, 10, 10)
    t8 = file_request(park, user=b, title="培训")
    accept(park, t8)
    perform(t5, "request_transfer", park.hr_official, to_department_id=fin.id, to_lead_id=park.fin_official.id,
            reason="涉及稳岗补贴")
    perform(t5, "transfer", park.coordinator, comment="")
    perform(t6, "request_transfer", park.hr_official, to_department_id=hr.id, to_lead_id=park.hr_other.id,
            reason="分工调整")
    perform(t6, "transfer", park.hr_head, comment="")
    clock(2026, 11, 11, 10)
    perform(t5, "request_transfer", park.fin_official, to_department_id=hr.id, to_lead_id=park.hr_other.id,
            reason="不是补贴问题")
    perform(t5, "transfer", park.coordinator, comment="")
    perform(t6, "request_extension", park.hr_other, days=2, reason="企业未回复", public_reason="等待企业")
    perform(t8, "force_close", park.coordinator, reason="企业已搬离园区")
    clock(2026, 11, 12, 10)
    handle(park, t5, by=park.hr_other)
    handle(park, t6, by=park.hr_other)
    clock(2026, 11, 13, 10)
    record_feedback(t5, park.firm_user, solved="yes", rating="satisfied", comment="")

    clock(2026, 11, 16, 9)
    sweep()
    clock(2026, 11, 18, 9)
    t9 = file_request(park, user=b, category_id=energy, title="停电")
    clock(2026, 11, 18, 10)
    accept(park, t9, lead=park.fin_official)
    clock(2026, 11, 23, 9)
    file_request(park, user=b, title="缺普工")
    clock(2026, 11, 24, 9)
    t11 = file_request(park, user=b, category_id=energy, title="重复")
    perform(t11, "withdraw", b, reason="")

    clock(2026, 11, 27, 10)
    sweep()
    db.session.expire_all()
    assert db.session.scalar(db.select(Ticket.number).order_by(Ticket.id.desc()).limit(1)) == N[11]
    return park


def numbers(tab, f=None, size=200):
    return [r.ticket.number for r in desk.all_rows(tab, f, size=size)]


def test_overdue_red3_first_then_by_due_with_working_days(data):
    rows = desk.all_rows("overdue")
    assert [(r.ticket.number, r.extra["red3"], r.extra["days_overdue"]) for r in rows] == [
        (N[2], True, 13), (N[4], True, 4), (N[10], False, 2), (N[9], False, 1)]
    assert desk.count("overdue") == 4


def test_overdue_pages_by_keyset_across_the_red3_boundary(data):
    first, cursor = desk.page("overdue", size=3)
    assert [r.ticket.number for r in first] == [N[2], N[4], N[10]]
    assert cursor is not None and cursor.startswith("1|")
    rest, cursor = desk.page("overdue", after=cursor, size=3)
    assert [r.ticket.number for r in rest] == [N[9]] and cursor is None
    assert numbers("overdue", size=1) == [N[2], N[4], N[10], N[9]]


def test_overdue_filters(data):
    park = data
    assert numbers("overdue", desk.DeskFilters(department_id=park.depts["finance"].id)) == [N[4], N[9]]
    assert desk.count("overdue", desk.DeskFilters(department_id=park.depts["finance"].id)) == 2
    assert numbers("overdue", desk.DeskFilters(official_id=park.hr_official.id)) == [N[2]]
    assert numbers("overdue", desk.DeskFilters(category_id=park.category("labor").id)) == [N[2], N[10]]
    assert numbers("overdue", desk.DeskFilters(category_id=park.category("land").id)) == []


def test_supervision_list(data):
    assert numbers("supervision") == [N[4], N[2]]  # latest on the list first: 000004 today, 000002 on 16 Nov
    assert numbers("supervision", size=1) == [N[4], N[2]]
    assert numbers("supervision", desk.DeskFilters(department_id=data.depts["hr"].id)) == [N[2]]


def test_rework_and_dissatisfied(data):
    assert numbers("rework") == [N[4], N[3]]
    assert numbers("rework", size=1) == [N[4], N[3]]
    rows = desk.all_rows("dissatisfied", size=1)
    assert [(r.ticket.number, r.extra["feedback"].round) for r in rows] == [(N[4], 2), (N[4], 1), (N[3], 1)]
    assert desk.count("dissatisfied") == 3
    assert numbers("dissatisfied", desk.DeskFilters(official_id=data.hr_official.id)) == [N[3]]


def test_bounced_with_departments_in_order(data):
    rows = desk.all_rows("bounced")
    assert [r.ticket.number for r in rows] == [N[5]]
    assert [d.code for d in rows[0].extra["path"]] == ["hr", "finance", "hr"]


def test_closings_with_their_reasons(data):
    un = desk.all_rows("unconfirmed")
    assert [r.ticket.number for r in un] == [N[6]]
    assert str(un[0].extra["feedback_due"]) == "2026-11-19 16:00:00"  # 24:00 Thu 19 Nov Shanghai
    rej = desk.all_rows("rejected")
    assert [(r.ticket.number, r.extra["reason"]) for r in rej] == [(N[7], "不属于园区职责范围")]
    forced = desk.all_rows("forced")
    assert [(r.ticket.number, r.extra["reason"]) for r in forced] == [(N[8], "企业已搬离园区")]


def test_extension_use_by_requester(data):
    park = data
    rows = desk.all_rows("extensions", size=1)
    got = [(r.extra["user"].username, r.extra["count"], r.extra["approved"], r.extra["denied"], r.extra["pending"],
            r.extra["lapsed"], r.extra["days"], r.extra["tickets"]) for r in rows]
    # hr_other's request was still pending when the round was handled: it lapsed.
    assert got == [("hr_off", 2, 1, 1, 0, 0, 3, 1), ("hr_other", 1, 0, 0, 0, 1, 0, 1),
                   ("fin_off", 1, 1, 0, 0, 0, 5, 1)]
    assert desk.count("extensions") == 3
    only = desk.all_rows("extensions", desk.DeskFilters(official_id=park.fin_official.id))
    assert [r.extra["user"].username for r in only] == ["fin_off"]


def test_repeat_requests(data):
    rows = desk.all_rows("repeats", size=1)
    got = [(r.extra["firm"].name, r.extra["category"].code, r.extra["count"],
            [t.number for t in r.extra["tickets"]]) for r in rows]
    assert got == [("甲公司", "labor", 4, [N[2], N[3], N[5], N[7]]),
                   ("乙公司", "labor", 3, [N[6], N[8], N[10]])]
    assert desk.count("repeats") == 2


def test_counts_of_every_tab(data):
    assert desk.counts() == {"overdue": 4, "supervision": 2, "rework": 2, "dissatisfied": 3, "bounced": 1,
                             "unconfirmed": 1, "rejected": 1, "forced": 1, "extensions": 3, "repeats": 2}


def test_desk_page_for_the_inspector(data, client, login):
    login(data.inspector)
    html = client.get("/inspect/desk").get_data(as_text=True)
    for n in (N[2], N[4], N[10], N[9]):
        assert f'data-number="{n}"' in html
    assert 'data-testid="tab-overdue" data-count="4"' in html
    assert '<td data-testid="days-overdue">13</td>' in html and "13.4" not in html
    html = client.get("/inspect/desk?tab=bounced").get_data(as_text=True)
    assert f'data-number="{N[5]}"' in html and f'data-number="{N[2]}"' not in html
    assert "人力资源和社会保障局 → 财政金融局 → 人力资源和社会保障局" in html
    html = client.get(f"/inspect/desk?tab=overdue&department={data.depts['finance'].id}").get_data(as_text=True)
    assert f'data-number="{N[4]}"' in html and f'data-number="{N[2]}"' not in html
    for tab in desk.TABS:
        assert client.get(f"/inspect/desk?tab={tab}").status_code == 200


def test_desk_page_is_refused_to_firms_and_officials(data, client, login):
    login(data.firm_user)
    assert client.get("/inspect/desk").status_code == 403
    login(data.hr_official)
    assert client.get("/inspect/desk").status_code == 403
    client.post("/logout")
    assert client.get("/inspect/desk").status_code in (302, 401)
