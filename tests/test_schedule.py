"""Loading a year's published holiday schedule: from a CSV, an XLSX, the admin form, the CLI.

The 2027 schedule is not published yet (the State Council publishes it around December),
so these tests load a plausible one, written below, and work out every date by hand.

Provisional 2027 (nothing loaded, tests/test_holidays.py): off Fri 1 Jan; Fri 5, Mon 8 Feb
(除夕, 初三) and Tue 9, Wed 10 Feb (made up for 初一 Sat 6 and 初二 Sun 7); Mon 5 Apr; Mon 3,
Tue 4 May (made up for 1, 2 May, a weekend); Wed 9 Jun; Wed 15 Sep; Fri 1 Oct and Mon 4,
Tue 5 Oct (made up for 2, 3 Oct).

The schedule loaded (SCHEDULE_2027): off 1-3 Jan; 5-13 Feb with Sun 14 and Sat 20 Feb worked;
3-5 Apr; 1-5 May with Sat 8 May worked; 9 Jun; 15 Sep; 1-7 Oct with Sun 26 Sep and Sat 9 Oct
worked. Against the provisional calendar the changed days are: Thu 11, Fri 12 Feb (now off),
Sun 14, Sat 20 Feb (now worked), Wed 5 May (off), Sat 8 May (worked), Sun 26 Sep (worked),
Wed 6, Thu 7 Oct (off), Sat 9 Oct (worked): 10 days. The rows written are the weekdays off
(1 Jan; 5, 8, 9, 10, 11, 12 Feb; 5 Apr; 3, 4, 5 May; 9 Jun; 15 Sep; 1, 4, 5, 6, 7 Oct: 18)
and the 5 working weekend days: 23 rows.

The clock that moves: a labor request (5 working days) filed and accepted Wed 3 Feb 2027,
10:00. Provisional: Thu 4 Feb (1), 5-10 Feb off, Thu 11 (2), Fri 12 (3), Mon 15 (4), Tue 16
(5): due 24:00 Tue 16 Feb, yellow from 24:00 Mon 15 Feb, red for 3 days at 24:00 Fri 19 Feb
(17, 18, 19). Loaded: Thu 4 Feb (1), 5-13 Feb off, Sun 14 (2, worked), Mon 15 (3), Tue 16
(4), Wed 17 (5): due 24:00 Wed 17 Feb, yellow from 24:00 Tue 16 Feb, red for 3 days at 24:00
Sat 20 Feb (18, 19 and the worked Saturday 20). The first changed day in its window (3 to
20 Feb) is Thu 11 Feb.

Shanghai is UTC+8: 24:00 of a Shanghai day is 16:00 UTC of the same date.
"""
from __future__ import annotations

import html
import io
import json
import re
from datetime import date, datetime

import pytest

from tickets.extensions import db
from tickets.models import CalendarDay, CalendarYear, Clock, Event, Ticket
from tickets.services.calendar import seed_year
from tickets.services.schedule import load_schedule
from tickets.services.schedule_files import SAMPLE_CSV, read_schedule

from .conftest import accept, file_request

SCHEDULE_2027 = """kind,from,to,name
holiday,2027-01-01,2027-01-03,元旦
holiday,2027-02-05,2027-02-13,春节
workday,2027-02-14,,春节调休
workday,2027-02-20,,春节调休
holiday,2027-04-03,2027-04-05,清明节
holiday,2027-05-01,2027-05-05,劳动节
workday,2027-05-08,,劳动节调休
holiday,2027-06-09,,端午节
holiday,2027-09-15,,中秋节
workday,2027-09-26,,国庆节调休
holiday,2027-10-01,2027-10-07,国庆节
workday,2027-10-09,,国庆节调休
"""
CHANGED_2027 = [date(2027, 2, 11), date(2027, 2, 12), date(2027, 2, 14), date(2027, 2, 20), date(2027, 5, 5),
                date(2027, 5, 8), date(2027, 9, 26), date(2027, 10, 6), date(2027, 10, 7), date(2027, 10, 9)]


def xlsx(rows) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def schedule_2027_xlsx() -> bytes:
    """SCHEDULE_2027 as a workbook a person would make: Chinese headers, Excel date cells."""
    rows = [["类型 / kind", "开始 / from", "结束 / to", "名称 / name"]]
    for line in SCHEDULE_2027.splitlines()[1:]:
        kind, first, last, name = line.split(",")
        rows.append(["放假" if kind == "holiday" else "上班", datetime.fromisoformat(first),
                     datetime.fromisoformat(last) if last else None, name])
    return xlsx(rows)


