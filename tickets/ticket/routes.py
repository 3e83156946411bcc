"""The ticket page (every role, what each may see) and its actions."""
from __future__ import annotations

import os

from flask import abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import attachments as att
from ..audit import shown_verdict
from ..extensions import db
from ..lifecycle import ACTIONS, target_state
from ..models import Attachment, Department, ExtensionRequest, Question, Ticket, TransferRequest, User
from ..permissions import allowed_actions, can_view, may, may_see_chain, visibilities_for
from ..services.actions import take_form_action
from ..services.errors import ServiceError
from ..services import reviews
from ..services.notices import notice_choices, notices_of
from ..forms_common import uploads_from
from . import bp
from .forms import FORMS
from .timeline import timeline


def load_visible(number: str) -> Ticket:
    """The ticket, or 404 for a ticket this user may not know exists."""
    ticket = db.session.scalar(db.select(Ticket).filter_by(number=number))
    if ticket is None or not can_view(current_user, ticket):
        abort(404)
    return ticket


def _officials() -> list[tuple[User, Department]]:
    rows = db.session.execute(
        db.select(User, Department)
        .join(Department, User.department_id == Department.id)
        .where(User.active.is_(True))
        .order_by(Department.id, User.name)
    ).all()
    return [(user, dept) for user, dept in rows if user.has("official")]


def _official_label(user: User) -> str:
    return user.name + (" ★" if user.is_head else "")


def officials_by_department(locale: str):
    groups: dict[str, list] = {}
    for user, dept in _officials():
        groups.setdefault(dept.name(locale), []).append((str(user.id), _official_label(user)))
    return groups


def lead_choices(ticket: Ticket, locale: str) -> dict:
    """The accept form's leads, by department: the category's department first, then the firm's
    liaison (when the liaison is an official) at the top of theirs; every option names its
    department, which static/app.js copies into the department field."""
    liaison = ticket.firm.liaison
    if liaison is not None and not (liaison.has("official") and liaison.department_id):
        liaison = None      # usually a leader, not a lead: the page names them beside the form
    suggested_dept = ticket.category.department_id
    first = [suggested_dept] + ([liaison.department_id] if liaison else [])
    rank = {dept_id: i for i, dept_id in reversed(list(enumerate(first)))}
    groups: dict[int, tuple[str, list]] = {}
    rows = sorted(_officials(), key=lambda r: (rank.get(r[1].id, len(first)), r[1].id,
                                                      not (liaison and r[0].id == liaison.id)))
    for user, dept in rows:
        name = dept.name(locale)
        if dept.id == suggested_dept:
            name = _("%(department)s (the category’s department)", department=name)
        label = _official_label(user)
        if liaison and user.id == liaison.id:
            label = _("%(name)s (the firm’s liaison)", name=label)
        groups.setdefault(dept.id, (name, []))[1].append((str(user.id), label, {"data-department": str(dept.id)}))
    return {name: options for name, options in groups.values()}


def build_forms(ticket: Ticket, actions: list[str], locale: str, posted=None, errors=None) -> dict:
    """One form per action; `posted` (action, form) is a refused form, kept as typed, with each
    error beside its field."""
    forms = {}
    depts = db.session.scalars(db.select(Department).order_by(Department.id)).all()
    dept_choices = [(str(d.id), d.name(locale)) for d in depts]
    officials = None
    for action in actions:
        kept = posted is not None and posted[0] == action
        form = posted[1] if kept else FORMS[action](formdata=None, prefix=action)
        form.version.data = ticket.version
        if action in ("request_transfer", "transfer"):
            officials = officials or officials_by_department(locale)
        if action == "accept":
            form.department_id.choices = dept_choices
            if not kept:
                form.department_id.data = str(ticket.category.department_id)
            form.lead_id.choices = {"": [("", _("— choose —"))], **lead_choices(ticket, locale)}
            form.lead_id.render_kw = {"data-sets-department": form.department_id.id}
        elif action == "request_transfer":
            form.to_department_id.choices = dept_choices
            form.to_lead_id.choices = {"": [("", _("— none —"))], **officials}
        elif action == "transfer":
            form.lead_id.choices = {"": [("", _("— as requested —"))], **officials}
        elif action in ("explain_notice", "conclude_notice"):
            form.notice_id.choices = notice_choices(ticket, action, current_user)
        elif action == "propose_exclusion":
            form.feedback_id.choices = reviews.feedback_choices(ticket)
        elif action == "decide_exclusion":
            form.review_id.choices = reviews.review_choices(ticket)
        if kept:
            for name, message in (errors or {}).items():
                if name in form._fields and name not in ("csrf_token", "version") and not form[name].errors:
                    form[name].errors = [str(message)]
        forms[action] = form
    return forms


