"""The weekly meeting list: its contents and order, the frozen snapshot, XLSX, the schedule and decisions.

The data set is built through the services under a frozen clock, in November 2026
(no holidays; Monday to Friday). Every expected number, order, due time and level
below is worked out by hand from the dates in `week48`, never by the code's helpers.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from io import BytesIO
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from tickets.extensions import db
from tickets.models import Clock, Event, MeetingDecision, MeetingList, OutboxMessage, Ticket
from tickets.services.actions import perform, record_feedback
from tickets.services.errors import Refused
from tickets.timeutil import from_local

from .conftest import accept, file_request, handle
from .conftest_browser import translator


def _t(number):
    return db.session.scalar(db.select(Ticket).filter_by(number=number))


@pytest.fixture
def week48(park, clock):
    """Eleven requests filed from 2 to 23 November 2026; comments give each one's handle due day."""
    fin = park.category("financing").id

    def feedback(t, rating="satisfied", solved="yes", comment=""):
        record_feedback(t, park.firm_user, solved=solved, rating=rating, comment=comment)

    clock(2026, 11, 2, 9)
    t1 = file_request(park, title="招工难一")                 # 2026-000001
    t2 = file_request(park, title="招工难二")                 # 2026-000002
    clock(2026, 11, 2, 10)
    accept(park, t1)                                           # due 24:00 Nov 9, red3 from Nov 13
    accept(park, t2)
    clock(2026, 11, 3, 9)
    t3 = file_request(park, title="招工难三")                 # 2026-000003
    clock(2026, 11, 3, 10)
    accept(park, t3)
    clock(2026, 11, 4, 9)
    t4 = file_request(park, title="贷款一", category_id=fin)  # 2026-000004
    accept(park, t4, park.fin_official)
    clock(2026, 11, 5, 10)
    handle(park, t4, by=park.fin_official)
    clock(2026, 11, 10, 9)
    feedback(t4, rating="basically_satisfied")                 # closed in W46: on no list
    clock(2026, 11, 10, 11)
    t5 = file_request(park, title="贷款二", category_id=fin)  # 2026-000005
    clock(2026, 11, 10, 11, 30)
    accept(park, t5, park.fin_official)
    clock(2026, 11, 12, 9)
    handle(park, t3)                                           # feedback due 24:00 Nov 19
    t6 = file_request(park, title="招工难六")                 # 2026-000006
    clock(2026, 11, 12, 10)
    accept(park, t6, park.hr_other)                            # due 24:00 Nov 19, red3 from Nov 25
    clock(2026, 11, 16, 9)
    t7 = file_request(park, title="招工难七")                 # 2026-000007
    clock(2026, 11, 16, 10)
    accept(park, t7)                                           # due 24:00 Nov 23, yellow from Nov 21
    clock(2026, 11, 16, 11)
    handle(park, t2)
    clock(2026, 11, 17, 9)
    feedback(t2)                                               # closed in W47
    clock(2026, 11, 18, 9)
    t8 = file_request(park, title="贷款八", category_id=fin)  # 2026-000008
    clock(2026, 11, 18, 10)
    accept(park, t8, park.fin_official)                        # due 24:00 Dec 2
    clock(2026, 11, 18, 11)
    feedback(t3, rating="dissatisfied", solved="no", comment="没有解决")  # round 2, due 24:00 Nov 25
    clock(2026, 11, 19, 9)
    t9 = file_request(park, user=park.firm_b_user, title="乙公司诉求")  # 2026-000009
    clock(2026, 11, 19, 10)
    perform(t9, "withdraw", park.firm_b_user, reason="")
    clock(2026, 11, 20, 10)
    handle(park, t5, by=park.fin_official)                     # feedback due 24:00 Nov 27
    clock(2026, 11, 20, 15)
    file_request(park, title="招工难十")                      # 2026-000010, accept due 24:00 Nov 23
    clock(2026, 11, 23, 7)
    file_request(park, title="招工难十一")                    # 2026-000011, accept due 24:00 Nov 24
    clock(2026, 11, 23, 8)
    return park


def _rows(items, *keys):
    return [tuple(i[k] for k in keys) for i in items]