def calendar_tables() -> tuple:
    db.session.expire_all()
    days = db.session.execute(db.select(CalendarDay.day, CalendarDay.is_workday, CalendarDay.name)
                              .order_by(CalendarDay.day)).all()
    years = db.session.execute(db.select(CalendarYear.year, CalendarYear.source, CalendarYear.loaded_at)
                               .order_by(CalendarYear.year)).all()
    clocks = db.session.execute(db.select(Clock.id, Clock.yellow_at, Clock.due_at, Clock.red3_at,
                                          Clock.deadline_version).order_by(Clock.id)).all()
    tickets = db.session.execute(db.select(Ticket.id, Ticket.due_at, Ticket.version).order_by(Ticket.id)).all()
    events = db.session.scalar(db.select(db.func.count(Event.id)))
    return [tuple(r) for r in days], [tuple(r) for r in years], clocks, tickets, events


@pytest.fixture
def open_2027(park, clock):
    """2026 loaded from chinese-calendar; a ticket accepted Wed 3 Feb 2027 10:00; one filed 31 Dec 2026."""
    assert seed_year(2026) > 0
    db.session.commit()
    clock(2026, 12, 31, 16)
    waiting = file_request(park, title="节前提交")  # accept clock: 1 day; 1 Jan off, so Mon 4 Jan
    assert waiting.due_at == datetime(2027, 1, 4, 16, 0)
    clock(2027, 2, 3, 10)
    t = accept(park, file_request(park))
    c = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle"))
    assert (c.yellow_at, c.due_at, c.red3_at) == (
        datetime(2027, 2, 15, 16, 0), datetime(2027, 2, 16, 16, 0), datetime(2027, 2, 19, 16, 0))
    clock(2027, 2, 3, 11)
    return t, c, waiting


def assert_2027_loaded(t, c, waiting, source, actor_id):
    db.session.expire_all()
    c = db.session.get(Clock, c.id)
    assert (c.yellow_at, c.due_at, c.red3_at, c.deadline_version) == (
        datetime(2027, 2, 16, 16, 0), datetime(2027, 2, 17, 16, 0), datetime(2027, 2, 20, 16, 0), 2)
    assert c.original_due_at == datetime(2027, 2, 16, 16, 0)
    t = db.session.get(Ticket, t.id)
    assert (t.yellow_at, t.due_at, t.red3_at, t.queue_due_at) == (
        datetime(2027, 2, 16, 16, 0), datetime(2027, 2, 17, 16, 0), datetime(2027, 2, 20, 16, 0),
        datetime(2027, 2, 17, 16, 0))
    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, action="clock_recomputed"))
    assert json.loads(ev.details) == {
        "clock": "handle", "round": 1, "changed_day": "2027-02-11",
        "old_due": "2027-02-16T16:00:00.000000Z", "new_due": "2027-02-17T16:00:00.000000Z",
        "deadline_version": 2}
    assert ev.actor_id == actor_id and ev.seq == t.event_count
    # The clock filed on 31 December covers no changed day: untouched.
    w = db.session.scalar(db.select(Clock).filter_by(ticket_id=waiting.id, kind="accept"))
    assert (w.due_at, w.deadline_version) == (datetime(2027, 1, 4, 16, 0), 1)
    assert db.session.scalar(db.select(Event).filter_by(ticket_id=waiting.id, action="clock_recomputed")) is None
    row = db.session.get(CalendarYear, 2027)
    assert (row.source, row.loaded_at) == (source, datetime(2027, 2, 3, 3, 0))  # 11:00 Shanghai
    days = db.session.scalars(db.select(CalendarDay).where(CalendarDay.day >= date(2027, 1, 1))).all()
    assert len(days) == 23
    assert {d.day for d in days if d.is_workday} == {date(2027, 2, 14), date(2027, 2, 20), date(2027, 5, 8),
                                                     date(2027, 9, 26), date(2027, 10, 9)}
    assert all(d.updated_by_id == actor_id for d in days)
    assert db.session.get(CalendarDay, date(2027, 2, 11)).name == "春节"


def test_loading_from_csv_recomputes_an_open_clock(park, open_2027):
    t, c, waiting = open_2027
    result = load_schedule(2027, read_schedule("2027.csv", SCHEDULE_2027.encode()), "file", park.admin.id)
    assert (result.written, result.changed, result.moved) == (23, CHANGED_2027, 1)
    assert_2027_loaded(t, c, waiting, "file", park.admin.id)


