"""The one entry point that changes a ticket: `perform`.

It checks the optimistic-lock version, the lifecycle table and the permission
function, then runs the action's handler, which validates its input before it
writes anything. One commit at the end; on any error, nothing is kept.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..audit import append_event, format_time
from ..extensions import db
from ..lifecycle import ACTIONS, target_state
from ..models import Feedback, Handling, Question, Ticket, User
from ..permissions import _open_question, may
from ..timeutil import local_today, now, to_local
from ..views_common import fmt_due
from . import approvals, clocks, notices, notify, reviews
from .approvals import lead_and_department
from .common import SavedFiles, check_uploads, raise_if, require_choice, require_text
from .errors import InvalidInput, Refused, StaleTicket
from .meeting_decision import meeting_decision
from .transitions import move, record

OUTCOMES = ("resolved", "partly", "unresolved")
CONTACT_METHODS = ("phone", "visit", "meeting", "letter", "platform", "sms")
SOLVED = ("yes", "partly", "no")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
TEXT_MAX = 5000


# --- handlers: validate first, then write; the caller commits -----------------


def _accept(ticket, actor, data, files):
    errors: dict = {}
    lead, dept = lead_and_department(errors, data.get("lead_id"), data.get("department_id"))
    note = require_text(errors, "note", data.get("note"), _l("Note"), TEXT_MAX, min_len=0)
    raise_if(errors)
    clocks.decide_accept(ticket, actor)
    ticket.lead_id, ticket.department_id, ticket.round = lead.id, dept.id, 1
    move(ticket, actor, "accept", "public", {
        "lead_id": lead.id, "lead": lead.name, "department_id": dept.id,
        "department_zh": dept.name_zh, "department_en": dept.name_en, "note": note,
    })
    clock = clocks.start_clock(ticket, "handle")
    ticket.lead, ticket.department = lead, dept
    _record_due(ticket, clock)


def _record_due(ticket, clock):
    # The deadline is part of the public record, shown to the firm.
    ev_details = {"clock": clock.kind, "round": clock.round, "due": format_time(clock.due_at),
                  "limit_days": clock.limit_days}
    append_event(ticket, None, "clock_started", visibility="public", details=ev_details)


def _reject(ticket, actor, data, files):
    errors: dict = {}
    reason = require_text(errors, "reason", data.get("reason"), _l("Reason"), TEXT_MAX)
    raise_if(errors)
    clocks.decide_accept(ticket, actor)
    move(ticket, actor, "reject", "public", {"reason": reason})


def _withdraw(ticket, actor, data, files):
    errors: dict = {}
    reason = require_text(errors, "reason", data.get("reason"), _l("Reason"), TEXT_MAX, min_len=0)
    raise_if(errors)
    clocks.stop_clock(ticket, "accept")
    move(ticket, actor, "withdraw", "public", {"reason": reason})


def _handle(ticket, actor, data, files):
    errors: dict = {}
    outcome = require_choice(errors, "outcome", data.get("outcome"), OUTCOMES, _l("outcome"))
    done = require_text(errors, "what_was_done", data.get("what_was_done"), _l("What was done"), TEXT_MAX)
    why = require_text(errors, "explanation", data.get("explanation"), _l("Explanation"), TEXT_MAX,
                       min_len=0 if outcome == "resolved" else 1)
    method = require_choice(errors, "contact_method", data.get("contact_method"), CONTACT_METHODS,
                            _l("contact method"))
    contacted = data.get("contacted_on")
    if isinstance(contacted, str):
        try:
            contacted = date.fromisoformat(contacted)
        except ValueError:
            contacted = None
    today = local_today()
    if not isinstance(contacted, date) or contacted > today or contacted < to_local(ticket.created_at).date():
        errors["contacted_on"] = _l("Please give the date the firm was contacted (not in the future).")
    checked = check_uploads(errors, data.get("uploads") or [])
    raise_if(errors)
    clocks.stop_clock(ticket, "handle")
    db.session.add(Handling(ticket_id=ticket.id, round=ticket.round, outcome=outcome, what_was_done=done,
                            contact_method=method, contacted_on=contacted, handled_by_id=actor.id,
                            department_id=ticket.department_id, handled_at=now()))
    saved = files.save(ticket, checked, actor.id)
    move(ticket, actor, "handle", "public", {
        "round": ticket.round, "outcome": outcome, "what_was_done": done, "explanation": why,
        "contact_method": method, "contacted_on": contacted.isoformat(), "attachments": saved,
    })
    clocks.start_clock(ticket, "feedback")


def _feedback_window_ended(ticket) -> tuple[bool, object]:
    """Whether the feedback clock's due time has come (the window is [start, due)), and that time."""
    clock = clocks.open_clock(ticket, "feedback")
    if clock is None:
        return False, None
    return now() >= clock.due_at, clock.due_at


