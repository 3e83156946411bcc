"""Extension and transfer requests: asking, deciding, and the approvals inbox.

Who may decide a request is one rule, `permissions.may_decide` (four eyes: never the
requester; a head inside a department, else a coordinator). The handlers below are
run by `actions.perform`, which checks the lifecycle table and the permission
function first and commits after.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..audit import format_time
from ..extensions import db
from ..models import Department, ExtensionRequest, Ticket, TransferRequest, User
from ..permissions import _pending, active_heads, decision_department, may_decide
from ..timeutil import now
from . import clocks
from .common import parse_id, raise_if, require_choice, require_text
from .transitions import move, record

TEXT_MAX = 5000


def official_in(errors, lead_id, department_id) -> tuple[User | None, Department | None]:
    """The active official `lead_id` of the department `department_id`, or an error for the form."""
    dept = db.session.get(Department, parse_id(department_id)) if parse_id(department_id) else None
    lead = db.session.get(User, parse_id(lead_id)) if parse_id(lead_id) else None
    if dept is None:
        errors["department_id"] = _l("Please choose a department.")
    elif lead is None or not lead.active or not lead.has("official") or lead.department_id != dept.id:
        errors["lead_id"] = _l("Please choose an official of that department.")
    return lead, dept


def lead_and_department(errors, lead_id, department_id) -> tuple[User | None, Department | None]:
    """For accepting: the lead official, and the department, which follows the lead.

    static/app.js sets the department when a lead is chosen; when a browser without script
    posts a lead of another department, the lead's own department is taken (a lead works in
    their department, and the person is the deliberate choice). An unknown id is still refused.
    """
    lead = db.session.get(User, parse_id(lead_id)) if parse_id(lead_id) else None
    dept = db.session.get(Department, parse_id(department_id)) if parse_id(department_id) else None
    if dept is not None and lead is not None and lead.active and lead.has("official") and lead.department_id:
        department_id = lead.department_id
    return official_in(errors, lead_id, department_id)


def inbox(user: User) -> tuple[list[ExtensionRequest], list[TransferRequest]]:
    """The pending requests `user` may decide: exactly those `may_decide` allows."""
    found = []
    for model in (ExtensionRequest, TransferRequest):
        stmt = (db.select(model).join(Ticket, model.ticket_id == Ticket.id)
                .where(model.status == "pending", Ticket.state == "accepted")
                .options(selectinload(model.ticket), selectinload(model.requested_by)))
        if model is TransferRequest:
            stmt = stmt.options(selectinload(model.from_department), selectinload(model.to_department))
        if not user.has("coordinator"):
            # A head decides only inside their department; the rule below says which.
            dept_col = Ticket.department_id if model is ExtensionRequest else model.from_department_id
            stmt = stmt.where(dept_col == user.department_id)
        found.append(db.session.scalars(stmt.order_by(model.id)).all())
    # Who heads each department concerned, once for the whole list (not a query per request).
    heads = active_heads(decision_department(r) for rows in found for r in rows)
    ext, trans = ([r for r in rows if may_decide(user, r, heads)] for rows in found)
    return ext, trans


# --- extensions --------------------------------------------------------------------------


def request_extension(ticket, actor, data, files):
    errors: dict = {}
    days = data.get("days")
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 30:
        errors["days"] = _l("An extension is 1 to 30 working days.")
    reason = require_text(errors, "reason", data.get("reason"), _l("Reason"), TEXT_MAX)
    public_reason = require_text(errors, "public_reason", data.get("public_reason"),
                                 _l("Reason shown to the firm"), 500)
    raise_if(errors)
    req = ExtensionRequest(ticket_id=ticket.id, round=ticket.round, days=days, reason=reason,
                           public_reason=public_reason, requested_by_id=actor.id, requested_at=now())
    db.session.add(req)
    db.session.flush()
    record(ticket, actor, "request_extension", "internal",
           {"request_id": req.id, "days": days, "reason": reason, "public_reason": public_reason})


def extension_approved(ticket, actor, req: ExtensionRequest, clock, old_due, comment: str, **extra) -> None:
    """The public event of an approved extension (by a head, a coordinator or the weekly meeting)."""
    ticket.extension_count += 1
    record(ticket, actor, "extension_approved", "public", {
        "request_id": req.id, "days": req.days, "old_due": format_time(old_due),
        "new_due": format_time(clock.due_at), "deadline_version": clock.deadline_version,
        "public_reason": req.public_reason, "comment": comment, **extra,
    })


def decide_extension(ticket, actor, data, files):
    errors: dict = {}
    decision = require_choice(errors, "decision", data.get("decision"), ("approve", "deny"), _l("decision"))
    comment = require_text(errors, "comment", data.get("comment"), _l("Comment"), TEXT_MAX, min_len=0)
    raise_if(errors)
    req = _pending(ExtensionRequest, ticket)
    req.status = "approved" if decision == "approve" else "denied"
    req.decided_by_id, req.decided_at, req.comment = actor.id, now(), comment
    if decision == "approve":
        clock = clocks.open_clock(ticket, "handle")
        old_due = clock.due_at
        clocks.extend_clock(ticket, clock, req.days)
        extension_approved(ticket, actor, req, clock, old_due, comment)
    else:
        record(ticket, actor, "extension_denied", "internal", {"request_id": req.id, "comment": comment})


# --- transfers ---------------------------------------------------------------------------


def request_transfer(ticket, actor, data, files):
    errors: dict = {}
    dept = None
    if parse_id(data.get("to_department_id")):
        dept = db.session.get(Department, parse_id(data["to_department_id"]))
    if dept is None:
        errors["to_department_id"] = _l("Please choose a department.")
    lead = None
    if data.get("to_lead_id"):
        lead, _d = official_in(errors, data.get("to_lead_id"), data.get("to_department_id"))
    reason = require_text(errors, "reason", data.get("reason"), _l("Reason"), TEXT_MAX)
    if dept is not None and lead is None and dept.id == ticket.department_id:
        errors["to_lead_id"] = _l("A transfer inside the department names the new lead official.")
    if lead is not None and lead.id == ticket.lead_id:
        errors["to_lead_id"] = _l("The ticket already has this lead official.")
    raise_if(errors)
    req = TransferRequest(ticket_id=ticket.id, from_department_id=ticket.department_id,
                          from_lead_id=ticket.lead_id, to_department_id=dept.id,
                          to_lead_id=lead.id if lead else None, reason=reason,
                          requested_by_id=actor.id, requested_at=now())
    db.session.add(req)
    db.session.flush()
    record(ticket, actor, "request_transfer", "internal", {
        "request_id": req.id, "to_department_id": dept.id, "to_lead_id": req.to_lead_id, "reason": reason,
    })


def transfer(ticket, actor, data, files):
    """Approve the pending transfer: the ticket moves, the handle clock keeps running."""
    req = _pending(TransferRequest, ticket)
    errors: dict = {}
    comment = require_text(errors, "comment", data.get("comment"), _l("Comment"), TEXT_MAX, min_len=0)
    lead = req.to_lead
    if data.get("lead_id"):
        lead, _d = official_in(errors, data.get("lead_id"), req.to_department_id)
    elif lead is None:
        errors["lead_id"] = _l("Please choose the new lead official.")
    raise_if(errors)
    req.status, req.decided_by_id, req.decided_at, req.comment = "approved", actor.id, now(), comment
    frm_dept = ticket.department
    ticket.lead_id, ticket.department_id = lead.id, req.to_department_id
    ticket.transfer_count += 1
    move(ticket, actor, "transfer", "public", {
        "request_id": req.id, "from_department_id": frm_dept.id if frm_dept else None,
        "to_department_id": req.to_department_id, "department_zh": req.to_department.name_zh,
        "department_en": req.to_department.name_en, "lead_id": lead.id, "lead": lead.name,
        "reason": req.reason, "comment": comment,
    })
    ticket.lead, ticket.department = lead, req.to_department
    # The round passes to the new holder, unless it is already overdue (see clocks.hold_round).
    clocks.hold_round(ticket, clocks.open_clock(ticket, "handle"))


def deny_transfer(ticket, actor, data, files):
    errors: dict = {}
    comment = require_text(errors, "comment", data.get("comment"), _l("Comment"), TEXT_MAX)
    raise_if(errors)
    req = _pending(TransferRequest, ticket)
    req.status, req.decided_by_id, req.decided_at, req.comment = "denied", actor.id, now(), comment
    record(ticket, actor, "deny_transfer", "internal", {"request_id": req.id, "comment": comment})
