"""Importing firms and users from an XLSX workbook: every row checked, all or nothing.

The workbook has a sheet "firms" and a sheet "users"; row 1 holds the headers
("name / 名称": the part before the slash is the key, so either language and
any column order will do). A user row names its firm by credit code; a firm
row names its liaison leader by username, who may be a user of the same file.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Department, Firm, User
from ..models.org import ROLES
from .errors import InvalidInput
from .workbooks import read_workbook as workbook
from .people import check_firm, check_user, commit_or_refuse
from .security_log import record

MAX_FILE_BYTES = 5 * 1024 * 1024
# A workbook is a ZIP; refuse one that would inflate past this (a "zip bomb").
MAX_UNZIPPED_BYTES = 60 * 1024 * 1024
MAX_ROWS = 5000
# Each password is hashed with scrypt (about 0.1 s), so a request imports a few hundred users at most.
MAX_USER_ROWS = 500

# key, Chinese header, required
FIRM_COLUMNS = [
    ("name", "名称", True),
    ("credit_code", "统一社会信用代码", True),
    ("address", "地址", False),
    ("contact_name", "联系人", False),
    ("contact_phone", "联系电话", False),
    ("liaison_username", "联企领导账号", False),
]
USER_COLUMNS = [
    ("username", "账号", True),
    ("name", "姓名", True),
    ("roles", "角色", True),
    ("language", "语言", False),
    ("email", "电子邮箱", False),
    ("mobile", "手机", False),
    ("firm_credit_code", "所属企业信用代码", False),
    ("department_code", "部门代码", False),
    ("is_head", "部门负责人", False),
    ("password", "初始密码", True),
]
SHEETS = {"firms": FIRM_COLUMNS, "users": USER_COLUMNS}

ROLE_WORDS = {r: r for r in ROLES} | {
    "企业": "firm", "企业用户": "firm", "工作人员": "official", "经办人": "official",
    "专人": "official", "协调员": "coordinator", "协调": "coordinator", "领导": "leader",
    "纪检": "inspector", "督查": "inspector", "管理员": "admin",
}
YES = {"yes", "y", "true", "1", "是", "x", "✓"}
NO = {"", "no", "n", "false", "0", "否"}


@dataclass
class BadRow:
    sheet: str
    row: int
    reasons: list[str] = field(default_factory=list)


class ImportRefused(InvalidInput):
    """The workbook has bad rows; `rows` lists every one. Nothing was imported."""

    def __init__(self, message, rows: list[BadRow]):
        super().__init__(message)
        self.rows = rows


@dataclass
class ImportResult:
    firms: int
    users: int


def help_rows() -> list[tuple[str, str, str, str]]:
    """(sheet, column header, required, meaning) for the README sheet and the upload page."""
    yes, no = _("Yes"), _("No")
    meaning = {
        "firms": {
            "name": _("Firm name, unique."),
            "credit_code": _("Unified social credit code, 18 characters with a valid check character."),
            "address": _("Address."),
            "contact_name": _("Contact person."),
            "contact_phone": _("Contact phone: mobile or landline."),
            "liaison_username": _("Username of the liaison leader (a user with the role leader, "
                                  "existing or in the users sheet)."),
        },
        "users": {
            "username": _("Login name: 2 to 64 letters, digits or _ . @ -; unique."),
            "name": _("Full name."),
            "roles": _("One or more of firm, official, coordinator, leader, inspector, admin, "
                       "separated by commas."),
            "language": _("zh or en; empty means zh."),
            "email": _("E-mail address."),
            "mobile": _("Mobile number."),
            "firm_credit_code": _("For the role firm: the credit code of the user's firm "
                                  "(existing or in the firms sheet)."),
            "department_code": _("For the role official: the department code (see the Departments page)."),
            "is_head": _("yes if the official heads the department; otherwise empty or no."),
            "password": _("Initial password: at least 10 characters, not a common password, not the "
                          "username. The user must choose a new one at the first sign-in. Stored only as a hash."),
        },
    }
    return [(sheet, f"{key} / {zh}", yes if req else no, meaning[sheet][key])
            for sheet, cols in SHEETS.items() for key, zh, req in cols]


def template_workbook() -> bytes:
    """The template to download: README, firms and users sheets with one example row each."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    from ..validators import credit_check_char

    wb = Workbook()
    readme = wb.active
    readme.title = "README"
    readme.append([_("Import firms and users. Fill in the sheets firms and users (row 1 is the header; "
                     "keep it). Replace the example rows. If any row is wrong nothing is imported, and "
                     "every wrong row is listed with its sheet and row number.")])
    readme.append([])
    readme.append([_("Sheet"), _("Column"), _("Required"), _("Meaning")])
    for row in help_rows():
        readme.append(list(row))
    readme.column_dimensions["B"].width = 34
    readme.column_dimensions["D"].width = 90
    first17 = "91330100MA2B00001"
    code = first17 + credit_check_char(first17)
    examples = {
        "firms": ["示例科技有限公司", code, "高新区创新路 1 号", "王经理", "13800138000", ""],
        "users": ["example_firm", "王经理", "firm", "zh", "wang@example.com", "13800138000", code, "", "",
                  "change-me-2026"],
    }
    notes = {(s, h.split(" / ")[0]): m for s, h, _r, m in help_rows()}
    for sheet, cols in SHEETS.items():
        ws = wb.create_sheet(sheet)
        ws.append([f"{key} / {zh}" for key, zh, _req in cols])
        ws.append(examples[sheet])
        for i, (key, _zh, req) in enumerate(cols, start=1):
            cell = ws.cell(row=1, column=i)
            cell.font = Font(bold=True)
            cell.comment = Comment(notes[(sheet, key)], "Bihuan")
            letter = cell.column_letter
            ws.column_dimensions[letter].width = 24
            # Text, so that Excel keeps the leading zeros of codes and phone numbers.
            ws.column_dimensions[letter].number_format = "@"
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _text(value) -> str:
    """A cell as text: 13800138000.0 typed as a number comes back as 13800138000."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


def read_workbook(filename: str, data: bytes) -> dict[str, list[tuple[int, dict]]]:
    """The rows of each sheet as (row number, {key: text}); raises InvalidInput for an unreadable file."""
    if not (filename or "").lower().endswith(".xlsx"):
        raise InvalidInput(_l("Please upload an Excel workbook (.xlsx), such as the template."))
    if not data:
        raise InvalidInput(_l("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(_l("The file is too large: at most %(n)d MB.", n=MAX_FILE_BYTES // (1024 * 1024)))
    return workbook(data, MAX_UNZIPPED_BYTES, _read_sheets)


def _read_sheets(wb) -> dict[str, list[tuple[int, dict]]]:
    names = {n.strip().lower(): n for n in wb.sheetnames}
    if not any(s in names for s in SHEETS):
        raise InvalidInput(_l("The workbook has no sheet named firms or users. Start from the template."))
    out: dict[str, list[tuple[int, dict]]] = {}
    total = 0
    for sheet, cols in SHEETS.items():
        out[sheet] = []
        if sheet not in names:
            continue
        rows = wb[names[sheet]].iter_rows(values_only=True)
        header = [_text(v).split("/")[0].strip().strip("*").strip().lower() for v in next(rows, ())]
        keys = {key for key, _zh, _req in cols}
        missing = [key for key, _zh, req in cols if req and key not in header]
        unknown = [h for h in header if h and h not in keys]
        if missing or unknown:
            raise InvalidInput(_l("Sheet %(sheet)s, row 1: the headers do not match the template "
                                  "(missing: %(missing)s; unknown: %(unknown)s).", sheet=sheet,
                                  missing=", ".join(missing) or "-", unknown=", ".join(unknown) or "-"))
        for number, values in enumerate(rows, start=2):
            cells = {h: _text(v) for h, v in zip(header, values) if h}
            if not any(cells.values()):
                continue
            total += 1
            if total > MAX_ROWS:
                raise InvalidInput(_l("At most %(n)d rows per file.", n=MAX_ROWS))
            out[sheet].append((number, {key: cells.get(key, "") for key in keys}))
    if len(out["users"]) > MAX_USER_ROWS:
        raise InvalidInput(_l("At most %(n)d users per file; split the list into several files.", n=MAX_USER_ROWS))
    if not out["firms"] and not out["users"]:
        raise InvalidInput(_l("The workbook has no rows to import."))
    return out


def _existing(column, values) -> dict:
    """Rows of a model whose unique `column` is among `values`, in chunks portable to any database."""
    found, values = {}, sorted(set(v for v in values if v))
    for i in range(0, len(values), 500):
        chunk = values[i:i + 500]
        for row in db.session.scalars(db.select(column.class_).where(column.in_(chunk))):
            found[getattr(row, column.key)] = row
    return found


def _roles(text: str) -> tuple[list[str], list[str]]:
    words = [w for w in re.split(r"[,，;；、/\s]+", text.strip()) if w]
    roles = [ROLE_WORDS.get(w.lower()) for w in words]
    return sorted({r for r in roles if r}), [w for w, r in zip(words, roles) if r is None]


def check_rows(sheets: dict) -> tuple[list[BadRow], dict]:
    """Check every row against the rules, the file itself and the database; (bad rows, plan)."""
    firm_rows, user_rows = sheets["firms"], sheets["users"]
    bad: dict[tuple[str, int], BadRow] = {}

    def fail(sheet, row, reason):
        bad.setdefault((sheet, row), BadRow(sheet, row)).reasons.append(str(reason))

    db_firm_codes = _existing(Firm.credit_code, [c["credit_code"].upper() for _n, c in firm_rows]
                              + [c["firm_credit_code"].upper() for _n, c in user_rows])
    db_firm_names = _existing(Firm.name, [c["name"] for _n, c in firm_rows])
    db_users = _existing(User.username, [c["username"] for _n, c in user_rows]
                         + [c["liaison_username"] for _n, c in firm_rows])
    depts = {d.code: d for d in db.session.scalars(db.select(Department))}

    file_codes = {f["credit_code"].strip().upper() for _n, f in firm_rows}
    file_roles: dict[str, list[str]] = {}
    users, seen_users = [], {}
    for number, c in user_rows:
        errors: dict = {}
        roles, unknown = _roles(c["roles"])
        if unknown:
            fail("users", number, _l("Unknown role %(role)s. The roles are: %(roles)s.",
                                     role=", ".join(unknown), roles=", ".join(ROLES)))
        code = c["firm_credit_code"].strip().upper()
        firm_ref = code or None
        if code and code not in db_firm_codes and code not in file_codes:
            fail("users", number, _l("No firm with the credit code %(code)s, in the file or the system.", code=code))
        dept_code = c["department_code"].lower()
        if dept_code and dept_code not in depts:
            fail("users", number, _l("Unknown department code %(code)s.", code=dept_code))
        head = c["is_head"].lower()
        if head not in YES | NO:
            fail("users", number, _l("Department head is yes or no."))
        v = check_user(errors, username=c["username"], name=c["name"], roles=roles,
                       language=c["language"], email=c["email"], mobile=c["mobile"], firm=firm_ref,
                       department=dept_code or None, is_head=head in YES, password=c["password"],
                       password_required=True)
        if unknown:  # already reported; the checks that depend on the roles would only add noise
            for key in ("roles", "firm_id", "department_id", "is_head"):
                errors.pop(key, None)
        for reason in errors.values():
            fail("users", number, reason)
        name = v["username"]
        if name and name in seen_users:
            fail("users", number, _l("The username %(u)s is also in row %(row)d.", u=name, row=seen_users[name]))
        elif name:
            seen_users[name] = number
        if name in db_users:
            fail("users", number, _l("The username %(u)s is taken.", u=name))
        file_roles[name] = roles
        users.append(dict(v, firm_code=code, department_code=dept_code))

    firms, seen_codes, seen_names = [], {}, {}
    for number, c in firm_rows:
        errors: dict = {}
        v = check_firm(errors, name=c["name"], credit_code=c["credit_code"], address=c["address"],
                       contact_name=c["contact_name"], contact_phone=c["contact_phone"])
        for reason in errors.values():
            fail("firms", number, reason)
        code, name = v["credit_code"], v["name"]
        if code and code in seen_codes:
            fail("firms", number, _l("The credit code %(code)s is also in row %(row)d.", code=code,
                                     row=seen_codes[code]))
        elif code:
            seen_codes[code] = number
        if name and name in seen_names:
            fail("firms", number, _l("The name %(name)s is also in row %(row)d.", name=name, row=seen_names[name]))
        elif name:
            seen_names[name] = number
        if code in db_firm_codes:
            fail("firms", number, _l("A firm with the credit code %(code)s already exists.", code=code))
        if name in db_firm_names:
            fail("firms", number, _l("A firm named %(name)s already exists.", name=name))
        liaison = c["liaison_username"]
        if liaison:
            in_db = db_users.get(liaison)
            if liaison in file_roles:
                is_leader = "leader" in file_roles[liaison]
            else:
                is_leader = in_db is not None and in_db.has("leader")
            if liaison not in file_roles and in_db is None:
                fail("firms", number, _l("No user %(u)s, in the file or the system.", u=liaison))
            elif not is_leader:
                fail("firms", number, _l("The liaison %(u)s is not a user with the role leader.", u=liaison))
        firms.append(dict(v, liaison=liaison))

    rows = sorted(bad.values(), key=lambda b: (b.sheet != "firms", b.row))
    return rows, {"firms": firms, "users": users, "db_firms": db_firm_codes, "db_users": db_users,
                  "depts": depts}


def import_people(filename: str, data: bytes, actor: User | None = None) -> ImportResult:
    """Check the whole workbook; import every row in one transaction, or nothing."""
    sheets = read_workbook(filename, data)
    bad, plan = check_rows(sheets)
    if bad:
        raise ImportRefused(_l("%(n)d rows have problems; nothing was imported. Correct them and upload "
                               "the file again.", n=len(bad)), bad)
    firms = {}
    for f in plan["firms"]:
        firms[f["credit_code"]] = Firm(name=f["name"], credit_code=f["credit_code"], address=f["address"],
                                       contact_name=f["contact_name"], contact_phone=f["contact_phone"])
        db.session.add(firms[f["credit_code"]])
    db.session.flush()
    users = {}
    for u in plan["users"]:
        firm = firms.get(u["firm_code"]) or plan["db_firms"].get(u["firm_code"])
        dept = plan["depts"].get(u["department_code"])
        user = User(username=u["username"], name=u["name"], language=u["language"], email=u["email"],
                    mobile=u["mobile"], is_head=u["is_head"], active=True,
                    firm_id=firm.id if firm else None, department_id=dept.id if dept else None)
        user.set_roles(u["roles"])
        user.set_password(u["password"])
        # Whoever filled in the sheet knows the initial password: the user chooses their own.
        user.must_change_password = True
        db.session.add(user)
        users[u["username"]] = user
    db.session.flush()
    for user in users.values():
        record("user_created", user=user, actor=actor, via="import", roles=sorted(user.roles))
    for f in plan["firms"]:
        if f["liaison"]:
            leader = users.get(f["liaison"]) or plan["db_users"][f["liaison"]]
            firms[f["credit_code"]].liaison_id = leader.id
    commit_or_refuse(_l("Someone added the same firm or user meanwhile; nothing was imported. Upload the file again."))
    return ImportResult(firms=len(firms), users=len(users))