def _feedback_input(ticket, data, rework: bool):
    # The window first: after it, no input would make the feedback acceptable.
    ended, due = _feedback_window_ended(ticket)
    if ended:
        raise Refused(_l("The feedback window closed at %(due)s: the request is closing as unconfirmed, "
                         "and feedback can no longer be given.", due=fmt_due(due)))
    errors: dict = {}
    solved = require_choice(errors, "solved", data.get("solved"), SOLVED, _l("answer to “solved?”"))
    rating = data.get("rating")
    allowed = ("dissatisfied",) if rework else ("satisfied", "basically_satisfied")
    require_choice(errors, "rating", rating, allowed, _l("rating"))
    comment = require_text(errors, "comment", data.get("comment"), _l("Reason"), TEXT_MAX,
                           min_len=1 if rework else 0)
    raise_if(errors)
    return solved, rating, comment


def _feedback(ticket, actor, data, files):
    solved, rating, comment = _feedback_input(ticket, data, rework=False)
    clocks.stop_clock(ticket, "feedback")
    db.session.add(Feedback(ticket_id=ticket.id, round=ticket.round, solved=solved, rating=rating,
                            comment=comment, given_by_id=actor.id, given_at=now()))
    ticket.solved, ticket.rating = solved, rating
    move(ticket, actor, "feedback", "public",
         {"round": ticket.round, "solved": solved, "rating": rating, "comment": comment})


def _rework(ticket, actor, data, files):
    solved, rating, comment = _feedback_input(ticket, data, rework=True)
    clocks.stop_clock(ticket, "feedback")
    db.session.add(Feedback(ticket_id=ticket.id, round=ticket.round, solved=solved, rating=rating,
                            comment=comment, given_by_id=actor.id, given_at=now()))
    ticket.solved, ticket.rating = solved, rating
    ticket.round += 1
    move(ticket, actor, "rework", "public",
         {"round": ticket.round, "solved": solved, "rating": rating, "comment": comment})
    _record_due(ticket, clocks.start_clock(ticket, "handle"))


def _expire(ticket, actor, data, files):
    ended, due = _feedback_window_ended(ticket)
    if not ended and due is not None:
        raise Refused(_l("The feedback window is open until %(due)s; the request can be closed as unconfirmed "
                         "only after that.", due=fmt_due(due)))
    clocks.stop_clock(ticket, "feedback")
    move(ticket, None, "expire", "public", {"round": ticket.round})


def _force_close(ticket, actor, data, files):
    errors: dict = {}
    reason = require_text(errors, "reason", data.get("reason"), _l("Reason"), TEXT_MAX)
    raise_if(errors)
    clocks.stop_clock(ticket)
    move(ticket, actor, "force_close", "public", {"reason": reason})


def _ask(ticket, actor, data, files):
    errors: dict = {}
    text = require_text(errors, "text", data.get("text"), _l("Question"), TEXT_MAX)
    raise_if(errors)
    q = Question(ticket_id=ticket.id, text=text, asked_by_id=actor.id, asked_at=now())
    db.session.add(q)
    db.session.flush()
    record(ticket, actor, "ask", "public", {"question_id": q.id, "text": text})


def _reply(ticket, actor, data, files):
    errors: dict = {}
    text = require_text(errors, "text", data.get("text"), _l("Reply"), TEXT_MAX)
    checked = check_uploads(errors, data.get("uploads") or [])
    raise_if(errors)
    q = _open_question(ticket)
    q.answer, q.answered_by_id, q.answered_at = text, actor.id, now()
    saved = files.save(ticket, checked, actor.id)
    record(ticket, actor, "reply", "public", {"question_id": q.id, "text": text, "attachments": saved})


def _note(ticket, actor, data, files):
    errors: dict = {}
    text = require_text(errors, "text", data.get("text"), _l("Note"), TEXT_MAX)
    visibility = require_choice(errors, "visibility", data.get("visibility"), ("public", "internal"),
                                _l("visibility"))
    checked = check_uploads(errors, data.get("uploads") or [])
    raise_if(errors)
    saved = files.save(ticket, checked, actor.id, public=visibility == "public")
    record(ticket, actor, "note", visibility, {"text": text, "attachments": saved})


