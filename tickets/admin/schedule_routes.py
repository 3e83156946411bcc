"""Admin: loading a year's published holiday schedule, entered in a form or uploaded as a file."""
from __future__ import annotations

from flask import Response, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..services.errors import InvalidInput
from ..services.schedule import LoadResult, ScheduleRefused, ScheduleRow, load_schedule
from ..services.schedule_files import SAMPLE_CSV, read_schedule
from . import bp
from .calendar_routes import FIRST_YEAR, LAST_YEAR, _page, _year
from .forms import ScheduleFileForm, ScheduleForm, choice_id


def _posted_year(form) -> int | None:
    year = choice_id(form.year.data)
    return year if year is not None and FIRST_YEAR <= year <= LAST_YEAR else None


def _form_rows(form: ScheduleForm) -> list[ScheduleRow]:
    """The form's lines as schedule rows, named as the page names them."""
    # line.form: a FormField's own `name` is its field name, not the subform's name field.
    rows = [ScheduleRow(_("Holiday line %(n)d", n=i), "holiday", f.first.data or "", f.last.data or "",
                        f.name.data or "")
            for i, f in enumerate((line.form for line in form.holidays), start=1)]
    rows += [ScheduleRow(_("Make-up day line %(n)d", n=i), "workday", f.day.data or "", "", f.name.data or "")
             for i, f in enumerate((line.form for line in form.workdays), start=1)]
    # A line with only a kind (the form fills it in) is an empty line.
    return [r for r in rows if (r.first + r.last + r.name).strip()]


def _loaded(result: LoadResult, what: str):
    flash(_("The %(year)s schedule was loaded from %(what)s: %(n)d days differ from Monday to Friday, "
            "%(changed)d days changed status.", year=str(result.year), what=what, n=result.written,
            changed=len(result.changed)) + " "
          + ngettext("%(num)d open deadline was recomputed.", "%(num)d open deadlines were recomputed.",
                     result.moved))
    return redirect(url_for("admin.calendar", year=result.year))


@bp.route("/calendar/schedule", methods=["POST"])
def calendar_schedule():
    """Load a year's schedule entered by hand: holiday ranges and make-up working days."""
    form = ScheduleForm()
    year = _posted_year(form)
    if year is None or not form.validate_on_submit():
        return _page(year or _year(), general=[_("Check the lines of the schedule form.")], status=400,
                     schedule_form=form)
    try:
        result = load_schedule(year, _form_rows(form), "admin", current_user.id)
    except ScheduleRefused as e:
        return _page(year, general=[str(e.message)], status=400, schedule_form=form, bad_rows=e.rows)
    except InvalidInput as e:
        return _page(year, general=[str(e.message)], status=400, schedule_form=form)
    return _loaded(result, _("the form"))


@bp.route("/calendar/schedule/file", methods=["POST"])
def calendar_schedule_file():
    """Load a year's schedule from an uploaded CSV or XLSX file."""
    form = ScheduleFileForm()
    year = _posted_year(form)
    if year is None:
        return _page(_year(), general=[_("Choose a year between %(a)d and %(b)d.", a=FIRST_YEAR, b=LAST_YEAR)],
                     status=400)
    if not form.validate_on_submit():
        return _page(year, status=400, file_form=form)
    upload = form.schedule.data
    try:
        rows = read_schedule(upload.filename or "", upload.read())
        result = load_schedule(year, rows, "file", current_user.id)
    except ScheduleRefused as e:
        return _page(year, general=[str(e.message)], status=400, bad_rows=e.rows)
    except InvalidInput as e:
        return _page(year, general=[str(e.message)], status=400)
    return _loaded(result, upload.filename or _("a file"))


@bp.route("/calendar/schedule-sample.csv")
def calendar_schedule_sample():
    """The sample file: the 2026 schedule as published, to copy for a new year."""
    return Response(SAMPLE_CSV.encode("utf-8-sig"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=schedule-2026-sample.csv"})
