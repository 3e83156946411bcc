"""Ledger and event-log exports for inspectors; every download is logged first."""
from __future__ import annotations

from flask import Response, render_template, request, send_file, stream_with_context
from flask_babel import get_locale
from flask_login import current_user

from ..services import exports as svc
from ..services.errors import InvalidInput
from ..services.sheets import disposition
from ..timeutil import local_today
from . import bp
from .forms import ExportForm

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(form, errors=None, status=200):
    return render_template("exports/index.html", form=form, errors=errors or {},
                           log=svc.recent_log(50), log_words=svc.log_words), status


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
    resp.headers["Content-Disposition"] = disposition(*req.filenames())
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