def test_contents_and_order(week48):
    from tickets.services.meeting import build_list, snapshot

    data = snapshot(build_list("2026-W48"))
    assert data["week"] == "2026-W48"
    assert data["built_at"] == "2026-11-23T00:00:00.000000Z"
    assert (data["period_from"], data["period_to"]) == ("2026-11-16", "2026-11-22")
    groups = [(g["category_zh"], g["department_zh"]) for g in data["open"]]
    assert groups == [("用工招工", "人力资源和社会保障局"), ("用工招工", ""), ("融资贷款", "财政金融局")]
    keys = ("number", "state", "due", "level", "round", "lead")
    assert _rows(data["open"][0]["items"], *keys) == [
        ("2026-000001", "accepted", "2026-11-09 24:00", "red3", 1, "Hr Off"),
        ("2026-000006", "accepted", "2026-11-19 24:00", "red", 1, "Hr Other"),
        ("2026-000007", "accepted", "2026-11-23 24:00", "yellow", 1, "Hr Off"),
        ("2026-000003", "accepted", "2026-11-25 24:00", "green", 2, "Hr Off"),
    ]
    assert _rows(data["open"][1]["items"], *keys) == [
        ("2026-000010", "submitted", "2026-11-23 24:00", "green", 0, ""),
        ("2026-000011", "submitted", "2026-11-24 24:00", "green", 0, ""),
    ]
    assert _rows(data["open"][2]["items"], *keys) == [
        ("2026-000005", "handled", "2026-11-27 24:00", "green", 1, "Fin Off"),
        ("2026-000008", "accepted", "2026-12-02 24:00", "green", 1, "Fin Off"),
    ]
    first = data["open"][0]["items"][0]
    assert (first["firm"], first["title"], first["category_zh"], first["department_zh"]) == (
        "甲公司", "招工难一", "用工招工", "人力资源和社会保障局")
    assert _rows(data["new"], "number", "state", "firm") == [
        ("2026-000007", "accepted", "甲公司"), ("2026-000008", "accepted", "甲公司"),
        ("2026-000009", "withdrawn", "乙公司"), ("2026-000010", "submitted", "甲公司"),
    ]
    assert _rows(data["closed"], "number", "state", "rating", "solved") == [
        ("2026-000002", "fed_back", "satisfied", "yes")]
    assert _rows(data["reworked"], "number", "round", "rating") == [("2026-000003", 2, "dissatisfied")]
    assert data["counts"] == {"open": 8, "overdue": 2, "new": 4, "closed": 1, "reworked": 1}
    assert data["digest"] is None or "digest" in data["digest"]


def test_past_week_is_frozen(week48, client, login, clock):
    from tickets.services.meeting import build_list

    ml = build_list("2026-W48")
    frozen_text = ml.data
    # The week goes on: #000001 is handled and closed, #000010 accepted.
    clock(2026, 11, 24, 9)
    handle(week48, _t("2026-000001"))
    record_feedback(_t("2026-000001"), week48.firm_user, solved="yes", rating="satisfied", comment="")
    accept(week48, _t("2026-000010"))
    # Asked again, the same list comes back unchanged (built once, never recomputed).
    assert build_list("2026-W48").data == frozen_text
    assert db.session.scalar(db.select(db.func.count()).select_from(MeetingList)) == 1
    clock(2026, 11, 30, 9)
    login(week48.coordinator)
    page = client.get("/meeting/2026-W48").get_data(as_text=True)
    row = page.split('id="item-2026-000001"')[1].split("</tr>")[0]
    assert 'data-state="accepted"' in row and 'data-level="red3"' in row
    # The current week shows that its list is not built yet and offers the picker.
    now_page = client.get("/meeting/").get_data(as_text=True)
    assert 'data-testid="not-built"' in now_page and "2026-W48" in now_page


