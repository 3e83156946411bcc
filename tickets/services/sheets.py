"""What every workbook and download that leaves the system shares: the page setup a government
office prints on (A4 landscape, fitted to the width, the header row on every page, frozen on
screen), real date cells, and one file name in the reader's language.
"""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATETIME_SECONDS_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"


def print_setup(ws, widths, header_row: int = 1) -> None:
    """Column widths, the header row frozen and repeated on every printed page, A4 landscape fitted to the width.

    Called before the first row is written (a write-only sheet takes its columns then).
    """
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    a4_landscape(ws)


def a4_landscape(ws) -> None:
    """A4 landscape, fitted to the width of the page, as many pages down as it takes."""
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = Worksheet.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4


def number_format(value) -> str | None:
    """The Excel format of a cell holding `value`: dates and times as dates, never as serial numbers."""
    if isinstance(value, datetime):
        return DATETIME_SECONDS_FORMAT if value.second else DATETIME_FORMAT
    if isinstance(value, date):
        return DATE_FORMAT
    return None


def disposition(ascii_name: str, utf8_name: str) -> str:
    """Content-Disposition of a download: an ASCII name for old clients, the reader's-language name for the rest."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"
