"""Admin: departments, and categories with their handling limits."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..extensions import db
from ..models import Category, Department
from ..services import people
from ..services.errors import InvalidInput
from . import bp
from .forms import CategoryForm, DepartmentForm, attach_errors, choice_id


@bp.route("/departments")
def departments():
    return render_template("admin/departments.html", departments=people.list_departments())


@bp.route("/departments/new", methods=["GET", "POST"])
def department_new():
    return _department_page(None)


@bp.route("/departments/<int:dept_id>", methods=["GET", "POST"])
def department_edit(dept_id: int):
    return _department_page(db.get_or_404(Department, dept_id))


def _department_page(dept: Department | None):
    data = dict(code=dept.code, name_zh=dept.name_zh, name_en=dept.name_en) if dept else None
    form = DepartmentForm(data=data)
    general: list[str] = []
    if form.validate_on_submit():
        try:
            saved = people.save_department(dept, code=form.code.data, name_zh=form.name_zh.data,
                                           name_en=form.name_en.data)
        except InvalidInput as e:
            general = attach_errors(form, e.errors) if e.errors else [str(e.message)]
        else:
            flash(_("Department %(code)s saved.", code=saved.code))
            return redirect(url_for("admin.departments"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/department_form.html", form=form, dept=dept, general=general), status


@bp.route("/categories")
def categories():
    return render_template("admin/categories.html", categories=people.list_categories(),
                           locale=str(get_locale()))


@bp.route("/categories/new", methods=["GET", "POST"])
def category_new():
    return _category_page(None)


@bp.route("/categories/<int:cat_id>", methods=["GET", "POST"])
def category_edit(cat_id: int):
    return _category_page(db.get_or_404(Category, cat_id))


def _category_page(cat: Category | None):
    data = None
    if cat is not None:
        data = dict(code=cat.code, name_zh=cat.name_zh, name_en=cat.name_en, department_id=str(cat.department_id),
                    limit_days=cat.limit_days, active=cat.active, position=cat.position)
    form = CategoryForm(data=data)
    locale = str(get_locale())
    form.department_id.choices = [("", _("— choose —"))] + [(str(d.id), d.name(locale))
                                                            for d in people.list_departments()]
    general: list[str] = []
    if form.validate_on_submit():
        try:
            saved = people.save_category(
                cat, code=form.code.data, name_zh=form.name_zh.data, name_en=form.name_en.data,
                department_id=choice_id(form.department_id.data), limit_days=form.limit_days.data,
                active=form.active.data, position=form.position.data or 0,
            )
        except InvalidInput as e:
            general = attach_errors(form, e.errors) if e.errors else [str(e.message)]
        else:
            flash(_("Category %(code)s saved.", code=saved.code))
            return redirect(url_for("admin.categories"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/category_form.html", form=form, cat=cat, general=general), status
