"""The inspectors' exports: the ticket ledger and the event log for a period, as CSV or XLSX.

Every export writes one AccessLog row (who, when, what, how many rows) before a
single byte leaves. The row count is exact: an export reads the rows up to the
highest id that existed when it started, so the log and the file agree even while
new tickets and events arrive during a long download.
"""
from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, tuple_

from ..extensions import db
from ..labels import label, table
from ..models import AccessLog, Category, Department, Event, Firm, Handling, Ticket, User
from ..timeutil import from_local, now, to_local
from ..workdays import level
from . import sheets
from .errors import InvalidInput
from .export_details import describe

KINDS = ("ledger", "events")
FORMATS = ("csv", "xlsx")
PAGE_SIZE = 500
# Spreadsheets read these first characters as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# openpyxl refuses control characters other than tab, newline and carriage return.
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# openpyxl builds a workbook at a few thousand rows a second: past this, CSV (streamed) it is.
XLSX_MAX_ROWS = 100_000
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)

# One name per export, in the reader's language: the sheet, the file and the access log say it.
KIND_LABELS = table("export")
# A unified social credit code (GB 32100-2015): digits and capitals only, so it can be quoted as a formula.
CREDIT_CODE = re.compile(r"[0-9A-Z]{1,18}")


def neutralise(value):
    """A text cell a spreadsheet would run as a formula, made inert with a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class ExportRequest:
    kind: str
    fmt: str
    first: date
    last: date

    @property
    def start(self) -> datetime:
        """00:00 Shanghai of the first day, as naive UTC."""
        return from_local(datetime.combine(self.first, datetime.min.time()))

    @property
    def end(self) -> datetime:
        """00:00 Shanghai of the day after the last day (exclusive), as naive UTC."""
        return from_local(datetime.combine(self.last + timedelta(days=1), datetime.min.time()))

    @property
    def action(self) -> str:
        return f"export.{self.kind}.{self.fmt}"

    def params(self) -> dict:
        return {"kind": self.kind, "format": self.fmt, "from": self.first.isoformat(), "to": self.last.isoformat()}

    def filenames(self) -> tuple[str, str]:
        """(ASCII fallback, the name in the reader's language) for Content-Disposition."""
        ascii_name = f"{self.kind}-{self.first.isoformat()}-{self.last.isoformat()}.{self.fmt}"
        name = _("%(what)s %(first)s to %(last)s", what=KIND_LABELS[self.kind], first=self.first.isoformat(),
                 last=self.last.isoformat())
        return ascii_name, f"{name}.{self.fmt}"


def _parse_day(errors: dict, name: str, text, label) -> date | None:
    text = (text or "").strip()
    if not text:
        errors[name] = _l("%(label)s is required (YYYY-MM-DD).", label=label)
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[name] = _l("%(label)s is not a valid date; write it as YYYY-MM-DD.", label=label)
        return None
    if not EARLIEST <= day <= LATEST:
        errors[name] = _l("%(label)s must lie between 2000-01-01 and 2099-12-31.", label=label)
        return None
    return day


def parse_request(kind, fmt, first, last) -> ExportRequest:
    """Check the form's values; raises InvalidInput (nothing is logged) when one is wrong."""
    errors: dict = {}
    if kind not in KINDS:
        errors["kind"] = _l("Please choose the ticket ledger or the event log.")
    if fmt not in FORMATS:
        errors["fmt"] = _l("Please choose CSV or XLSX.")
    first_day = _parse_day(errors, "first", first, _l("The start date"))
    last_day = _parse_day(errors, "last", last, _l("The end date"))
    if first_day and last_day and first_day > last_day:
        errors["last"] = _l("The end date is before the start date.")
    if errors:
        raise InvalidInput(next(iter(errors.values())), errors)
    return ExportRequest(kind, fmt, first_day, last_day)


@dataclass
class Export:
    """A started export: its request, the id bound it reads up to, and its header."""

    request: ExportRequest
    bound: int
    rows: int
    locale: str
    header: list = field(default_factory=list)


def _model(kind):
    return Ticket if kind == "ledger" else Event


def _in_period(req: ExportRequest, bound: int):
    m = _model(req.kind)
    at = m.created_at if req.kind == "ledger" else m.at
    return (at >= req.start, at < req.end, m.id <= bound)


def start_export(user: User, req: ExportRequest, locale: str) -> Export:
    """Fix the rows the export will read, log it, commit; the caller then streams it.

    Raises InvalidInput (nothing logged) when an XLSX would be too large to build.
    """
    m = _model(req.kind)
    bound = db.session.scalar(db.select(func.max(m.id))) or 0
    count = db.session.scalar(db.select(func.count()).select_from(m).where(*_in_period(req, bound))) or 0
    if req.fmt == "xlsx" and count > XLSX_MAX_ROWS:
        message = _l("The period has %(rows)d rows; an XLSX holds at most %(max)d. Download CSV or choose a "
                     "shorter period.", rows=count, max=XLSX_MAX_ROWS)
        raise InvalidInput(message, {"fmt": message})
    db.session.add(AccessLog(user_id=user.id, at=now(), action=req.action,
                             params=json.dumps(req.params(), sort_keys=True), rows=count))
    db.session.commit()
    return Export(req, bound, count, locale, header_for(req.kind))


# Each column's header and its width in the XLSX (characters).
LEDGER_HEADER = (
    (_l("Number"), 13), (_l("Firm"), 24), (_l("Credit code"), 21), (_l("Category"), 14), (_l("Title"), 30),
    (_l("Description"), 40), (_l("Channel"), 10), (_l("Urgency"), 8), (_l("State"), 12),
    (_l("Lead official"), 18), (_l("Department"), 22), (_l("Round"), 6), (_l("Created"), 17),
    (_l("Accepted"), 17), (_l("Handled"), 17), (_l("Closed"), 17), (_l("Due"), 17), (_l("Warning level"), 12),
    (_l("Transfers"), 8), (_l("Extensions"), 8), (_l("Solved"), 8), (_l("Rating"), 10), (_l("Supervised"), 17),
)
EVENTS_HEADER = (
    (_l("Ticket"), 13), (_l("Seq"), 6), (_l("Time (Beijing time)"), 20), (_l("Actor"), 20), (_l("Action"), 18),
    (_l("From state"), 12), (_l("To state"), 12), (_l("Visibility"), 10), (_l("Details"), 70), (_l("Hash"), 20),
)
# The column of the credit code, kept as text.
CREDIT_COLUMN = {"ledger": 2}


def _columns(kind: str):
    return LEDGER_HEADER if kind == "ledger" else EVENTS_HEADER


def header_for(kind: str) -> list[str]:
    return [str(words) for words, _width in _columns(kind)]


def recent_log(limit: int = 50) -> list[AccessLog]:
    """The latest access log entries, newest first."""
    return db.session.scalars(db.select(AccessLog).order_by(AccessLog.id.desc()).limit(limit)).all()


def log_words(entry: AccessLog) -> tuple[str, str]:
    """An access log entry in words: (what was exported, which period), never its stored codes."""
    params = json.loads(entry.params or "{}")
    kind, fmt = params.get("kind"), str(params.get("format", "")).upper()
    what = f"{KIND_LABELS[kind]} ({fmt})" if kind in KIND_LABELS else "—"
    period = _("%(first)s to %(last)s", first=params.get("from", ""), last=params.get("to", ""))
    return what, period


# --- rows ---------------------------------------------------------------------

def _local(at) -> datetime | None:
    """A stored UTC time as naive Beijing time (what a spreadsheet's date cell holds), to the second."""
    local = to_local(at)
    return None if local is None else local.replace(tzinfo=None, microsecond=0)


def _due(at) -> datetime | date | None:
    """A deadline at 24:00 is the date of its last day, as the ticket pages read it; else its moment."""
    local = _local(at)
    if local is not None and (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - timedelta(days=1)).date()
    return local


class _Names:
    """Names by id, loaded a page at a time and kept for the rest of the export."""

    def __init__(self, locale: str):
        self.locale = locale
        categories = db.session.scalars(db.select(Category)).all()
        self.categories = {c.id: c.name(locale) for c in categories}
        self.category_names = {c.code: c.name(locale) for c in categories}
        self.departments = {d.id: d.name(locale) for d in db.session.scalars(db.select(Department))}
        self.firms: dict[int, tuple[str, str]] = {}
        self.users: dict[int, str] = {}

    def load_firms(self, ids) -> None:
        missing = set(ids) - self.firms.keys() - {None}
        if missing:
            q = db.select(Firm.id, Firm.name, Firm.credit_code).where(Firm.id.in_(missing))
            self.firms.update({i: (n, c) for i, n, c in db.session.execute(q)})

    def load_users(self, ids) -> None:
        missing = set(ids) - self.users.keys() - {None}
        if missing:
            q = db.select(User.id, User.name, User.username).where(User.id.in_(missing))
            self.users.update({i: f"{n} ({u})" for i, n, u in db.session.execute(q)})


LEDGER_COLUMNS = (
    Ticket.id, Ticket.number, Ticket.firm_id, Ticket.category_id, Ticket.title, Ticket.description,
    Ticket.channel, Ticket.urgency, Ticket.state, Ticket.lead_id, Ticket.department_id, Ticket.round,
    Ticket.created_at, Ticket.closed_at, Ticket.yellow_at, Ticket.due_at, Ticket.red3_at,
    Ticket.transfer_count, Ticket.extension_count, Ticket.solved, Ticket.rating, Ticket.supervised_at,
)


def _ledger_pages(exp: Export):
    req, names, at = exp.request, _Names(exp.locale), now()
    where, last = _in_period(req, exp.bound), None
    while True:
        q = db.select(*LEDGER_COLUMNS).where(*where)
        if last is not None:
            q = q.where(tuple_(Ticket.created_at, Ticket.id) > last)
        page = db.session.execute(q.order_by(Ticket.created_at, Ticket.id).limit(PAGE_SIZE)).all()
        if not page:
            return
        last = (page[-1].created_at, page[-1].id)
        ids = [t.id for t in page]
        accepted = dict(db.session.execute(
            db.select(Event.ticket_id, func.min(Event.at))
            .where(Event.ticket_id.in_(ids), Event.action == "accept").group_by(Event.ticket_id)).all())
        handled = dict(db.session.execute(
            db.select(Handling.ticket_id, func.max(Handling.handled_at))
            .where(Handling.ticket_id.in_(ids)).group_by(Handling.ticket_id)).all())
        names.load_firms(t.firm_id for t in page)
        names.load_users(t.lead_id for t in page)
        rows = []
        for t in page:
            firm, credit = names.firms.get(t.firm_id, ("", ""))
            rows.append([
                t.number, firm, credit, names.categories.get(t.category_id, ""), t.title, t.description,
                label("channel", t.channel), label("urgency", t.urgency), label("state", t.state),
                names.users.get(t.lead_id, ""), names.departments.get(t.department_id, ""), t.round,
                _local(t.created_at), _local(accepted.get(t.id)), _local(handled.get(t.id)), _local(t.closed_at),
                _due(t.due_at), label("level", level(at, t.yellow_at, t.due_at, t.red3_at)), t.transfer_count,
                t.extension_count, label("solved", t.solved), label("rating", t.rating), _local(t.supervised_at),
            ])
        yield rows


EVENT_COLUMNS = (
    Event.id, Ticket.number, Event.seq, Event.at, Event.actor_id, Event.action, Event.from_state,
    Event.to_state, Event.visibility, Event.details, Event.hash,
)


def _event_pages(exp: Export):
    req, names = exp.request, _Names(exp.locale)
    where, last = _in_period(req, exp.bound), None
    system = _("system")
    while True:
        q = db.select(*EVENT_COLUMNS).join(Ticket, Ticket.id == Event.ticket_id).where(*where)
        if last is not None:
            q = q.where(tuple_(Event.at, Event.id) > last)
        page = db.session.execute(q.order_by(Event.at, Event.id).limit(PAGE_SIZE)).all()
        if not page:
            return
        last = (page[-1].at, page[-1].id)
        names.load_users(e.actor_id for e in page)
        yield [
            [e.number, e.seq, _local(e.at), names.users.get(e.actor_id, "") if e.actor_id else system,
             label("event", e.action), label("state", e.from_state), label("state", e.to_state),
             label("visibility", e.visibility), describe(e.details, names, exp.locale), e.hash]
            for e in page
        ]


def pages(exp: Export):
    """The export's rows, a page at a time, in period order, cells not yet neutralised."""
    return _ledger_pages(exp) if exp.request.kind == "ledger" else _event_pages(exp)


# --- files --------------------------------------------------------------------

def _csv_cell(value, credit: bool = False):
    """A CSV cell as Excel and LibreOffice should read it: times as text they parse as dates;
    a credit code as the text formula ="913304817340678881", so that neither reads it as a
    number (9.13304817340679E+017) and loses its last digits."""
    if credit and isinstance(value, str) and CREDIT_CODE.fullmatch(value):
        return f'="{value}"'
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise("" if value is None else value)


def csv_chunks(exp: Export):
    """The CSV as UTF-8 byte chunks: a BOM (so Excel reads Chinese), the header, a chunk per page."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([neutralise(c) for c in exp.header])
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    credit = CREDIT_COLUMN.get(exp.request.kind)
    for rows in pages(exp):
        buf.seek(0)
        buf.truncate()
        writer.writerows([_csv_cell(c, i == credit) for i, c in enumerate(row)] for row in rows)
        yield buf.getvalue().encode("utf-8")


def _xlsx_cell(value):
    if isinstance(value, str):
        return neutralise(XLSX_ILLEGAL.sub("", value))
    return value


def xlsx_file(exp: Export):
    """The XLSX in a temporary file (in memory until it grows), positioned at its start.

    Times are date cells in Beijing time, credit codes text cells, and the sheet prints on A4
    landscape with its header on every page (services/sheets.py).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    kind = exp.request.kind
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(KIND_LABELS[kind])[:31])
    sheets.print_setup(ws, [width for _words, width in _columns(kind)])
    bold, top = Font(bold=True), Alignment(vertical="top", wrap_text=True)
    header = []
    for text in exp.header:
        cell = WriteOnlyCell(ws, value=_xlsx_cell(text))
        cell.font, cell.alignment = bold, top
        header.append(cell)
    ws.append(header)
    credit = CREDIT_COLUMN.get(kind)
    for rows in pages(exp):
        for row in rows:
            cells = []
            for i, value in enumerate(row):
                fmt = sheets.TEXT_FORMAT if i == credit else sheets.number_format(value)
                if fmt:  # a styled cell only where a format is due: plain values write faster
                    value = WriteOnlyCell(ws, value=_xlsx_cell(value))
                    value.number_format = fmt
                    cells.append(value)
                else:
                    cells.append(_xlsx_cell(value))
            ws.append(cells)
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    wb.save(out)
    out.seek(0)
    return out