def test_loading_from_xlsx_recomputes_an_open_clock(park, open_2027, login):
    t, c, waiting = open_2027
    admin = login(park.admin)
    resp = admin.post("/admin/calendar/schedule/file", data={
        "year": "2027", "schedule": (io.BytesIO(schedule_2027_xlsx()), "国务院2027放假安排.xlsx")},
        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert_2027_loaded(t, c, waiting, "file", park.admin.id)


def test_loading_from_the_form_recomputes_an_open_clock(park, open_2027, login):
    t, c, waiting = open_2027
    park.admin.language = "en"
    db.session.commit()
    admin = login(park.admin)
    data, h, w = {"year": "2027"}, 0, 0
    for line in SCHEDULE_2027.splitlines()[1:]:
        kind, first, last, name = line.split(",")
        if kind == "holiday":
            data.update({f"holidays-{h}-first": first, f"holidays-{h}-last": last, f"holidays-{h}-name": name})
            h += 1
        else:
            data.update({f"workdays-{w}-day": first, f"workdays-{w}-name": name})
            w += 1
    resp = admin.post("/admin/calendar/schedule", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    html = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert ("The 2027 schedule was loaded from the form: 23 days differ from Monday to Friday, "
            "10 days changed status. 1 open deadline was recomputed.") in html
    assert "2027: the published schedule was entered by Admin on 2027-02-03 11:00." in html
    assert_2027_loaded(t, c, waiting, "admin", park.admin.id)


def test_the_sample_is_the_2026_schedule_of_chinese_calendar(app):
    """The sample in the docs loads to exactly the rows chinese-calendar gives 2026."""
    load_schedule(2026, read_schedule("sample.csv", SAMPLE_CSV.encode()), "file", None)
    loaded = calendar_tables()[0]
    db.session.execute(db.delete(CalendarDay))
    db.session.execute(db.delete(CalendarYear))
    seed_year(2026)
    db.session.commit()
    seeded = calendar_tables()[0]
    assert [(d, w) for d, w, _n in loaded] == [(d, w) for d, w, _n in seeded]
    # 19 weekdays off (1, 2 Jan; 16-20, 23 Feb; 6 Apr; 1, 4, 5 May; 19 Jun; 25 Sep; 1, 2, 5, 6, 7 Oct)
    # and 6 worked weekend days (4 Jan; 14, 28 Feb; 9 May; 20 Sep; 10 Oct).
    assert len(loaded) == 25


def test_loading_again_replaces_the_year_and_single_day_edits(park, open_2027):
    from tickets.services.calendar import set_day

    t, c, _w = open_2027
    set_day(date(2027, 3, 1), False, "临时停工", park.admin.id)  # a single edit before the schedule
    load_schedule(2027, read_schedule("2027.csv", SCHEDULE_2027.encode()), "file", park.admin.id)
    assert db.session.get(CalendarDay, date(2027, 3, 1)) is None
    # Loading the same schedule again changes no day and moves no clock.
    again = load_schedule(2027, read_schedule("2027.csv", SCHEDULE_2027.encode()), "admin", park.admin.id)
    assert (again.written, again.changed, again.moved) == (23, [], 0)
    assert db.session.get(Clock, c.id).deadline_version == 2


# --- refused, and nothing changed -------------------------------------------------------


def problems(page: str) -> str:
    """What a refused page tells: each bad row as "where: reason", and the general messages."""
    page = html.unescape(page)
    out = re.findall(r'<div class="flash flash-error" role="alert">(.*?)</div>', page, re.S)
    for where, reasons in re.findall(r'<tr data-where="[^"]*"><td>([^<]*)</td><td>(.*?)</td></tr>', page, re.S):
        out += [f"{where}: {r}" for r in re.findall(r"<div>(.*?)</div>", reasons)]
    return "\n".join(out)


def with_lines(*replace, drop=()) -> str:
    """SCHEDULE_2027 with lines replaced ((line number, text), row 1 is the header) or dropped.

    Its rows: 2 元旦, 3 春节, 4 and 5 its make-up days (14, 20 Feb), 6 清明, 7 劳动节, 8 its make-up
    day, 9 端午, 10 中秋, 11 make-up 26 Sep, 12 国庆, 13 make-up 9 Oct.
    """
    lines = SCHEDULE_2027.splitlines()
    for number, text in replace:
        lines[number - 1] = text
    return "\n".join(l for i, l in enumerate(lines, start=1) if i not in drop) + "\n"


BAD_FILES = [
    # Row 4 is the make-up day 14 February; a Monday instead.
    ("weekday make-up", with_lines((4, "workday,2027-02-15,,春节调休")),
     "Row 4: 2027-02-15 is a weekday: a make-up working day is a Saturday or a Sunday."),
    ("outside the year", with_lines((2, "holiday,2026-12-31,2027-01-03,元旦")), "Row 2: Every day must be in 2027."),
    ("overlap", with_lines((13, "holiday,2027-10-07,2027-10-08,国庆节")),
     "Row 13: 2027-10-07 is also in Row 12."),
    ("contradiction", with_lines((5, "workday,2027-02-06,,春节调休")),
     "Row 5: 2027-02-06 cannot be both a holiday and a working day (see Row 3)."),
    ("not a date", with_lines((9, "holiday,2027-06-31,,端午节")), "Row 9: “2027-06-31” is not a date"),
    ("reversed", with_lines((12, "holiday,2027-10-07,2027-10-01,国庆节")),
     "Row 12: The last day 2027-10-01 is before the first day 2027-10-07."),
    ("kind", with_lines((10, "vacation,2027-09-15,,中秋节")), "Row 10: The kind must be holiday or workday"),
    ("too long", with_lines((9, "holiday,2027-06-09,2027-07-31,端午节")), "Row 9: A holiday lasts at most 15 days"),
    ("no name", with_lines((9, "holiday,2027-06-09,,")), "Row 9: A holiday needs a name"),
    ("a range of make-up days", with_lines((5, "workday,2027-02-20,2027-02-21,春节调休")),
     "Row 5: A make-up working day is a single day"),
    ("a statutory day left out", with_lines(drop=(10,)),
     "2027-09-15 is a statutory holiday (Mid-Autumn Festival) but no holiday row covers it."),
    ("a statutory day worked", with_lines((7, "workday,2027-05-01,,劳动节调休")),
     "Row 7: 2027-05-01 is a statutory holiday (Labour Day); it cannot be a working day."),
    ("headers", "day,what\n2027-01-01,元旦\n", "Row 1 must name the columns"),
    ("no rows", "kind,from,to,name\n", "The schedule has no rows"),
]


@pytest.mark.parametrize("label, text, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_refused_with_its_row_and_changes_nothing(park, open_2027, login, label, text, message):
    park.admin.language = "en"
    db.session.commit()
    admin = login(park.admin)
    before = calendar_tables()
    resp = admin.post("/admin/calendar/schedule/file", data={
        "year": "2027", "schedule": (io.BytesIO(text.encode()), "2027.csv")}, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in problems(html), html
    assert calendar_tables() == before


@pytest.mark.parametrize("filename, data, message", [
    ("2027.txt", SCHEDULE_2027.encode(), "Upload the schedule as a .csv or .xlsx file."),
    ("2027.csv", b"", "The file is empty."),
    ("2027.xlsx", b"PK\x03\x04 not really a workbook", "The file is not a readable Excel workbook"),
    ("2027.xlsx", xlsx([["kind", "from", "to", "name"], ["workday", datetime(2027, 2, 15), None, "调休"]]),
     "Row 2: 2027-02-15 is a weekday"),
])
def test_an_unreadable_file_is_refused_and_changes_nothing(park, open_2027, login, filename, data, message):
    park.admin.language = "en"
    db.session.commit()
    admin = login(park.admin)
    before = calendar_tables()
    resp = admin.post("/admin/calendar/schedule/file", data={"year": "2027", "schedule": (io.BytesIO(data), filename)},
                      content_type="multipart/form-data")
    assert resp.status_code == 400
    assert message in problems(resp.get_data(as_text=True))
    assert calendar_tables() == before


@pytest.mark.parametrize("data, message", [
    ({"year": "2027", "workdays-0-day": "2027-02-15", "holidays-0-first": "2027-01-01", "holidays-0-name": "元旦"},
     "Make-up day line 1: 2027-02-15 is a weekday"),
    ({"year": "2027", "holidays-1-first": "2027-13-01", "holidays-1-name": "x"}, "Holiday line 2: “2027-13-01” is not a date"),
    ({"year": "2027"}, "The schedule has no rows"),
    ({"year": "1999", "holidays-0-first": "1999-01-01", "holidays-0-name": "元旦"}, "Check the lines of the schedule form."),
    ({"year": "²", "holidays-0-first": "2027-01-01", "holidays-0-name": "元旦"}, "Check the lines of the schedule form."),
    ({"year": "2027", "holidays-0-first": "2027-01-01", "holidays-0-name": "元" * 101},
     "Check the lines of the schedule form."),
])
def test_a_bad_form_is_refused_and_changes_nothing(park, open_2027, login, data, message):
    park.admin.language = "en"
    db.session.commit()
    admin = login(park.admin)
    before = calendar_tables()
    resp = admin.post("/admin/calendar/schedule", data=data)
    assert resp.status_code == 400
    assert message in problems(resp.get_data(as_text=True))
    assert calendar_tables() == before


def test_the_schedule_forms_need_the_csrf_token_and_an_admin(app, park, open_2027, login):
    before = calendar_tables()
    official = login(park.hr_official)
    assert official.post("/admin/calendar/schedule", data={"year": "2027"}).status_code == 403
    assert official.get("/admin/calendar/schedule-sample.csv").status_code == 403
    admin = login(park.admin)
    app.config["WTF_CSRF_ENABLED"] = True
    assert admin.post("/admin/calendar/schedule", data={"year": "2027", "holidays-0-first": "2027-01-01",
                                                        "holidays-0-name": "元旦"}).status_code == 400
    resp = admin.post("/admin/calendar/schedule/file", data={
        "year": "2027", "schedule": (io.BytesIO(SCHEDULE_2027.encode()), "2027.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert calendar_tables() == before


def test_the_calendar_page_shows_the_provisional_holidays_and_the_sample(park, login):
    park.admin.language = "en"
    db.session.commit()
    admin = login(park.admin)
    html = admin.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert 'data-day="2027-02-09" data-make-up="1"' in html and 'data-day="2027-02-05" data-make-up="0"' in html
    assert "2027 is not loaded: its deadlines count the statutory holidays below" in html
    resp = admin.get("/admin/calendar/schedule-sample.csv")
    assert resp.status_code == 200 and resp.data.decode("utf-8-sig") == SAMPLE_CSV
    # The README gives the same sample, so the docs cannot drift from what loads.
    from pathlib import Path

    assert SAMPLE_CSV in (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


# --- the command line ---------------------------------------------------------------------


def test_cli_load_from_a_file(app, park, open_2027, tmp_path):
    t, c, waiting = open_2027
    path = tmp_path / "2027.xlsx"
    path.write_bytes(schedule_2027_xlsx())
    result = app.test_cli_runner().invoke(args=["calendar", "load", "--year", "2027", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == (f"2027: loaded from {path}; 23 days differ from Monday to Friday; "
                             "10 days changed status; 1 open deadlines recomputed\n")
    assert_2027_loaded(t, c, waiting, "file", None)


def test_cli_load_refuses_a_bad_file_and_changes_nothing(app, park, open_2027, tmp_path):
    before = calendar_tables()
    path = tmp_path / "2027.csv"
    path.write_text(with_lines((4, "workday,2027-02-15,,春节调休"), (10, "holiday,2027-09-15,2027-09-16,")),
                    encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calendar", "load", "--year", "2027", "--file", str(path)])
    assert result.exit_code == 1
    assert "Row 4: 2027-02-15 is a weekday: a make-up working day is a Saturday or a Sunday." in result.stderr
    assert "Row 10: A holiday needs a name" in result.stderr
    assert "2 rows have problems; nothing was changed." in result.stderr
    assert calendar_tables() == before
    for args in (["--year", "2027", "--file", str(tmp_path / "missing.csv")], ["--year", "1800", "--file", str(path)],
                 ["--year", "next", "--file", str(path)]):
        result = runner.invoke(args=["calendar", "load", *args])
        assert result.exit_code == 2, result.output
    assert calendar_tables() == before


def test_a_single_day_edit_wins_over_the_provisional_derivation(park, open_2027):
    from tickets.services.calendar import set_day
    from tickets.workdays import WorkCalendar

    _t, _c, waiting = open_2027
    # An admin makes Fri 1 January 2027 a working day while 2027 is provisional: the request
    # filed 31 December 16:00 (1 working day) is now due 24:00 Fri 1 January instead of Mon 4.
    assert set_day(date(2027, 1, 1), True, "", park.admin.id) == 1
    row = db.session.get(CalendarDay, date(2027, 1, 1))
    assert row is not None and row.is_workday is True  # kept: it differs from the derivation
    assert WorkCalendar.load().is_workday(date(2027, 1, 1)) is True
    assert db.session.get(Ticket, waiting.id).due_at == datetime(2027, 1, 1, 16, 0)
    # Back to a holiday, as the derivation has it: no row needed, and the due time returns.
    assert set_day(date(2027, 1, 1), False, "元旦", park.admin.id) == 1
    assert db.session.get(CalendarDay, date(2027, 1, 1)) is None
    assert db.session.get(Ticket, waiting.id).due_at == datetime(2027, 1, 4, 16, 0)
    assert db.session.get(CalendarYear, 2027) is None  # a single edit does not load the year
