"""The admin pages: access, users, firms, the XLSX import and the calendar."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook

from tickets.extensions import db
from tickets.models import CalendarYear, Clock, Firm, Ticket, User

from .conftest import accept, credit_code, file_request


@pytest.fixture
def admin(park, login):
    """The test client signed in as the park's admin, reading English."""
    park.admin.language = "en"
    db.session.commit()
    return login(park.admin)


def counts():
    return db.session.scalar(db.select(db.func.count(User.id))), db.session.scalar(db.select(db.func.count(Firm.id)))


def admin_urls(app):
    """Every admin route, with 1 for any id in the path."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            path = re.sub(r"<(?:int:)?\w+>", "1", rule.rule)
            out += [(m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


# ---------------------------------------------------------------- access

def test_every_admin_route_refuses_non_admins(app, park, login):
    urls = admin_urls(app)
    assert len(urls) >= 20
    before = counts()
    for user in (park.coordinator, park.leader, park.inspector, park.hr_head, park.firm_user):
        client = login(user)
        for method, path in urls:
            resp = client.open(path, method=method, data={"username": "x", "name": "x", "roles": "admin",
                                                          "password": "longenough", "year": "2026"})
            assert resp.status_code == 403, (user.username, method, path, resp.status_code)
    assert counts() == before
    client.post("/logout")
    for method, path in urls:
        resp = client.open(path, method=method)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], (method, path)


def test_admin_pages_render(admin, park):
    for path in ("/admin/", "/admin/users", "/admin/users?q=hr", "/admin/users/new", f"/admin/users/{park.hr_head.id}",
                 "/admin/firms", "/admin/firms/new", f"/admin/firms/{park.firm_a.id}", "/admin/departments",
                 "/admin/departments/new", "/admin/categories", f"/admin/categories/{park.category('labor').id}",
                 "/admin/calendar", "/admin/calendar?year=2027", "/admin/import"):
        assert admin.get(path).status_code == 200, path


def test_users_list_is_paged_by_keyset_and_searchable(app, admin, park):
    app.config["PAGE_SIZE"] = 5
    html = admin.get("/admin/users").get_data(as_text=True)
    assert html.count("data-username=") == 5
    cursor = re.search(r'after=(\d+)', html).group(1)
    html2 = admin.get(f"/admin/users?after={cursor}").get_data(as_text=True)
    assert html2.count("data-username=") == 5 and 'data-username="coord"' not in html2
    found = admin.get("/admin/users?q=fin_").get_data(as_text=True)
    assert set(re.findall(r'data-username="([^"]+)"', found)) == {"fin_head", "fin_off"}


# ---------------------------------------------------------------- users

def test_create_and_edit_a_user_with_several_roles(admin, park):
    hr = park.depts["hr"]
    resp = admin.post("/admin/users/new", data={
        "username": "zhang", "name": "张三", "roles": ["official", "leader"], "language": "en",
        "email": "zhang@example.test", "mobile": "13900139000", "department_id": str(hr.id),
        "active": "y", "password": "s3cret-pass"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    user = db.session.scalar(db.select(User).filter_by(username="zhang"))
    assert user.roles == {"official", "leader"} and user.department_id == hr.id and not user.is_head
    assert user.check_password("s3cret-pass") and user.password_hash != "s3cret-pass"

    resp = admin.post(f"/admin/users/{user.id}", data={
        "username": "zhang", "name": "张三", "roles": ["official", "coordinator", "leader"], "language": "zh",
        "email": "", "mobile": "", "department_id": str(hr.id), "is_head": "y", "active": "y", "password": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.roles == {"official", "coordinator", "leader"} and user.is_head and user.language == "zh"
    assert user.check_password("s3cret-pass")  # a blank password keeps the old one


@pytest.mark.parametrize("over, message", [
    ({"roles": ["firm"]}, "A user with the role firm needs a firm."),
    ({"roles": ["official"], "department_id": ""}, "A user with the role official needs a department."),
    ({"roles": ["coordinator"], "is_head": "y"}, "Only an official can be the head of a department."),
    ({"mobile": "12345"}, "This is not a valid phone number."),
    ({"password": "short"}, "The password needs at least 10 characters."),
    ({"username": "coord"}, "The username coord is taken."),
    ({"roles": []}, "Choose at least one role."),
])
def test_user_rules_refuse_with_a_clear_message(admin, park, over, message):
    data = {"username": "li", "name": "李四", "roles": ["official"], "language": "zh", "email": "",
            "mobile": "", "department_id": str(park.depts["hr"].id), "active": "y", "password": "long-enough-1"}
    data.update(over)
    before = counts()
    resp = admin.post("/admin/users/new", data=data)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert counts() == before


def test_admin_cannot_lock_themselves_out(admin, park):
    resp = admin.post(f"/admin/users/{park.admin.id}", data={
        "username": "admin", "name": "Admin", "roles": ["leader"], "language": "en", "active": "y"})
    assert resp.status_code == 400 and "You cannot remove your own admin role." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, park.admin.id).has("admin")


# ---------------------------------------------------------------- firms

def test_firm_with_a_wrong_check_character_is_refused(admin, park):
    good = credit_code(77)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    before = counts()
    resp = admin.post("/admin/firms/new", data={"name": "丙公司", "credit_code": wrong, "address": "",
                                                "contact_name": "", "contact_phone": "", "liaison_id": ""})
    assert resp.status_code == 400
    assert "check character" in resp.get_data(as_text=True)
    assert counts() == before

    resp = admin.post("/admin/firms/new", data={"name": "丙公司", "credit_code": good.lower(), "address": "园区",
                                                "contact_name": "赵", "contact_phone": "0571-88888888",
                                                "liaison_id": str(park.leader.id)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    firm = db.session.scalar(db.select(Firm).filter_by(name="丙公司"))
    assert firm.credit_code == good and firm.liaison_id == park.leader.id


def test_firm_liaison_must_be_a_leader(admin, park):
    resp = admin.post(f"/admin/firms/{park.firm_b.id}", data={
        "name": park.firm_b.name, "credit_code": park.firm_b.credit_code, "liaison_id": str(park.hr_head.id)})
    assert resp.status_code == 400
    assert "The liaison must be a user with the role leader." in resp.get_data(as_text=True)


def test_departments_and_categories_are_edited(admin, park):
    resp = admin.post("/admin/departments/new", data={"code": "safety", "name_zh": "安全生产局",
                                                      "name_en": "Work Safety Bureau"})
    assert resp.status_code == 302
    labor = park.category("labor")
    data = {"code": "labor", "name_zh": "用工招工", "name_en": "Labor shortage",
            "department_id": str(park.depts["hr"].id), "limit_days": "61", "active": "y", "position": "0"}
    assert admin.post(f"/admin/categories/{labor.id}", data=data).status_code == 400
    data["limit_days"] = "7"
    assert admin.post(f"/admin/categories/{labor.id}", data=data).status_code == 302
    db.session.expire_all()
    assert park.category("labor").limit_days == 7


# ---------------------------------------------------------------- the XLSX import

def template(client) -> Workbook:
    resp = client.get("/admin/import/template.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(resp.data))


def book(client, firms, users) -> bytes:
    """The downloaded template with its example rows replaced by these."""
    wb = template(client)
    for name, rows in (("firms", firms), ("users", users)):
        ws = wb[name]
        ws.delete_rows(2, ws.max_row)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, data: bytes, filename="people.xlsx"):
    return client.post("/admin/import", data={"workbook": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_template_is_a_valid_workbook_that_imports_as_is(admin):
    wb = template(admin)
    assert {"README", "firms", "users"} <= set(wb.sheetnames)
    assert wb["firms"]["A1"].value == "name / 名称" and wb["users"]["A1"].value == "username / 账号"
    assert wb["firms"].max_row == 2 and wb["users"].max_row == 2
    out = io.BytesIO()
    wb.save(out)
    resp = upload(admin, out.getvalue())
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert db.session.scalar(db.select(User).filter_by(username="example_firm")).firm.name == "示例科技有限公司"


def test_a_good_sheet_imports_every_firm_and_user(admin, park):
    c1, c2 = credit_code(101), credit_code(102)
    data = book(admin, firms=[
        ["丁公司", c1, "创新路 2 号", "孙", "13700137000", "new_leader"],
        ["戊公司", c2.lower(), "", "", "", "leader"],
    ], users=[
        ["new_leader", "周领导", "leader", "zh", "zhou@example.test", "13600136000", "", "", "", "leader-pass-1"],
        ["ding_staff", "丁员工", "firm", "en", "", "13500135000", c1, "", "", "firm-pass-12"],
        ["hr_new", "吴科员", "official, leader", "", "", "", "", "hr", "yes", "official-pass"],
        ["wu_firm", "戊员工", "企业", "zh", "", "", c2, "", "no", "firm-pass-34"],
    ])
    users_before, firms_before = counts()
    resp = upload(admin, data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert "Imported 2 firms and 4 users." in admin.get("/admin/import").get_data(as_text=True)
    assert counts() == (users_before + 4, firms_before + 2)
    by_name = {u.username: u for u in db.session.scalars(db.select(User))}
    ding, wu = (db.session.scalar(db.select(Firm).filter_by(credit_code=c)) for c in (c1, c2))
    assert ding.liaison_id == by_name["new_leader"].id and wu.liaison_id == park.leader.id
    assert by_name["ding_staff"].firm_id == ding.id and by_name["ding_staff"].roles == {"firm"}
    assert by_name["wu_firm"].firm_id == wu.id
    hr_new = by_name["hr_new"]
    assert hr_new.roles == {"official", "leader"} and hr_new.is_head
    assert hr_new.department_id == park.depts["hr"].id and hr_new.language == "zh"
    assert hr_new.check_password("official-pass") and "official-pass" not in hr_new.password_hash


def test_every_kind_of_bad_reference_is_reported_and_nothing_imported(admin, park):
    good, other = credit_code(201), credit_code(202)
    wrong = other[:17] + ("0" if other[17] != "0" else "1")
    data = book(admin, firms=[
        ["己公司", good, "", "", "", ""],
        ["庚公司", wrong, "", "", "", ""],                                  # row 3: check character
        ["辛公司", credit_code(203), "", "", "", "hr_off"],                 # row 4: liaison not a leader
    ], users=[
        ["ji_staff", "己员工", "firm", "zh", "", "", good, "", "", "firm-pass-12"],
        ["bad_dept", "部门错", "official", "zh", "", "", "", "nowhere", "", "official-pass"],  # row 3
        ["ji_staff", "重复", "firm", "zh", "", "", good, "", "", "firm-pass-12"],            # row 4: duplicate
        ["ghost_firm", "无企业", "firm", "zh", "", "", credit_code(999), "", "", "firm-pass-12"],  # row 5
    ])
    before = counts()
    resp = upload(admin, data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "5 rows have problems; nothing was imported." in html
    bad = set(re.findall(r'data-sheet="(\w+)" data-row="(\d+)"', html))
    assert bad == {("firms", "3"), ("firms", "4"), ("users", "3"), ("users", "4"), ("users", "5")}
    assert "check character" in html
    assert "The liaison hr_off is not a user with the role leader." in html
    assert "Unknown department code nowhere." in html
    assert "The username ji_staff is also in row 2." in html
    assert "No firm with the credit code" in html
    assert counts() == before


def test_three_bad_rows_are_each_reported_and_nothing_is_imported(admin, park):
    data = book(admin, firms=[["壬公司", credit_code(301), "", "", "", ""]], users=[
        ["ok_user", "好", "coordinator", "zh", "", "", "", "", "", "good-pass-1"],
        ["", "无账号", "coordinator", "zh", "", "", "", "", "", "good-pass-1"],        # row 3: missing username
        ["bad_role", "角色错", "boss", "zh", "", "", "", "", "", "good-pass-1"],        # row 4: unknown role
        ["bad_phone", "电话错", "leader", "zh", "", "12345", "", "", "", "short"],      # row 5: phone, password
    ])
    before = counts()
    resp = upload(admin, data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    rows = re.findall(r'data-sheet="(\w+)" data-row="(\d+)"', html)
    assert rows == [("users", "3"), ("users", "4"), ("users", "5")]
    assert "3 rows have problems" in html
    assert "Username is required." in html and "Unknown role boss." in html
    assert "This is not a valid phone number." in html and "at least 10 characters" in html
    assert counts() == before


@pytest.mark.parametrize("data, filename, message", [
    (b"name,credit_code\n", "people.csv", "Please upload an Excel workbook (.xlsx)"),
    (b"PK\x03\x04 this is not really a workbook", "people.xlsx", "not a readable Excel workbook"),
    (b"", "people.xlsx", "The file is empty."),
])
def test_a_non_xlsx_or_corrupt_upload_is_refused(admin, data, filename, message):
    before = counts()
    resp = upload(admin, data, filename)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert counts() == before


def test_an_upload_without_a_file_is_refused(admin):
    resp = admin.post("/admin/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "Choose a file to upload." in resp.get_data(as_text=True)


def test_headers_that_do_not_match_are_refused(admin):
    wb = Workbook()
    wb.active.title = "firms"
    wb.active.append(["firm", "code"])
    out = io.BytesIO()
    wb.save(out)
    resp = upload(admin, out.getvalue())
    assert resp.status_code == 400 and "the headers do not match the template" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- the calendar

def test_calendar_edit_moves_an_open_tickets_due_date(admin, park, clock):
    clock(2026, 11, 23, 9)  # Monday; no calendar loaded, so Monday to Friday
    ticket = accept(park, file_request(park))
    due_day = "2026-11-30"   # five working days: 24, 25, 26, 27, 30 November
    old_due = ticket.due_at
    resp = admin.post("/admin/calendar/day", data={"day": due_day, "kind": "holiday", "name": "测试假日"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    html = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "2026-11-30 is now a holiday. 1 open deadline was recomputed." in html
    assert 'data-day="2026-11-30" data-workday="0"' in html
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.due_at > old_due and ticket.due_at.strftime("%Y-%m-%d %H:%M") == "2026-12-01 16:00"
    handle_clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=ticket.id, kind="handle"))
    assert handle_clock.deadline_version == 2 and handle_clock.due_at == ticket.due_at


def test_missing_year_warning_and_loading_a_year(admin, park, clock):
    clock(2026, 9, 28, 9)
    # 2026 not loaded: its statutory holidays are provisional: 1-3 October off, and Mon
    # 5 October made up for Saturday the 3rd. 29, 30 Sept, 6, 7, 8 Oct: due at the end of 8 October.
    ticket = accept(park, file_request(park))
    assert ticket.due_at.strftime("%Y-%m-%d %H:%M") == "2026-10-08 16:00"
    warning_2027 = ("2027 has no loaded holiday schedule: deadlines in 2027 count its statutory holidays only, "
                    "without make-up working days, and are shown as provisional. Load the State Council's "
                    "schedule when it is published.")
    for page in ("/admin/", "/admin/calendar"):
        html = admin.get(page).get_data(as_text=True)
        assert warning_2027 in html and 'data-year="2026"' in html, page
        assert 'name="year" value="2026"' in html and 'name="year" value=""' not in html

    resp = admin.post("/admin/calendar/load", data={"year": "2026"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert db.session.get(CalendarYear, 2026).source == "chinese-calendar"
    html = admin.get("/admin/").get_data(as_text=True)
    assert warning_2027 in html and 'data-year="2026"' not in html
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    # National Day: 1-7 October off, Saturday 10 October worked: 29, 30 Sept, 8, 9, 10 Oct.
    assert ticket.due_at.strftime("%Y-%m-%d %H:%M") == "2026-10-10 16:00"
    resp = admin.post("/admin/calendar/load", data={"year": "2027"})
    assert resp.status_code == 400
    assert "does not know 2027" in resp.get_data(as_text=True)



def test_admin_forms_need_the_csrf_token(app, admin, park):
    app.config["WTF_CSRF_ENABLED"] = True
    data = {"username": "wang", "name": "王五", "roles": ["leader"], "language": "zh", "active": "y",
            "password": "long-enough-1"}
    before = counts()
    assert admin.post("/admin/users/new", data=data).status_code == 400
    assert admin.post("/admin/calendar/day", data={"day": "2026-11-30", "kind": "holiday"}).status_code == 400
    assert counts() == before and db.session.scalar(db.select(db.func.count(CalendarYear.year))) == 0
    page = admin.get("/admin/users/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert admin.post("/admin/users/new", data=dict(data, csrf_token=token)).status_code == 302
    assert counts()[0] == before[0] + 1


@pytest.mark.parametrize("path, data", [
    ("/admin/users/new", {"username": "odd", "name": "Odd", "roles": ["firm"], "firm_id": "²", "password": "long-enough"}),
    ("/admin/firms/new", {"name": "Odd", "credit_code": credit_code(5), "liaison_id": "99999999999999999999999"}),
    ("/admin/calendar/load", {"year": "²"}),
])
def test_odd_ids_are_refused_not_crashed(admin, park, path, data):
    before = counts()
    assert admin.post(path, data=data).status_code == 400
    assert admin.get("/admin/users?after=99999999999999999999999").status_code == 200
    assert counts() == before