def test_pages_print_and_xlsx(week48, client, login):
    from tickets.services.meeting import build_list

    build_list("2026-W48")
    login(week48.coordinator)
    page = client.get("/meeting/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("2026-000001") < html.index("2026-000006") < html.index("2026-000007")
    assert 'data-testid="decide-2026-000001"' in html
    printed = client.get("/meeting/2026-W48/print")
    assert printed.status_code == 200 and "招工难一" in printed.get_data(as_text=True)
    resp = client.get("/meeting/2026-W48.xlsx")
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="meeting-2026-W48.xlsx"; ')
    name = translator(week48.coordinator.language)("Firms' requests for the project acceleration meeting")
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == f"{name} 2026-W48.xlsx"
    wb = load_workbook(BytesIO(resp.data))
    # The page setup of every export: A4 landscape fitted to the width, the header on every page.
    for sheet in wb.sheetnames[1:]:
        ws = wb[sheet]
        assert (ws.page_setup.orientation, str(ws.page_setup.paperSize), ws.page_setup.fitToWidth) == \
            ("landscape", "9", 1), sheet
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$1:$1", sheet
        assert ws.freeze_panes == "A2" and ws.column_dimensions["B"].width == (24 if sheet != "办理指标" else 10)
    assert wb["概况"].page_setup.orientation == "landscape"
    assert wb["概况"]["A1"].value == translator("zh")("Firms' requests for the project acceleration meeting")
    assert wb.sheetnames == ["概况", "未结诉求", "新增诉求", "办结诉求", "不满意与重办", "办理指标"]
    ws = wb["未结诉求"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("编号", "企业", "诉求标题", "分类", "责任部门", "责任人", "状态", "办理时限", "预警",
                       "办理轮次", "评价", "是否解决")
    assert [r[0] for r in rows[1:]] == ["2026-000001", "2026-000006", "2026-000007", "2026-000003",
                                        "2026-000010", "2026-000011", "2026-000005", "2026-000008"]
    # The due column holds Excel dates: a deadline at 24:00 is the date of its last day.
    assert rows[1] == ("2026-000001", "甲公司", "招工难一", "用工招工", "人力资源和社会保障局", "Hr Off", "办理中",
                       datetime(2026, 11, 9), "超期3个工作日以上", 1, None, None)
    assert ws["H2"].is_date and ws["H2"].number_format == "yyyy-mm-dd"
    closed = list(wb["办结诉求"].iter_rows(values_only=True))
    assert closed[1][:3] == ("2026-000002", "甲公司", "招工难二") and closed[1][10:] == ("满意", "已解决")
    assert [r[0] for r in list(wb["新增诉求"].iter_rows(values_only=True))[1:]] == [
        "2026-000007", "2026-000008", "2026-000009", "2026-000010"]
    summary = dict((r[0], r[1]) for r in wb["概况"].iter_rows(values_only=True))
    assert summary["周次"] == "2026-W48" and summary["未结诉求"] == 8 and summary["其中超期"] == 2
    assert summary["生成时间"] == "2026-11-23 08:00"
    assert client.get("/meeting/2026-W47.xlsx").status_code == 404
    assert client.get("/meeting/not-a-week").status_code == 404


def test_xlsx_neutralises_formulas(park, clock):
    from tickets.services.meeting import build_list, snapshot
    from tickets.services.meeting_xlsx import workbook_bytes

    clock(2026, 11, 16, 9)
    file_request(park, title="=HYPERLINK(\"http://x\")")
    clock(2026, 11, 23, 9)
    wb = load_workbook(BytesIO(workbook_bytes(snapshot(build_list("2026-W48")))))
    assert wb["新增诉求"]["C2"].value == "'=HYPERLINK(\"http://x\")"
    assert wb["新增诉求"]["C2"].data_type == "s"


def test_cli_agenda_builds_and_writes(week48, app, tmp_path):
    out = tmp_path / "agenda.xlsx"
    result = app.test_cli_runner().invoke(args=["meeting", "agenda", "--week", "2026-W48", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "8 open, 2 overdue" in result.output
    assert [r[0] for r in list(load_workbook(out)["不满意与重办"].iter_rows(values_only=True))[1:]] == ["2026-000003"]
    # The second run writes the same list, without building again.
    again = app.test_cli_runner().invoke(args=["meeting", "agenda", "--week", "2026-W48", "--output", str(out)])
    assert again.exit_code == 0 and "built now" not in again.output
    bad = app.test_cli_runner().invoke(args=["meeting", "agenda", "--week", "2026-W60", "--output", str(out)])
    assert bad.exit_code != 0


def test_beat_builds_once_and_mails(park, clock):
    from tickets.services.meeting import build_due

    clock(2026, 11, 23, 7)
    assert build_due() is None                      # Monday 07:00: not yet
    clock(2026, 11, 23, 8)
    ml = build_due()
    assert ml.week == "2026-W48" and ml.mailed_at is not None
    clock(2026, 11, 23, 9)
    assert build_due().id == ml.id                  # the next hour: the same list, not mailed again
    from worker.tasks import build_meeting_list

    assert build_meeting_list.run() == "2026-W48"   # the beat's task body, run again: still one list
    assert db.session.scalar(db.select(db.func.count()).select_from(MeetingList)) == 1
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(kind="meeting_list")
                              .order_by(OutboxMessage.user_id, OutboxMessage.channel)).all()
    # Coordinators and department heads, in-app and by e-mail: coord, hr_head, fin_head.
    told = sorted({r.user_id for r in rows})
    assert told == sorted([park.coordinator.id, park.hr_head.id, park.fin_head.id])
    assert len(rows) == 6
    assert json.loads(rows[0].params)["week"] == "2026-W48"
    from tickets.messages import render

    assert render("meeting_list", rows[0].params, "en")[0] == \
        "Firms' requests for the project acceleration meeting 2026-W48: 0 open requests, 0 overdue"


def test_monday_holiday_builds_on_first_working_day(app, clock):
    """2026-W41: 5 to 7 October are National Day holidays; Thursday 8 October is the first working day."""
    from tickets.services.calendar import seed_year
    from tickets.services.meeting import build_due, build_moment

    seed_year(2026)
    db.session.commit()
    assert build_moment("2026-W41") == from_local(datetime(2026, 10, 8, 8))
    assert build_moment("2026-W48") == from_local(datetime(2026, 11, 23, 8))
    clock(2026, 10, 5, 9)
    assert build_due() is None
    clock(2026, 10, 7, 23)
    assert build_due() is None
    clock(2026, 10, 8, 7, 59)
    assert build_due() is None
    clock(2026, 10, 8, 8)
    assert build_due().week == "2026-W41"


def test_decision_with_new_date(week48, client, login):
    from tickets.services.meeting import build_list

    build_list("2026-W48")
    login(week48.coordinator)
    resp = client.post("/meeting/2026-W48/decide/2026-000001", data={
        "what": "人社局本周内组织专场招聘会", "who_user_id": str(week48.hr_head.id), "by_date": "2026-11-27",
        "new_due": "2026-11-30", "chair_id": str(week48.leader.id)})
    assert resp.status_code == 302
    t = _t("2026-000001")
    clock_row = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle"))
    assert clock_row.deadline_version == 2
    assert clock_row.due_at == from_local(datetime(2026, 12, 1, 0))       # 24:00 on 30 November
    assert clock_row.red3_at == from_local(datetime(2026, 12, 4, 0))      # 1, 2, 3 December
    assert clock_row.next_step_at == clock_row.yellow_at == from_local(datetime(2026, 11, 28, 0))
    assert t.due_at == clock_row.due_at
    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, action="meeting_decision"))
    assert (ev.action, ev.visibility, ev.actor_id) == ("meeting_decision", "internal", week48.coordinator.id)
    details = json.loads(ev.details)
    assert details["what"] == "人社局本周内组织专场招聘会" and details["who"] == "Hr Head"
    assert details["by_date"] == "2026-11-27" and details["deadline_version"] == 2
    assert details["new_due"] == "2026-11-30T16:00:00.000000Z"
    d = db.session.scalar(db.select(MeetingDecision))
    assert (d.ticket_id, d.new_due, d.by_date, d.chair_id) == (t.id, date(2026, 11, 30), date(2026, 11, 27),
                                                              week48.leader.id)
    page = client.get("/meeting/").get_data(as_text=True)
    assert "人社局本周内组织专场招聘会" in page
    # Without a new date: an event, and the clock stays as it is.
    client.post("/meeting/2026-W48/decide/2026-000005", data={
        "what": "督促企业反馈", "who_text": "企业服务中心", "by_date": "2026-11-25"})
    t5 = _t("2026-000005")
    assert db.session.scalar(db.select(Clock).filter_by(ticket_id=t5.id, kind="feedback")).deadline_version == 1
    assert db.session.scalar(db.select(Event).filter_by(ticket_id=t5.id, action="meeting_decision")) is not None
    # The firm never sees it.
    login(week48.firm_user)
    assert "人社局本周内组织专场招聘会" not in client.get("/tickets/2026-000001").get_data(as_text=True)


@pytest.mark.parametrize("number,data,field", [
    ("2026-000007", {"what": "", "who_text": "x", "by_date": "2026-11-27"}, "what"),
    ("2026-000007", {"what": "a", "by_date": "2026-11-27"}, "who"),
    ("2026-000007", {"what": "a", "who_user_id": "99999", "by_date": "2026-11-27"}, "who_user_id"),
    ("2026-000007", {"what": "a", "who_text": "x", "by_date": "2026-11-20"}, "by_date"),
    ("2026-000007", {"what": "a", "who_text": "x", "by_date": "27/11"}, "by_date"),
    ("2026-000007", {"what": "a", "who_text": "x", "by_date": "2026-11-27", "new_due": "2026-11-28"}, "new_due"),
    ("2026-000007", {"what": "a", "who_text": "x", "by_date": "2026-11-27", "new_due": "2026-11-20"}, "new_due"),
    # awaiting feedback: there is no handle clock to move
    ("2026-000005", {"what": "a", "who_text": "x", "by_date": "2026-11-27", "new_due": "2026-11-30"}, "new_due"),
])
def test_decision_input_refused(week48, client, login, number, data, field):
    from tickets.services.errors import InvalidInput
    from tickets.services.meeting import build_list, record_decision

    ml = build_list("2026-W48")
    before = db.session.scalar(db.select(db.func.count()).select_from(Event))
    with pytest.raises(InvalidInput) as e:
        record_decision(ml, number, week48.coordinator, **data)
    assert list(e.value.errors) == [field]
    login(week48.coordinator)
    resp = client.post(f"/meeting/2026-W48/decide/{number}", data=data)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"#item-{number}")
    # A number that is not on the list (closed in W46).
    with pytest.raises(InvalidInput):
        record_decision(ml, "2026-000004", week48.coordinator, what="a", who_text="x", by_date="2026-11-27")
    assert db.session.scalar(db.select(db.func.count()).select_from(Event)) == before
    assert db.session.scalar(db.select(db.func.count()).select_from(MeetingDecision)) == 0


