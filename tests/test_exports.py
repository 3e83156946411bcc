"""Exports for inspectors: the ledger and the event log, read back as CSV and XLSX.

A fixed month (November 2026, Shanghai days) with tickets on both sides of its
edges, a Chinese title, and a formula-injection payload in a title and in
descriptions. Expected values are written out by hand.
"""
from __future__ import annotations

import csv
import io
import json
import re

from datetime import datetime
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from tickets.extensions import db
from tickets.models import AccessLog
from tickets.services import exports as svc
from tickets.services.actions import record_feedback

from .conftest import accept, file_request, handle

PAYLOAD = '=HYPERLINK("http://x","y")'
NOVEMBER = {"first": "2026-11-01", "last": "2026-11-30"}

LEDGER_HEADER = [
    "Number", "Firm", "Credit code", "Category", "Title", "Description", "Channel", "Urgency", "State",
    "Lead official", "Department", "Round", "Created", "Accepted", "Handled", "Closed", "Due",
    "Warning level", "Transfers", "Extensions", "Solved", "Rating", "Supervised",
]
EVENTS_HEADER = ["Ticket", "Seq", "Time (Beijing time)", "Actor", "Action", "From state", "To state",
                 "Visibility", "Details", "Hash"]
# The closed ticket, exactly as the ledger must show it (the inspector reads English): every code
# in words, the credit code quoted so that a spreadsheet keeps it as text.
CLOSED_ROW = [
    "2026-000002", "甲公司", '="91330100000000001C"', "Labor shortage", "招工难：急需焊工", "缺少 30 名操作工",
    "Web form", "Normal", "Completed", "Hr Off (hr_off)", "Human Resources and Social Security Bureau", "1",
    "2026-11-02 09:00", "2026-11-02 10:00", "2026-11-03 15:00", "2026-11-04 11:00", "", "", "0", "0", "Yes",
    "Satisfied", "",
]
# Events in November, in time order: the October ticket's acceptance counts, its filing does not.
NOVEMBER_EVENTS = [
    ("2026-000002", "1", "2026-11-02 09:00", "Request filed"),
    ("2026-000001", "2", "2026-11-02 09:30", "Accepted"),
    ("2026-000001", "3", "2026-11-02 09:30", "Deadline set"),
    ("2026-000002", "2", "2026-11-02 10:00", "Accepted"),
    ("2026-000002", "3", "2026-11-02 10:00", "Deadline set"),
    ("2026-000002", "4", "2026-11-03 15:00", "Outcome recorded"),
    ("2026-000002", "5", "2026-11-04 11:00", "Feedback"),
    ("2026-000003", "1", "2026-11-05 14:00", "Request filed"),
    ("2026-000004", "1", "2026-11-05 14:00", "Request filed"),
    ("2026-000005", "1", "2026-11-05 14:00", "Request filed"),
    ("2026-000006", "1", "2026-11-30 23:59", "Request filed"),
]


@pytest.fixture
def month(park, clock):
    """Seven tickets; 2026-000002 .. 2026-000006 were created in November (Shanghai)."""
    park.inspector.language = "en"
    db.session.commit()
    clock(2026, 10, 31, 23, 30)
    october = file_request(park, title="上月的事")                       # 2026-000001
    clock(2026, 11, 2, 9)
    closed = file_request(park, title="招工难：急需焊工", description="缺少 30 名操作工")  # 000002
    clock(2026, 11, 2, 9, 30)
    accept(park, october)
    clock(2026, 11, 2, 10)
    accept(park, closed)
    clock(2026, 11, 3, 15)
    handle(park, closed)
    clock(2026, 11, 4, 11)
    record_feedback(closed, park.firm_user, solved="yes", rating="satisfied", comment="谢谢")
    clock(2026, 11, 5, 14)  # three at the same instant: the keyset must page on the id too
    file_request(park, title=PAYLOAD, description="+1 加急")              # 000003
    file_request(park, title="融资需求", description="@SUM(1)")           # 000004
    file_request(park, title="用地指标", description="-2 亩")             # 000005
    clock(2026, 11, 30, 23, 59)
    file_request(park, title="月末")                                      # 000006
    clock(2026, 12, 1, 0, 0)
    file_request(park, title="月初")                                      # 000007
    clock(2026, 12, 2, 9)
    return park


