"""Ledger and event-log exports for inspectors; every download is logged first."""
from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response, render_template, request, send_file, stream_with_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..labels import label
from ..services import exports as svc
from ..services.errors import InvalidInput
from ..timeutil import local_today
from . import bp
from .forms import ExportForm

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _disposition(req: svc.ExportRequest) -> str:
    ascii_name, utf8_name = req.filenames()
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"


def access_words(entry) -> tuple[str, str]:
    """(what was exported, which filter) of an access log entry, in words: never its codes."""
    try:
        params = json.loads(entry.params or "{}")
    except ValueError:
        params = {}
    parts = entry.action.split(".")
    kind, fmt = (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "export" else (None, None)
    what = _("%(kind)s, %(format)s", kind=label("export", kind), format=label("export_format", fmt)) if kind else "—"
    first, last = params.get("from"), params.get("to")
    period = _("Days %(first)s to %(last)s (Beijing time)", first=first, last=last) if first and last else "—"
    return what, period


def _page(form, errors=None, status=200):
    return render_template("exports/index.html", form=form, errors=errors or {},
                           log=svc.recent_log(50), access_words=access_words), status


@bp.route("/", methods=["GET", "POST"])
def index():
    form = ExportForm()
    if request.method == "GET":
        today = local_today()
        form.first.data = form.first.data or today.replace(day=1).isoformat()
        form.last.data = form.last.data or today.isoformat()
        return _page(form)
    if not form.validate_on_submit():  # only the CSRF token can fail here
        return _page(form, {"form": next(iter(form.errors.values()))[0]}, 400)
    try:
        req = svc.parse_request(form.kind.data, form.fmt.data, form.first.data, form.last.data)
        exp = svc.start_export(current_user, req, str(get_locale() or "zh"))
    except InvalidInput as e:
        return _page(form, e.errors, 400)
    if req.fmt == "csv":
        resp = Response(stream_with_context(svc.csv_chunks(exp)), content_type="text/csv; charset=utf-8")
    else:
        resp = send_file(svc.xlsx_file(exp), mimetype=XLSX_MIME, max_age=0)
    resp.headers["Content-Disposition"] = _disposition(req)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