def render_ticket(ticket: Ticket, status: int = 200, errors: dict | None = None, posted=None):
    """The ticket page; after a refused post, `posted` is (action, form) to show again as typed."""
    locale = str(get_locale())
    actions = allowed_actions(current_user, ticket)
    visible = visibilities_for(current_user, ticket)
    staff_view = "internal" in visible
    atts = db.session.scalars(db.select(Attachment).filter_by(ticket_id=ticket.id).order_by(Attachment.id)).all()
    if not staff_view:
        atts = [a for a in atts if a.public]
    entries = timeline(ticket, current_user)
    ctx = dict(
        ticket=ticket,
        actions=actions,
        forms=build_forms(ticket, actions, locale, posted, errors),
        posted_action=posted[0] if posted else None,
        entries=entries,
        # Shown again above the rating form, so that the firm reads the outcome before it rates.
        outcome=next((e for e in reversed(entries) if e.action == "handle"), None)
        if ticket.state == "handled" else None,
        attachments=atts,
        staff_view=staff_view,
        errors=errors or {},
        open_question=db.session.scalar(
            db.select(Question).filter_by(ticket_id=ticket.id, answered_at=None).limit(1)),
        pending_extension=db.session.scalar(
            db.select(ExtensionRequest).filter_by(ticket_id=ticket.id, status="pending").limit(1)),
        pending_transfer=db.session.scalar(
            db.select(TransferRequest).filter_by(ticket_id=ticket.id, status="pending").limit(1)),
        liaison=ticket.firm.liaison,
        # Supervision notices are internal: staff read them, the firm never does.
        notices=notices_of(ticket) if staff_view else [],
        rating_reviews=reviews.reviews_of(ticket) if staff_view else [],
    )
    if may_see_chain(current_user):
        ctx["chain_breaks"] = shown_verdict(ticket)
    return render_template("ticket/view.html", **ctx), status


@bp.route("/<number>")
def view(number: str):
    return render_ticket(load_visible(number))


@bp.route("/<number>/do/<action>", methods=["POST"])
def act(number: str, action: str):
    """Run one lifecycle action from the ticket page's form for it."""
    ticket = load_visible(number)
    if action not in FORMS:
        abort(404)
    # Whether this user may take the action is asked before the form is read: a refusal is a
    # refusal whatever was typed (perform asks again, for every other caller).
    if target_state(ticket.state, action) is not None and not may(current_user, action, ticket):
        return render_ticket(ticket, 403, {"form": _("You may not do this on this request.")})
    form = FORMS[action](prefix=action)
    for name in ("department_id", "lead_id", "to_department_id", "to_lead_id", "notice_id", "feedback_id",
                 "review_id"):
        if hasattr(form, name):
            getattr(form, name).choices = []
    if not form.validate():
        errors = {f"{name}": f"{getattr(form, name).label.text}: {msgs[0]}"
                  for name, msgs in form.errors.items() if name != "csrf_token"}
        if "csrf_token" in form.errors:
            errors["csrf_token"] = _("The form expired. Please reload the page and try again.")
        return render_ticket(ticket, 400, errors, (action, form))
    data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "version", "attachments")}
    data["uploads"] = uploads_from(f"{action}-attachments")
    version = form.version.data or None
    try:
        take_form_action(ticket, action, current_user, version, **data)
    except ServiceError as e:
        db.session.expire_all()
        ticket = load_visible(number)
        return render_ticket(ticket, e.status, e.errors or {"form": e.message}, (action, form))
    flash(_("Done: %(action)s.", action=ACTIONS[action].label))
    if not can_view(current_user, ticket):
        return redirect(url_for("desk.queue"))
    return redirect(url_for("ticket.view", number=ticket.number))


@bp.route("/<number>/attachments/<int:attachment_id>")
def attachment(number: str, attachment_id: int):
    ticket = load_visible(number)
    a = db.session.get(Attachment, attachment_id)
    if a is None or a.ticket_id != ticket.id:
        abort(404)
    if not a.public and "internal" not in visibilities_for(current_user, ticket):
        abort(404)
    path = att.path_of(current_app.config["UPLOAD_DIR"], a.stored_name)
    if not os.path.isfile(path):
        current_app.logger.error("attachment %s of %s is missing on disk", a.id, ticket.number)
        abort(404)
    resp = send_file(path, mimetype=a.content_type, as_attachment=True, max_age=0)
    # Saved under the detected type's extension, whatever the uploaded name said (poly.html -> poly.pdf).
    resp.headers.set("Content-Disposition", "attachment",
                     **att.content_disposition(att.download_name(a.filename, a.content_type)))
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