def download(client, kind, fmt, **period):
    return client.post("/exports/", data={"kind": kind, "fmt": fmt, **(period or NOVEMBER)})


def read_csv(resp):
    body = resp.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def logs():
    db.session.expire_all()
    return db.session.scalars(db.select(AccessLog).order_by(AccessLog.id)).all()


# --- CSV ------------------------------------------------------------------------


def test_ledger_csv_keeps_chinese_and_neutralises_formulas(month, login):
    client = login(month.inspector)
    resp = download(client, "ledger", "csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="ledger-2026-11-01-2026-11-30.csv"; ')
    assert "filename*=UTF-8''Ticket%20ledger%202026-11-01%20to%202026-11-30.csv" in disposition
    rows = read_csv(resp)
    assert rows[0] == LEDGER_HEADER
    assert [r[0] for r in rows[1:]] == ["2026-000002", "2026-000003", "2026-000004", "2026-000005", "2026-000006"]
    assert rows[1] == CLOSED_ROW
    by_number = {r[0]: r for r in rows[1:]}
    assert by_number["2026-000003"][4] == "'" + PAYLOAD
    assert by_number["2026-000003"][5] == "'+1 加急"
    assert by_number["2026-000004"][5] == "'@SUM(1)"
    assert by_number["2026-000005"][5] == "'-2 亩"
    assert by_number["2026-000006"][4:9] == ["月末", "缺少 30 名操作工", "Web form", "Normal", "Awaiting acceptance"]
    # An open ticket shows its accept clock: due 24:00 of the next working day (Tue 1 Dec), the
    # date of that day; on 2 Dec it is red.
    assert by_number["2026-000006"][16:18] == ["2026-12-01", "Overdue"]

    [entry] = logs()
    assert (entry.user_id, entry.action, entry.rows) == (month.inspector.id, "export.ledger.csv", 5)
    assert json.loads(entry.params) == {"kind": "ledger", "format": "csv", "from": "2026-11-01", "to": "2026-11-30"}


def test_event_log_csv(month, login):
    client = login(month.inspector)
    resp = download(client, "events", "csv")
    assert resp.status_code == 200
    assert 'filename="events-2026-11-01-2026-11-30.csv"' in resp.headers["Content-Disposition"]
    rows = read_csv(resp)
    assert rows[0] == EVENTS_HEADER
    assert [tuple(r[:3]) + (r[4],) for r in rows[1:]] == NOVEMBER_EVENTS
    feedback = rows[7]
    assert feedback[3] == "Firm A (firm_a)"
    assert feedback[5:8] == ["Awaiting feedback", "Completed", "Public"]
    # The details in words, not JSON.
    assert feedback[8] == "Round: 1; Solved: Yes; Rating: Satisfied; Comment: 谢谢"
    assert re.fullmatch(r"[0-9a-f]{64}", feedback[9])
    assert rows[3][3] == "system"  # the clock starts without an actor
    assert re.fullmatch(r"Clock: Handling deadline; Round: 1; Due: 2026-11-\d\d 24:00; Working days: \d+", rows[3][8])
    assert rows[1][8] == "Title: 招工难：急需焊工; Channel: Web form; Urgency: Normal; Category: Labor shortage"
    # The payload title is inside the details cell, which starts with "Title:": nothing runs.
    assert rows[8][8].startswith("Title: " + PAYLOAD)

    [entry] = logs()
    assert (entry.user_id, entry.action, entry.rows) == (month.inspector.id, "export.events.csv", 11)


def test_csv_pages_through_ties_and_reads_only_what_it_logged(month, monkeypatch, clock):
    """Pages of two rows: the three tickets filed at one instant straddle a page edge."""
    monkeypatch.setattr(svc, "PAGE_SIZE", 2)
    req = svc.parse_request("ledger", "csv", "2026-11-01", "2026-11-30")
    exp = svc.start_export(month.inspector, req, "en")
    clock(2026, 11, 20, 9)
    file_request(month, title="导出开始后才提交")  # created in the period, after the export began
    text = b"".join(svc.csv_chunks(exp)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[0] for r in rows[1:]] == ["2026-000002", "2026-000003", "2026-000004", "2026-000005", "2026-000006"]
    assert [(e.action, e.rows) for e in logs()] == [("export.ledger.csv", 5)]


# --- XLSX -----------------------------------------------------------------------


def test_ledger_xlsx_reads_back(month, login):
    client = login(month.inspector)
    resp = download(client, "ledger", "xlsx")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="ledger-2026-11-01-2026-11-30.xlsx"' in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.get_data())).worksheets[0]
    assert ws.title == "Ticket ledger"
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == LEDGER_HEADER
    assert [r[0].value for r in rows[1:]] == ["2026-000002", "2026-000003", "2026-000004", "2026-000005",
                                              "2026-000006"]
    closed = rows[1]
    assert [c.value for c in closed[:6]] == ["2026-000002", "甲公司", "91330100000000001C", "Labor shortage",
                                             "招工难：急需焊工", "缺少 30 名操作工"]
    # The credit code is a text cell in text format: Excel never turns it into a number.
    assert closed[2].data_type == "s" and closed[2].number_format == "@"
    assert [c.value for c in closed[6:9]] == ["Web form", "Normal", "Completed"]
    assert closed[11].value == 1 and closed[11].data_type == "n"  # numbers stay numbers
    # Times are Excel date cells in Beijing time (09:00 there is 01:00 UTC).
    created = closed[12]
    assert created.is_date and created.value == datetime(2026, 11, 2, 9, 0)
    assert created.number_format == "yyyy-mm-dd hh:mm"
    assert closed[15].value == datetime(2026, 11, 4, 11, 0)
    assert [c.value for c in closed[20:22]] == ["Yes", "Satisfied"]
    open_due = rows[5][16]  # due 24:00 on 1 December: the date of that day
    assert open_due.is_date and open_due.value == datetime(2026, 12, 1) and open_due.number_format == "yyyy-mm-dd"
    title, description = rows[2][4], rows[2][5]
    assert title.value == "'" + PAYLOAD and title.data_type == "s"
    assert description.value == "'+1 加急" and description.data_type == "s"
    assert rows[3][5].value == "'@SUM(1)" and rows[3][5].data_type == "s"
    assert rows[4][5].value == "'-2 亩" and rows[4][5].data_type == "s"
    assert not [c.coordinate for r in rows for c in r if c.data_type == "f"]

    [entry] = logs()
    assert (entry.user_id, entry.action, entry.rows) == (month.inspector.id, "export.ledger.xlsx", 5)


def test_event_log_xlsx_reads_back(month, login):
    client = login(month.inspector)
    resp = download(client, "events", "xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.get_data())).worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == EVENTS_HEADER
    assert [(r[0], str(r[1]), f"{r[2]:%Y-%m-%d %H:%M}", r[4]) for r in rows[1:]] == NOVEMBER_EVENTS
    assert all(isinstance(r[2], datetime) for r in rows[1:])
    assert rows[1][8].startswith("Title: 招工难：急需焊工; ")
    [entry] = logs()
    assert (entry.action, entry.rows) == ("export.events.xlsx", 11)


def test_empty_period_gives_a_header_only_file(month, login):
    client = login(month.inspector)
    period = {"first": "2026-01-01", "last": "2026-01-31"}
    assert read_csv(download(client, "ledger", "csv", **period)) == [LEDGER_HEADER]
    ws = load_workbook(io.BytesIO(download(client, "events", "xlsx", **period).get_data())).worksheets[0]
    assert [[c.value for c in r] for r in ws.iter_rows()] == [EVENTS_HEADER]
    assert [(e.action, e.rows) for e in logs()] == [("export.ledger.csv", 0), ("export.events.xlsx", 0)]


def test_too_large_an_xlsx_is_refused_before_logging(month, login, monkeypatch):
    monkeypatch.setattr(svc, "XLSX_MAX_ROWS", 4)
    client = login(month.inspector)
    resp = download(client, "ledger", "xlsx")
    assert resp.status_code == 400
    assert "The period has 5 rows; an XLSX holds at most 4. Download CSV or choose a shorter period." in \
        resp.get_data(as_text=True)
    assert logs() == []
    assert download(client, "ledger", "csv").status_code == 200  # CSV streams any size
    assert [(e.action, e.rows) for e in logs()] == [("export.ledger.csv", 5)]


def test_neutralise_every_formula_start():
    assert svc.neutralise("=1+1") == "'=1+1"
    assert svc.neutralise("+86 138") == "'+86 138"
    assert svc.neutralise("-2") == "'-2"
    assert svc.neutralise("@SUM(1)") == "'@SUM(1)"
    assert svc.neutralise("\tcmd") == "'\tcmd"
    assert svc.neutralise("\rcmd") == "'\rcmd"
    assert svc.neutralise("a=1") == "a=1"
    assert svc.neutralise("") == ""
    assert svc.neutralise(-2) == -2


# --- who, and bad input ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["hr_official", "hr_head", "firm_user", "coordinator", "leader", "admin"])
def test_only_inspectors_export(month, login, who):
    client = login(getattr(month, who))
    assert client.get("/exports/").status_code == 403
    assert download(client, "ledger", "csv").status_code == 403
    assert download(client, "events", "xlsx").status_code == 403
    assert logs() == []


def test_signed_out_is_sent_to_login(month, client):
    resp = download(client, "ledger", "csv")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert logs() == []


@pytest.mark.parametrize("data, message", [
    ({"first": "2026-11-31", "last": "2026-11-30"}, "The start date is not a valid date; write it as YYYY-MM-DD."),
    ({"first": "11/01/2026", "last": "2026-11-30"}, "The start date is not a valid date; write it as YYYY-MM-DD."),
    ({"first": "", "last": "2026-11-30"}, "The start date is required (YYYY-MM-DD)."),
    ({"first": "2026-11-01", "last": "tomorrow"}, "The end date is not a valid date; write it as YYYY-MM-DD."),
    ({"first": "2026-12-01", "last": "2026-11-30"}, "The end date is before the start date."),
    ({"first": "1900-01-01", "last": "2026-11-30"}, "The start date must lie between 2000-01-01 and 2099-12-31."),
    ({"first": "2026-11-01", "last": "2026-11-30", "kind": "users"}, "Please choose the ticket ledger or the event log."),
    ({"first": "2026-11-01", "last": "2026-11-30", "fmt": "pdf"}, "Please choose CSV or XLSX."),
])
def test_bad_input_is_400_and_not_logged(month, login, data, message):
    client = login(month.inspector)
    resp = client.post("/exports/", data={"kind": "ledger", "fmt": "csv", **data})
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].startswith("text/html")
    assert message in resp.get_data(as_text=True)
    assert logs() == []


def test_csrf_is_required(month, login, app):
    client = login(month.inspector)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert download(client, "ledger", "csv").status_code == 400
        assert logs() == []
        page = client.get("/exports/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        resp = client.post("/exports/", data={"kind": "ledger", "fmt": "csv", "csrf_token": token, **NOVEMBER})
        assert resp.status_code == 200
        assert [(e.action, e.rows) for e in logs()] == [("export.ledger.csv", 5)]
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_page_shows_the_access_log_and_the_nav_link(month, login):
    client = login(month.inspector)
    page = client.get("/exports/").get_data(as_text=True)
    assert "Nothing has been exported yet." in page
    assert 'href="/exports/"' in page
    download(client, "ledger", "csv")
    download(client, "events", "xlsx", first="2026-11-05", last="2026-11-05")
    page = client.get("/exports/").get_data(as_text=True)
    log = page.split('data-testid="access-log"', 1)[1]
    assert log.index('data-action="export.events.xlsx"') < log.index('data-action="export.ledger.csv"')
    assert "<td>5</td>" in log and "<td>3</td>" in log  # 5 Nov: three filings
    assert "2026-12-02 09:00" in log and "Inspector" in log
    # Others do not get the link.
    coordinator = login(month.coordinator)
    assert 'href="/exports/"' not in coordinator.get("/desk/tickets").get_data(as_text=True)


# --- documents a government office would file ---------------------------------------------


def code_tables() -> set[str]:
    """Every internal code a user must never read: the lifecycle's and the labels' tables."""
    from tickets import labels, lifecycle

    codes = set(lifecycle.STATE_LABELS) | set(lifecycle.ACTIONS)
    for kind in ("outcome", "solved", "rating", "channel", "urgency", "level", "event", "visibility", "clock",
                 "decision", "conclusion"):
        codes |= {c for c in labels.table(kind) if isinstance(c, str)}
    return codes


def codes_in(cell: str, codes: set[str]) -> set[str]:
    """The codes a cell shows: the cell itself, a value of its "Label: value" parts, or any
    snake_case word (English words like "feedback" in "Awaiting feedback" are words, not codes)."""
    found = {cell.strip()} & codes
    for part in re.split(r"[;；]\s*", cell):
        found |= {re.split(r"[:：]\s*", part, maxsplit=1)[-1].strip()} & codes
    found |= {w for w in re.findall(r"[a-z]+(?:_[a-z]+)+", cell)} & codes
    return found


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["ledger", "events"])
def test_no_internal_code_in_any_cell(month, login, kind, language):
    client = login(month.inspector)
    month.inspector.language = language  # (signing in keeps the language the session had)
    db.session.commit()
    codes = code_tables()
    rows = read_csv(download(client, kind, "csv"))
    assert len(rows) > 5
    found = {(r[0], cell) for r in rows for cell in r if codes_in(cell, codes)}
    assert found == set()
    assert not [cell for r in rows for cell in r if cell.startswith(("{", "["))]  # no JSON


def test_every_event_kind_has_words():
    from tickets import labels, lifecycle

    written = set(lifecycle.ACTIONS) | {"file", "clock_started", "extension_approved", "extension_denied",
                                        "extension_lapsed", "transfer_lapsed", "reminder", "clock_recomputed",
                                        "key_rotated"}
    assert written - set(labels.table("event")) == set()


def test_an_all_digit_credit_code_keeps_its_18_digits(month, login):
    """LibreOffice showed 913304817340678881 from the CSV as 9.13304817340679E+017."""
    month.firm_a.credit_code = "913304817340678881"
    db.session.commit()
    client = login(month.inspector)
    rows = read_csv(download(client, "ledger", "csv"))
    cell = rows[1][2]
    # ="..." is a text formula: Excel and LibreOffice show its text, never a number.
    assert cell == '="913304817340678881"'
    value = re.fullmatch(r'="(.*)"', cell).group(1)
    assert value == "913304817340678881" and len(value) == 18
    ws = load_workbook(io.BytesIO(download(client, "ledger", "xlsx").get_data())).worksheets[0]
    code = ws.cell(row=2, column=3)
    assert code.value == "913304817340678881" and code.data_type == "s" and code.number_format == "@"


@pytest.mark.parametrize("kind", ["ledger", "events"])
def test_xlsx_prints_on_a4_landscape_with_its_header_on_every_page(month, login, kind):
    resp = download(login(month.inspector), kind, "xlsx")
    ws = load_workbook(io.BytesIO(resp.get_data())).worksheets[0]
    assert ws.freeze_panes == "A2"
    assert ws.print_title_rows == "$1:$1"
    setup = ws.page_setup
    assert (setup.orientation, str(setup.paperSize)) == ("landscape", "9")  # 9: A4
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    widths = {letter: ws.column_dimensions[letter].width for letter in ("A", "B", "E")}
    assert widths == ({"A": 13, "B": 24, "E": 30} if kind == "ledger" else {"A": 13, "B": 6, "E": 18})


@pytest.mark.parametrize("language, name, sheet", [
    ("en", "Ticket ledger 2026-11-01 to 2026-11-30.xlsx", "Ticket ledger"),
    ("zh", "诉求台账（2026-11-01至2026-11-30）", "诉求台账"),
])
def test_one_file_name_in_the_readers_language(month, login, language, name, sheet):
    client = login(month.inspector)
    month.inspector.language = language
    db.session.commit()
    resp = download(client, "ledger", "xlsx")
    disposition = resp.headers["Content-Disposition"]
    assert 'filename="ledger-2026-11-01-2026-11-30.xlsx"' in disposition
    utf8 = unquote(disposition.split("filename*=UTF-8''", 1)[1])
    assert utf8.startswith(name) and utf8.endswith(".xlsx")
    assert load_workbook(io.BytesIO(resp.get_data())).worksheets[0].title == sheet


def test_the_access_log_reads_in_words(month, login):
    client = login(month.inspector)
    download(client, "events", "xlsx", first="2026-11-05", last="2026-11-05")
    log = client.get("/exports/").get_data(as_text=True).split('data-testid="access-log"', 1)[1]
    assert "<td>Event log (XLSX)</td>" in log and "<td>2026-11-05 to 2026-11-05</td>" in log
    assert "export.events.xlsx</td>" not in log and "{&#34;" not in log
