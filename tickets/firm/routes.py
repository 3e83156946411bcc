"""The firm's pages: file a request, and the list of the firm's requests."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..forms_common import RequestForm, already_filed, category_choices, uploads_from
from ..models import Ticket
from ..services.common import parse_id
from ..services.errors import AlreadyFiled, ServiceError
from ..services.filing import file_ticket
from ..services.firm_waiting import waiting_for_firm
from . import bp


@bp.route("/requests")
def my_requests():
    page_size = 20
    stmt = db.select(Ticket).filter_by(firm_id=current_user.firm_id)
    state = request.args.get("state", "")
    if state == "open":
        stmt = stmt.where(Ticket.state.in_(("submitted", "accepted", "handled")))
    elif state == "closed":
        stmt = stmt.where(Ticket.state.notin_(("submitted", "accepted", "handled")))
    q = request.args.get("q", "").strip()[:100]
    for word in q.split()[:8]:
        stmt = stmt.where(_matches(word))
    before = parse_id(request.args.get("before"))
    if before:
        stmt = stmt.where(Ticket.id < before)
    stmt = stmt.options(selectinload(Ticket.lead), selectinload(Ticket.department), selectinload(Ticket.open_clocks))
    rows = db.session.scalars(stmt.order_by(Ticket.id.desc()).limit(page_size + 1)).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    return render_template("firm/my_requests.html", tickets=rows, state=state, q=q,
                           waiting=waiting_for_firm(current_user.firm_id),
                           next_before=rows[-1].id if more else None)


def _matches(word: str):
    """A word of the firm's search: part of the number, or in the title or the description.

    A plain LIKE is enough on one firm's own requests (a few hundred at most, by the firm index);
    the staff queue has the full-text search."""
    return or_(*(col.icontains(word, autoescape=True) for col in (Ticket.number, Ticket.title, Ticket.description)))


@bp.route("/requests/new", methods=["GET", "POST"])
def new_request():
    form = RequestForm()
    form.category_id.choices = category_choices(str(get_locale()))
    if request.method == "GET":
        firm = current_user.firm
        form.contact_name.data = form.contact_name.data or current_user.name
        form.contact_phone.data = form.contact_phone.data or current_user.mobile or firm.contact_phone
    errors = {}
    if form.validate_on_submit():
        try:
            ticket = file_ticket(
                current_user,
                firm_id=current_user.firm_id,
                category_id=form.category_id.data,
                title=form.title.data,
                description=form.description.data,
                urgency=form.urgency.data,
                contact_name=form.contact_name.data,
                contact_phone=form.contact_phone.data,
                follows_number=form.follows_number.data or "",
                uploads=uploads_from(),
                form_token=form.posted_token(),
            )
        except AlreadyFiled as e:
            return already_filed(e.ticket)
        except ServiceError as e:
            errors = e.errors or {"form": e.message}
        else:
            flash(_("Your request %(number)s was filed. You can follow it here.", number=ticket.number))
            return redirect(url_for("ticket.view", number=ticket.number))
    form.keep_or_renew_token(errors)
    status = 400 if request.method == "POST" else 200
    return render_template("firm/new_request.html", form=form, errors=errors), status