def test_who_may_see_and_decide(week48, client, login):
    from tickets.services.meeting import build_list, record_decision

    ml = build_list("2026-W48")
    form = {"what": "a", "who_text": "x", "by_date": "2026-11-27"}
    login(week48.hr_head)                       # a head reads the list, and may not decide
    html = client.get("/meeting/").get_data(as_text=True)
    assert client.get("/meeting/").status_code == 200 and "decide-2026-000001" not in html
    assert client.post("/meeting/2026-W48/decide/2026-000001", data=form).status_code == 403
    login(week48.leader)
    assert client.get("/meeting/2026-W48.xlsx").status_code == 200
    assert client.post("/meeting/2026-W48/decide/2026-000001", data=form).status_code == 403
    login(week48.inspector)                     # an inspector reads the list, and may not decide
    html = client.get("/meeting/").get_data(as_text=True)
    assert client.get("/meeting/").status_code == 200 and "decide-2026-000001" not in html
    assert client.get("/meeting/2026-W48.xlsx").status_code == 200
    assert client.post("/meeting/2026-W48/decide/2026-000001", data=form).status_code == 403
    for user in (week48.hr_official, week48.firm_user):
        login(user)
        assert client.get("/meeting/").status_code == 403
        assert client.get("/meeting/2026-W48.xlsx").status_code == 403
        assert client.post("/meeting/2026-W48/decide/2026-000001", data=form).status_code == 403
    with pytest.raises(Refused):
        record_decision(ml, "2026-000001", week48.hr_official, **form)
    assert db.session.scalar(db.select(db.func.count()).select_from(MeetingDecision)) == 0


