"""Staff pages: the queues, the approval inbox, filing on a firm's behalf."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _p
from flask_login import current_user
from wtforms import SelectField
from wtforms.validators import DataRequired

from ..extensions import db
from ..labels import choices
from ..forms_common import RequestForm, already_filed, category_choices, uploads_from
from ..models import Category, Department, Firm
from ..permissions import may_file_for, may_open, queue_scopes
from ..services.approvals import inbox as approvals_inbox
from ..services.common import parse_id
from ..services.errors import AlreadyFiled, ServiceError
from ..services.filing import file_ticket
from . import bp
from .queries import PARTS, Filters
from .queries import queue as run_queue

SCOPE_LABELS = {
    "mine": _l("My queue"),
    "department": _l("My department"),
    "inbox": _l("To accept"),
    "all": _l("All tickets"),
}


@bp.route("/")
def queue_page():
    return redirect(url_for("desk.queue"))


PART_LABELS = {
    "todo": _l("To do"),
    "waiting": _l("Waiting for the firm"),
}


@bp.route("/tickets")
def queue():
    scopes = queue_scopes(current_user)
    scope = request.args.get("scope") or scopes[0]
    if scope not in scopes:
        abort(403)
    part = request.args.get("part", "")
    f = Filters(
        scope=scope,
        state=request.args.get("state", ""),
        category_id=parse_id(request.args.get("category")),
        department_id=parse_id(request.args.get("department")),
        level=request.args.get("level", ""),
        q=request.args.get("q", "")[:100],
        after=request.args.get("after", "")[:80],
        before=request.args.get("before", "")[:80],
        part=part if part in PARTS else "todo",
    )
    page = run_queue(current_user, f)
    # What needs this official beside the tickets they lead: the requests they decide.
    approvals = 0
    if scope == "mine" and f.part == "todo" and may_open(current_user, "desk.approvals"):
        approvals = sum(len(reqs) for reqs in approvals_inbox(current_user))
    args = {k: v for k, v in request.args.items() if k not in ("after", "before")}
    return render_template(
        "desk/queue.html",
        page=page,
        tickets=page.tickets,
        f=f,
        scopes=scopes,
        scope_labels=SCOPE_LABELS,
        part_labels=PART_LABELS,
        approvals=approvals,
        args=args,
        categories=db.session.scalars(db.select(Category).order_by(Category.position, Category.id)).all(),
        departments=db.session.scalars(db.select(Department).order_by(Department.id)).all(),
        locale=str(get_locale()),
    )


@bp.route("/approvals")
def approvals():
    """The extension and transfer requests this user may decide (never their own)."""
    ext, trans = approvals_inbox(current_user)
    return render_template("desk/approvals.html", extensions=ext, transfers=trans)


class OnBehalfForm(RequestForm):
    """The firm's request, typed in by staff: the labels speak to staff about the firm."""

    firm_id = SelectField(_l("Firm"), validators=[DataRequired()], validate_choice=False)
    channel = SelectField(_p("source channel", "Channel"), choices=choices(
        "channel", ("phone", "visit", "meeting", "letter", "platform")))
    STAFF_LABELS = {
        "title": _l("Title of the firm’s request"),
        "description": _l("The firm’s problem, as the firm described it"),
        "contact_name": _l("The firm’s contact person"),
        "contact_phone": _l("The firm’s contact phone"),
        "follows_number": _l("Follows an earlier request of the firm (number, optional)"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in self.STAFF_LABELS.items():
            self[name].label.text = text


@bp.route("/file", methods=["GET", "POST"])
def file_for():
    """A coordinator, or a firm's liaison leader, files a request on the firm's behalf."""
    firms = db.session.scalars(db.select(Firm).order_by(Firm.name)).all()
    firms = [fm for fm in firms if may_file_for(current_user, fm)]
    if not firms:
        abort(403)
    form = OnBehalfForm()
    form.category_id.choices = category_choices(str(get_locale()))
    form.firm_id.choices = [("", _("— choose —"))] + [(str(fm.id), fm.name) for fm in firms]
    errors = {}
    if form.validate_on_submit():
        firm_id = parse_id(form.firm_id.data) or 0
        try:
            ticket = file_ticket(
                current_user, firm_id=firm_id, category_id=form.category_id.data,
                title=form.title.data, description=form.description.data, urgency=form.urgency.data,
                contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
                channel=form.channel.data, follows_number=form.follows_number.data or "",
                uploads=uploads_from(), form_token=form.posted_token(),
            )
        except AlreadyFiled as e:
            return already_filed(e.ticket)
        except ServiceError as e:
            errors = e.errors or {"form": e.message}
        else:
            flash(_("Request %(number)s filed on behalf of %(firm)s.", number=ticket.number, firm=ticket.firm.name))
            return redirect(url_for("ticket.view", number=ticket.number))
    form.keep_or_renew_token(errors)
    status = 400 if request.method == "POST" else 200
    return render_template("desk/file_for.html", form=form, errors=errors), status
