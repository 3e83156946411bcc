"""The meeting list as an XLSX workbook: one sheet per section, Chinese headers.

Written from the frozen snapshot only, so the file of a past week is the list
the meeting saw. The headers and values are in Chinese whatever the reader's
language (codes in words from tickets/labels.py): the workbook is the meeting's paper,
circulated as it is.
"""
from __future__ import annotations

from datetime import datetime
from io import BytesIO

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from ..labels import label
from ..views_common import fmt_time
from . import sheets

COLUMNS = [
    ("编号", "number", 14), ("企业", "firm", 24), ("诉求标题", "title", 36), ("分类", "category_zh", 14),
    ("责任部门", "department_zh", 22), ("责任人", "lead", 12), ("状态", "state", 10),
    ("办理时限", "due", 18), ("预警", "level", 12), ("办理轮次", "round", 10), ("评价", "rating", 10),
    ("是否解决", "solved", 10),
]
SECTIONS = [("new", "新增诉求"), ("closed", "办结诉求"), ("reworked", "不满意与重办")]
# Columns holding a code, in words from tickets/labels.py (the column key is the label kind).
CODES = ("state", "level", "rating", "solved")


from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: E402


def safe(value):
    """A cell value that Excel never reads as a formula (text starting = + - @ gets a quote)."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


def _due_cell(text):
    """The snapshot's due text ("2026-11-09 24:00") as an Excel date: 24:00 is the date of that day."""
    if not text:
        return None
    day, _sep, clock = str(text).partition(" ")
    try:
        if clock in ("", "24:00"):
            return datetime.strptime(day, "%Y-%m-%d").date()
        return datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M")
    except ValueError:
        return safe(str(text))


def _row(item: dict) -> list:
    out = []
    for _h, key, _w in COLUMNS:
        if key in CODES:
            out.append(safe(label(key, item.get(key)) or None))
        elif key == "due":
            out.append(_due_cell(item.get(key)))
        else:
            out.append(safe(item.get(key)))
    return out


def _append(ws, item: dict) -> None:
    ws.append(_row(item))
    for cell in ws[ws.max_row]:
        fmt = sheets.number_format(cell.value)
        if fmt:
            cell.number_format = fmt


def _header(ws, headers, widths) -> None:
    ws.append(headers)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    # The page setup of every export: A4 landscape, fitted to the width, the header on every page.
    sheets.print_setup(ws, widths, header_row=ws.max_row)


def _when(text: str) -> str:
    return fmt_time(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")) if text else ""


def _summary(ws, data: dict) -> None:
    ws.title = "概况"
    c = data["counts"]
    digest = data.get("digest")
    rows = [
        (list_name_zh(), ""),
        ("周次", data["week"]),
        ("生成时间", _when(data["built_at"])),
        ("新增、办结统计周期", f"{data['period_from']} 至 {data['period_to']}"),
        ("未结诉求", c["open"]),
        ("其中超期", c["overdue"]),
        ("新增诉求", c["new"]),
        ("办结诉求", c["closed"]),
        ("不满意与重办", c["reworked"]),
    ]
    if digest:
        rows += [("每日摘要日期", digest.get("day", "")), ("每日摘要（全部链头 SHA-256）", digest.get("digest", "")),
                 ("摘要涵盖诉求数", digest.get("tickets", ""))]
    else:
        rows.append(("每日摘要", "暂无摘要"))
    for r in rows:
        ws.append([safe(v) for v in r])
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 70
    sheets.a4_landscape(ws)


def _rates(ws, rates: dict) -> None:
    """The rates sheet: the measures of the rates page, named as the Chinese catalog names them."""
    from .rates import MEASURES

    names = [(m.key, str(m.label)) for m in MEASURES]
    ws.title = "办理指标"
    headers = ["部门"]
    for _k, name in names:
        headers += [f"{name}分子", f"{name}分母", name]
    headers += ["超期未评", "强制办结"]
    _header(ws, headers, [22] + [10] * (len(headers) - 1))
    for row in rates["departments"] + [rates["total"]]:
        label = "合计" if row["unit"] == "total" else (row["label_zh"] or "未分配")
        cells = [safe(label)]
        for key, _name in names:
            f = row["measures"][key]
            cells += [f["numerator"], f["denominator"], f["rate"]]
        cells += [row["apart"]["closed_unconfirmed"], row["apart"]["closed_forced"]]
        ws.append(cells)
    ws.append([])
    ws.append([f"统计周期：{rates['period_from']} 至 {rates['period_to']}；比率为百分数（件均转办次数除外）。"])


def list_name_zh() -> str:
    """The list's one name (services.meeting.LIST_NAME), as the Chinese catalog writes it."""
    from .meeting import LIST_NAME

    with force_locale("zh"):
        return str(LIST_NAME)


def workbook_bytes(data: dict) -> bytes:
    """The XLSX file of a snapshot, in Chinese whatever the reader's language."""
    with force_locale("zh"):
        return _workbook(data)


def _workbook(data: dict) -> bytes:
    wb = Workbook()
    wb.properties.title = f"{list_name_zh()} {data['week']}"
    _summary(wb.active, data)
    ws = wb.create_sheet("未结诉求")
    _header(ws, [h for h, _k, _w in COLUMNS], [w for _h, _k, w in COLUMNS])
    for group in data["open"]:
        for item in group["items"]:
            _append(ws, item)
    for key, title in SECTIONS:
        ws = wb.create_sheet(title)
        _header(ws, [h for h, _k, _w in COLUMNS], [w for _h, _k, w in COLUMNS])
        for item in data[key]:
            _append(ws, item)
    if data.get("rates"):  # lists built before the rates joined the snapshot have none
        _rates(wb.create_sheet("办理指标"), data["rates"])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