def test_decision_form_needs_csrf(week48, app, client, login):
    from tickets.services.meeting import build_list

    build_list("2026-W48")
    login(week48.coordinator)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post("/meeting/2026-W48/decide/2026-000001",
                           data={"what": "a", "who_text": "x", "by_date": "2026-11-27"})
        assert resp.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(db.select(db.func.count()).select_from(MeetingDecision)) == 0


def test_latest_digest_is_printed(week48, client, login):
    from tickets.services.meeting import build_list, snapshot

    try:
        from tickets.services.digest import keep_digest
    except ImportError:
        pytest.skip("the daily digest is not built yet")
    row, _new = keep_digest(date(2026, 11, 22), mail=False)
    data = snapshot(build_list("2026-W48"))
    assert data["digest"] == {"day": "2026-11-22", "digest": row.digest, "tickets": 10,
                              "computed_at": "2026-11-23T00:00:00.000000Z"}
    login(week48.coordinator)
    assert row.digest in client.get("/meeting/2026-W48/print").get_data(as_text=True)
    wb = load_workbook(BytesIO(client.get("/meeting/2026-W48.xlsx").data))
    summary = dict((r[0], r[1]) for r in wb["概况"].iter_rows(values_only=True))
    assert summary["每日摘要日期"] == "2026-11-22" and summary["每日摘要（全部链头 SHA-256）"] == row.digest
