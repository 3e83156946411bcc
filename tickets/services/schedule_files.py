"""A year's holiday schedule as a file: CSV or XLSX, one row per holiday range or make-up day.

Row 1 holds the headers, in any order, in English or Chinese ("kind / 类型" also works:
the part before the slash counts):

    kind  (类型)  holiday (放假) or workday (上班: a make-up working Saturday or Sunday)
    from  (开始)  the first day, YYYY-MM-DD (2027/1/1 and Excel date cells work too)
    to    (结束)  the last day of a holiday; empty for a single day
    date  (日期)  instead of from/to, for a single day
    name  (名称)  e.g. 春节, or 春节调休 for its make-up day; required for a holiday

A CSV is UTF-8 (with or without the BOM that Excel writes) or GB18030 (what Excel on a
Chinese Windows saves as "CSV"). An XLSX is read from its first sheet.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .errors import InvalidInput
from .workbooks import read_workbook
from .schedule import MAX_ROWS, ScheduleRow

MAX_FILE_BYTES = 1024 * 1024
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024
HEADERS = {"kind": "kind", "类型": "kind", "from": "from", "开始": "from", "to": "to", "结束": "to",
           "date": "date", "日期": "date", "name": "name", "名称": "name"}

# The 2026 schedule as the State Council published it and chinese-calendar
# has it: the sample in the docs and on the admin page, and a test loads it.
SAMPLE_CSV = """kind,from,to,name
holiday,2026-01-01,2026-01-03,元旦
workday,2026-01-04,,元旦调休
workday,2026-02-14,,春节调休
holiday,2026-02-15,2026-02-23,春节
workday,2026-02-28,,春节调休
holiday,2026-04-04,2026-04-06,清明节
holiday,2026-05-01,2026-05-05,劳动节
workday,2026-05-09,,劳动节调休
holiday,2026-06-19,2026-06-21,端午节
workday,2026-09-20,,国庆节调休
holiday,2026-09-25,2026-09-27,中秋节
holiday,2026-10-01,2026-10-07,国庆节
workday,2026-10-10,,国庆节调休
"""


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(table) -> list[ScheduleRow]:
    """Header row, then data rows (lists of text), as ScheduleRows named by their line number."""
    table = iter(table)
    header = [HEADERS.get(_cell(h).split("/")[0].strip().lower()) for h in next(table, [])]
    if "kind" not in header or not ({"from", "date"} & set(header)):
        raise InvalidInput(_l("Row 1 must name the columns: kind, from, to, name (or date instead of "
                              "from and to). See the sample on the calendar page."))
    out = []
    for number, values in enumerate(table, start=2):
        cells: dict[str, str] = {}
        for key, value in zip(header, values):
            if key and _cell(value):
                cells.setdefault(key, _cell(value))
        first = cells.get("from") or cells.get("date", "")
        row = ScheduleRow(_("Row %(n)d", n=number), cells.get("kind", ""), first, cells.get("to", ""),
                          cells.get("name", ""))
        if row.is_blank():
            continue
        out.append(row)
        if len(out) > MAX_ROWS:
            raise InvalidInput(_l("A schedule has at most %(n)d rows.", n=MAX_ROWS))
    return out


def read_csv(data: bytes) -> list[ScheduleRow]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # gb18030 decodes nearly anything, but not every byte sequence
        raise InvalidInput(_l("The CSV file is neither UTF-8 nor GB18030 text."))
    try:
        return _rows(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        raise InvalidInput(_l("The file is not a readable CSV file.")) from None


def read_xlsx(data: bytes) -> list[ScheduleRow]:
    return read_workbook(data, MAX_UNZIPPED_BYTES, lambda wb: _rows(wb.worksheets[0].iter_rows(values_only=True)))


def read_schedule(filename: str, data: bytes) -> list[ScheduleRow]:
    """The rows of an uploaded schedule, by its extension; InvalidInput for a file we cannot read."""
    name = (filename or "").lower()
    if not name.endswith((".csv", ".xlsx")):
        raise InvalidInput(_l("Upload the schedule as a .csv or .xlsx file."))
    if not data:
        raise InvalidInput(_l("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(_l("The file is too large: at most %(n)d MB.", n=MAX_FILE_BYTES // (1024 * 1024)))
    return read_csv(data) if name.endswith(".csv") else read_xlsx(data)
