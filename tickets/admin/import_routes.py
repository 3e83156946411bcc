"""Admin: importing firms and users from an XLSX workbook."""
from __future__ import annotations

import io

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..services.errors import InvalidInput
from ..services.people_import import (MAX_ROWS, MAX_USER_ROWS, ImportRefused, help_rows, import_people,
                                      template_workbook)
from . import bp
from .forms import ImportForm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(form, message=None, bad_rows=(), status: int = 200):
    return render_template("admin/import.html", form=form, message=message, bad_rows=bad_rows,
                           columns=help_rows(), max_rows=MAX_ROWS, max_users=MAX_USER_ROWS), status


@bp.route("/import", methods=["GET", "POST"])
def import_people_page():
    form = ImportForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, status=400)
    upload = form.workbook.data
    try:
        result = import_people(upload.filename or "", upload.read(), actor=current_user._get_current_object())
    except ImportRefused as e:
        return _page(form, str(e.message), e.rows, 400)
    except InvalidInput as e:
        return _page(form, str(e.message), status=400)
    flash(_("Imported %(firms)d firms and %(users)d users.", firms=result.firms, users=result.users))
    return redirect(url_for("admin.import_people_page"))


@bp.route("/import/template.xlsx")
def import_template():
    return send_file(io.BytesIO(template_workbook()), mimetype=XLSX, as_attachment=True,
                     download_name="bihuan-import-template.xlsx")
