"""Admin: the working-day calendar, year by year."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..services.calendar import load_year, package_years, set_day
from ..services.errors import InvalidInput
from . import bp
from .forms import CalendarDayForm, ScheduleFileForm, ScheduleForm, SeedYearForm, choice_id
from .queries import loaded_by, missing_years, provisional_days, this_year, year_exceptions, year_status

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _year() -> int:
    year = request.args.get("year", type=int) or this_year()
    return min(max(year, FIRST_YEAR), LAST_YEAR)


def _page(year: int, day_form=None, general=None, status: int = 200, schedule_form=None, file_form=None,
          bad_rows=()):
    status_row = year_status(year)
    schedule_form = schedule_form or ScheduleForm(formdata=None)
    file_form = file_form or ScheduleFileForm(formdata=None)
    schedule_form.year.data = file_form.year.data = str(year)
    return render_template(
        "admin/calendar.html", year=year, days=year_exceptions(year), status_row=status_row,
        missing=missing_years(), known=package_years(), form=day_form or CalendarDayForm(),
        general=general or [], first=FIRST_YEAR, last=LAST_YEAR,
        provisional=[] if status_row else provisional_days(year),
        loaded_by=loaded_by(year) if status_row else None,
        schedule_form=schedule_form, file_form=file_form, bad_rows=bad_rows,
    ), status


@bp.route("/calendar")
def calendar():
    return _page(_year())


@bp.route("/calendar/day", methods=["POST"])
def calendar_day():
    """Set one day as a working day or a holiday; open clocks it touches are recomputed."""
    form = CalendarDayForm()
    year = _year()
    if not form.validate_on_submit():
        return _page(year, form, status=400)
    day = form.day.data
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return _page(year, form, [_("Choose a day between %(a)d and %(b)d.", a=FIRST_YEAR, b=LAST_YEAR)], 400)
    is_workday = form.kind.data == "workday"
    try:
        moved = set_day(day, is_workday, form.name.data or "", current_user.id)
    except InvalidInput as e:
        return _page(year, form, [str(e.message)], 400)
    what = _("a working day") if is_workday else _("a holiday")
    flash(_("%(day)s is now %(what)s.", day=day.isoformat(), what=what) + " "
          + ngettext("%(num)d open deadline was recomputed.", "%(num)d open deadlines were recomputed.", moved))
    return redirect(url_for("admin.calendar", year=day.year))


@bp.route("/calendar/load", methods=["POST"])
def calendar_load():
    """Load a whole year from the chinese-calendar package."""
    form = SeedYearForm()
    year = choice_id(form.year.data) if form.validate_on_submit() else None
    if year is None or year < 0:
        return _page(_year(), general=[_("Choose a year to load.")], status=400)
    try:
        written, moved = load_year(year, current_user.id)
    except InvalidInput as e:
        return _page(_year(), general=[str(e.message)], status=400)
    flash(_("%(year)s loaded from chinese-calendar: %(n)d days differ from Monday to Friday.",
            year=str(year), n=written) + " "
          + ngettext("%(num)d open deadline was recomputed.", "%(num)d open deadlines were recomputed.", moved))
    return redirect(url_for("admin.calendar", year=year))