def _inspector_note(ticket, actor, data, files):
    errors: dict = {}
    text = require_text(errors, "text", data.get("text"), _l("Note"), TEXT_MAX)
    raise_if(errors)
    record(ticket, actor, "inspector_note", "inspector", {"text": text})


HANDLERS = {
    "accept": _accept, "reject": _reject, "withdraw": _withdraw, "handle": _handle,
    "feedback": _feedback, "rework": _rework, "expire": _expire, "force_close": _force_close,
    "ask": _ask, "reply": _reply, "note": _note,
    # Extension and transfer requests: record-only but for the transfer, in services/approvals.py.
    "request_extension": approvals.request_extension, "decide_extension": approvals.decide_extension,
    "request_transfer": approvals.request_transfer, "transfer": approvals.transfer,
    "deny_transfer": approvals.deny_transfer,
    "inspector_note": _inspector_note,
    # Supervision notices: record-only, in services/notices.py.
    "issue_notice": notices.issue, "explain_notice": notices.explain, "conclude_notice": notices.conclude,
    # The review of a dissatisfied rating: record-only, in services/reviews.py.
    "propose_exclusion": reviews.propose, "decide_exclusion": reviews.decide,
}
HANDLERS["meeting_decision"] = meeting_decision
assert set(HANDLERS) == set(ACTIONS), "every lifecycle action has exactly one handler"


def perform(ticket: Ticket, action: str, actor: User | None, version: int | None = None, **data) -> Ticket:
    """Take `action` on `ticket` as `actor` (None: the worker), or raise and write nothing.

    `version` is the ticket version the user's form was built from; a different
    current version means someone else changed the ticket meanwhile.
    """
    if action not in ACTIONS:
        raise Refused(_l("Unknown action."))
    if version is not None:
        try:
            version = int(version)
        except (TypeError, ValueError):
            version = None if version == "" else -1  # a damaged form: treated as out of date
    if version is not None and version != ticket.version:
        raise StaleTicket(_l("This request was changed by someone else meanwhile. The page now shows "
                             "its current state; please check and try again."))
    if target_state(ticket.state, action) is None:
        raise Refused(_l("This cannot be done while the request is “%(state)s”.",
                         state=_state_label(ticket.state)))
    if not may(actor, action, ticket):
        raise Refused(_l("You may not do this on this request."))
    files = SavedFiles()
    try:
        HANDLERS[action](ticket, actor, data, files)
        # The notifications it owes go into the outbox in the same transaction; what the actor
        # was told of this ticket is answered by acting on it.
        notify.on_action(ticket, action, actor.id if actor else None)
        notify.mark_read(ticket, actor)
        db.session.commit()
    except (StaleDataError, IntegrityError):
        # Two people acting on one ticket at once: the version check, or the unique
        # (ticket, seq) of the record, stops the second; nothing of it is kept.
        db.session.rollback()
        files.discard()
        raise StaleTicket(_l("This request was changed by someone else meanwhile. Please check and try again."))
    except Exception:
        db.session.rollback()
        files.discard()
        raise
    return ticket


def record_feedback(ticket: Ticket, actor: User, version=None, **data) -> Ticket:
    """The firm's feedback: "dissatisfied" (with a reason) starts a new round, anything else closes."""
    action = "rework" if data.get("rating") == "dissatisfied" else "feedback"
    return perform(ticket, action, actor, version, **data)


def take_form_action(ticket: Ticket, action: str, actor: User, version=None, **data) -> Ticket:
    """An action as a ticket-page form (or an API call) names it: "feedback" with "dissatisfied" is a
    rework, "transfer" with "deny" denies the transfer; every other name is the lifecycle's own."""
    if action == "feedback":
        return record_feedback(ticket, actor, version, **data)
    if action == "transfer" and data.get("decision") == "deny":
        return perform(ticket, "deny_transfer", actor, version, **data)
    return perform(ticket, action, actor, version, **data)


def _state_label(state):
    from ..labels import label

    return label("state", state)


__all__ = ["perform", "record_feedback", "take_form_action", "InvalidInput", "Refused", "StaleTicket", "OUTCOMES",
           "CONTACT_METHODS", "SOLVED", "RATINGS"]
