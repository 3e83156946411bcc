"""Admin index, users and firms. The blueprint's before_request admits admins only."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import throttle
from ..auth import sessions
from ..extensions import db
from ..models import Department, Firm, User
from ..services import people
from ..services.errors import InvalidInput
from ..services.common import parse_id
from . import bp
from .forms import ROLE_LABELS, FirmForm, UnlockForm, UserForm, attach_errors, choice_id
from .queries import missing_years


@bp.route("/")
def index():
    return render_template("admin/index.html", missing=missing_years())


# ---------------------------------------------------------------- users

@bp.route("/users")
def users():
    q = request.args.get("q", "")[:100]
    rows, cursor = people.list_users(q, parse_id(request.args.get("after")))
    return render_template("admin/users.html", users=rows, cursor=cursor, q=q, role_labels=ROLE_LABELS,
                           locale=str(get_locale()))


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    return _user_page(None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.is_service:  # an integration's account: Admin → Integrations
        abort(404)
    return _user_page(user)


def _user_page(user: User | None):
    data = None
    if user is not None:
        data = dict(username=user.username, name=user.name, roles=sorted(user.roles), language=user.language,
                    email=user.email, mobile=user.mobile, firm_id=str(user.firm_id or ""),
                    department_id=str(user.department_id or ""), is_head=user.is_head, active=user.active)
    form = UserForm(data=data)
    locale = str(get_locale())
    firms = db.session.scalars(db.select(Firm).order_by(Firm.name)).all()
    form.firm_id.choices = [("", _("— none —"))] + [(str(f.id), f.name) for f in firms]
    depts = db.session.scalars(db.select(Department).order_by(Department.id)).all()
    form.department_id.choices = [("", _("— none —"))] + [(str(d.id), d.name(locale)) for d in depts]
    general: list[str] = []
    if form.validate_on_submit():
        try:
            saved = people.save_user(
                user, current_user, username=form.username.data, name=form.name.data, roles=form.roles.data,
                language=form.language.data, email=form.email.data, mobile=form.mobile.data,
                firm_id=choice_id(form.firm_id.data), department_id=choice_id(form.department_id.data),
                is_head=form.is_head.data, active=form.active.data, password=form.password.data,
            )
        except InvalidInput as e:
            general = attach_errors(form, e.errors) if e.errors else [str(e.message)]
        else:
            if saved.id == current_user.id and saved.get_id() != session.get("_user_id"):
                # Editing oneself ended one's own sessions too; this one goes on under the new token.
                sessions.start(saved)
                db.session.commit()
            flash(_("User %(u)s saved.", u=saved.username))
            return redirect(url_for("admin.users", q=saved.username))
    status = 400 if request.method == "POST" else 200
    locked = throttle.is_locked(user.username) if user is not None else False
    return render_template("admin/user_form.html", form=form, user=user, general=general, locked=locked,
                           unlock_form=UnlockForm()), status


# ---------------------------------------------------------------- firms

@bp.route("/firms")
def firms():
    q = request.args.get("q", "")[:100]
    rows, cursor = people.list_firms(q, parse_id(request.args.get("after")))
    return render_template("admin/firms.html", firms=rows, cursor=cursor, q=q)


@bp.route("/firms/new", methods=["GET", "POST"])
def firm_new():
    return _firm_page(None)


@bp.route("/firms/<int:firm_id>", methods=["GET", "POST"])
def firm_edit(firm_id: int):
    return _firm_page(db.get_or_404(Firm, firm_id))


def _firm_page(firm: Firm | None):
    data = None
    if firm is not None:
        data = dict(name=firm.name, credit_code=firm.credit_code, address=firm.address,
                    contact_name=firm.contact_name, contact_phone=firm.contact_phone,
                    liaison_id=str(firm.liaison_id or ""))
    form = FirmForm(data=data)
    form.liaison_id.choices = [("", _("— none —"))] + [(str(u.id), f"{u.name} ({u.username})")
                                                        for u in people.leaders()]
    general: list[str] = []
    if form.validate_on_submit():
        try:
            saved = people.save_firm(
                firm, name=form.name.data, credit_code=form.credit_code.data, address=form.address.data,
                contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
                liaison_id=choice_id(form.liaison_id.data),
            )
        except InvalidInput as e:
            general = attach_errors(form, e.errors) if e.errors else [str(e.message)]
        else:
            flash(_("Firm %(name)s saved.", name=saved.name))
            return redirect(url_for("admin.firms", q=saved.credit_code))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/firm_form.html", form=form, firm=firm, general=general), status
