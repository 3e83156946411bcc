"""Supervision notices (督办单): issue, explain, conclude.

The three handlers below run inside `services.actions.perform`, the one entry
point that changes a ticket: they only add to the record (never a change of
state), each step an internal event. Issuing starts the notice's explanation
clock, a Clock row of kind "explanation" that the sweep ladders like any other;
explaining stops it. The clock is not mirrored onto the ticket: the ticket's
own clock (accept, handle or feedback) stays the one its lists show.
"""
from __future__ import annotations

import json

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from ..audit import append_event, canonical_json, format_time
from ..extensions import db
from ..models import CONCLUSIONS, Clock, NoticeCounter, SupervisionNotice, Ticket, User
from ..permissions import may_explain
from ..timeutil import now, to_local
from ..workdays import WorkCalendar
from . import notify
from .common import parse_id, raise_if, require_choice, require_text
from .errors import Refused
from .numbers import take

TEXT_MAX = 5000
NOTICE_ACTIONS = ("issue_notice", "explain_notice", "conclude_notice")


def next_notice_number(year: int) -> str:
    """DB-2026-0001, from its own yearly counter."""
    return f"DB-{year}-{take(NoticeCounter, year):04d}"


def notices_of(ticket: Ticket) -> list[SupervisionNotice]:
    return list(db.session.scalars(
        db.select(SupervisionNotice).filter_by(ticket_id=ticket.id).order_by(SupervisionNotice.seq)))


def by_number(number: str) -> SupervisionNotice | None:
    return db.session.scalar(db.select(SupervisionNotice).filter_by(number=number))


def notice_choices(ticket: Ticket, action: str, user: User) -> list[tuple[str, str]]:
    """The notices `user` may explain (or conclude) on `ticket`: a form's choices."""
    if action == "explain_notice":
        rows = [n for n in notices_of(ticket) if n.status == "issued" and may_explain(user, n)]
    else:
        rows = [n for n in notices_of(ticket) if n.status == "explained"]
    return [(str(n.id), n.number) for n in rows]


def _active(*users) -> list[User]:
    return [u for u in users if u is not None and u.active]


def _details(notice: SupervisionNotice) -> dict:
    return {"notice_id": notice.id, "notice": notice.number, "seq": notice.seq}


def _pick(ticket: Ticket, data: dict, status: str, allowed) -> SupervisionNotice:
    """The notice named by data["notice_id"], or the only one of `status` this actor may act on."""
    wanted = parse_id(data.get("notice_id"))
    if wanted is not None:
        notice = db.session.get(SupervisionNotice, wanted)
        if notice is None or notice.ticket_id != ticket.id:
            raise Refused(_l("There is no such supervision notice on this request."))
        if notice.status != status:
            raise Refused(_l("Supervision notice %(n)s cannot be answered or concluded now.", n=notice.number))
        if not allowed(notice):
            raise Refused(_l("You may not do this on this request."))
        return notice
    candidates = [n for n in db.session.scalars(
        db.select(SupervisionNotice).filter_by(ticket_id=ticket.id, status=status)
        .order_by(SupervisionNotice.seq)) if allowed(n)]
    if len(candidates) != 1:
        raise_if({"notice_id": _l("Please choose the supervision notice.")})
    return candidates[0]


# --- the handlers (called by perform; the caller commits) -------------------------------


def issue(ticket: Ticket, actor: User, data: dict, files) -> SupervisionNotice:
    errors: dict = {}
    reason = require_text(errors, "reason", data.get("reason"), _l("Reason"), TEXT_MAX)
    raise_if(errors)
    official = ticket.lead
    heads = notify.heads_of(ticket.department_id)
    at = now()
    seq = (db.session.scalar(db.select(func.max(SupervisionNotice.seq)).filter_by(ticket_id=ticket.id)) or 0) + 1
    notice = SupervisionNotice(
        number=next_notice_number(to_local(at).year), ticket_id=ticket.id, seq=seq, issued_by_id=actor.id,
        official_id=official.id, department_id=ticket.department_id,
        heads_copied=canonical_json([h.id for h in heads]), reason=reason, issued_at=at, status="issued")
    db.session.add(notice)
    db.session.flush()
    clock = _start_explanation_clock(ticket, notice, at)
    append_event(ticket, actor.id, "issue_notice", visibility="internal", details=_details(notice) | {
        "official_id": official.id, "official": official.name, "department_id": ticket.department_id,
        "heads": [h.id for h in heads], "reason": reason, "due": format_time(clock.due_at),
        "limit_days": clock.limit_days,
    })
    return notice


def _start_explanation_clock(ticket: Ticket, notice: SupervisionNotice, at) -> Clock:
    limit = int(current_app.config.get("EXPLANATION_LIMIT_DAYS", 2))
    d = WorkCalendar.load().deadline(at, limit)
    clock = Clock(ticket_id=ticket.id, kind="explanation", round=notice.seq, notice_id=notice.id, started_at=at,
                  limit_days=limit, yellow_at=d.yellow_at, due_at=d.due_at, red3_at=d.red3_at,
                  original_due_at=d.due_at, deadline_version=1, next_step_at=d.yellow_at)
    db.session.add(clock)
    db.session.flush()
    return clock


def explain(ticket: Ticket, actor: User, data: dict, files) -> SupervisionNotice:
    notice = _pick(ticket, data, "issued", lambda n: may_explain(actor, n))
    errors: dict = {}
    text = require_text(errors, "explanation", data.get("explanation"), _l("Explanation"), TEXT_MAX)
    raise_if(errors)
    at = now()
    notice.explanation, notice.explained_by_id, notice.explained_at = text, actor.id, at
    notice.status = "explained"
    clock = db.session.scalar(db.select(Clock).filter_by(notice_id=notice.id, kind="explanation"))
    late = False
    if clock is not None and clock.stopped_at is None:
        clock.stopped_at, clock.next_step_at = at, None
        late = at > clock.due_at
    append_event(ticket, actor.id, "explain_notice", visibility="internal",
                 details=_details(notice) | {"explanation": text, "late": late})
    return notice


def conclude(ticket: Ticket, actor: User, data: dict, files) -> SupervisionNotice:
    notice = _pick(ticket, data, "explained", lambda n: actor.has("inspector"))
    errors: dict = {}
    conclusion = require_choice(errors, "conclusion", data.get("conclusion"), CONCLUSIONS, _l("conclusion"))
    comment = require_text(errors, "comment", data.get("comment"), _l("Comment"), TEXT_MAX)
    raise_if(errors)
    notice.conclusion, notice.conclusion_comment = conclusion, comment
    notice.concluded_by_id, notice.concluded_at, notice.status = actor.id, now(), "concluded"
    append_event(ticket, actor.id, "conclude_notice", visibility="internal",
                 details=_details(notice) | {"conclusion": conclusion, "comment": comment})
    return notice


# --- the inspectors' list -------------------------------------------------------------------

# The list's filters: the three statuses, and the notices whose explanation is overdue now.
LIST_FILTERS = ("issued", "explained", "concluded", "overdue")


def _listed(stmt, which: str, at):
    if which == "overdue":
        # Still unanswered past the explanation clock's due time: a range on ix_clocks_open_due.
        return stmt.join(Clock, Clock.notice_id == SupervisionNotice.id).where(
            Clock.kind == "explanation", Clock.stopped_at.is_(None), Clock.due_at <= at)
    if which:
        return stmt.where(SupervisionNotice.status == which)
    return stmt


def list_page(which: str, before: int | None, size: int, at=None) -> tuple[list[SupervisionNotice], int | None]:
    """One page of the notices under a filter of LIST_FILTERS ("": all), newest first, and the next cursor."""
    stmt = _listed(db.select(SupervisionNotice), which, at or now()).options(
        selectinload(SupervisionNotice.clock), selectinload(SupervisionNotice.ticket),
        selectinload(SupervisionNotice.official), selectinload(SupervisionNotice.issued_by))
    if before:
        stmt = stmt.where(SupervisionNotice.id < before)
    rows = db.session.scalars(stmt.order_by(SupervisionNotice.id.desc()).limit(size + 1)).all()
    return rows[:size], (rows[size - 1].id if len(rows) > size else None)


def list_counts(at=None) -> dict[str, int]:
    """How many notices each filter of LIST_FILTERS holds, and "" for all of them."""
    at = at or now()
    by_status = dict(db.session.execute(
        db.select(SupervisionNotice.status, func.count()).group_by(SupervisionNotice.status)).all())
    out = {s: by_status.get(s, 0) for s in LIST_FILTERS if s != "overdue"}
    out["overdue"] = db.session.scalar(_listed(db.select(func.count(SupervisionNotice.id)), "overdue", at)) or 0
    out[""] = sum(by_status.values())
    return out


# --- who hears of it -----------------------------------------------------------------------


def last_notice(ticket: Ticket) -> SupervisionNotice | None:
    """The notice of the ticket's last event (the one perform just appended)."""
    from ..models import Event

    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=ticket.id, seq=ticket.event_count))
    notice_id = json.loads(ev.details).get("notice_id") if ev is not None else None
    return db.session.get(SupervisionNotice, notice_id) if notice_id else None


def action_recipients(ticket: Ticket, action: str) -> list[User]:
    """issue: the official and the heads copied; explain: the issuing inspector; conclude: the official."""
    notice = last_notice(ticket)
    if notice is None:
        return []
    if action == "issue_notice":
        return _active(notice.official, *notice.heads)
    if action == "explain_notice":
        return _active(notice.issued_by)
    return _active(notice.official)


def message_params(ticket: Ticket) -> dict:
    notice = last_notice(ticket)
    if notice is None:
        return {}
    out = {"notice": notice.number, "notice_status": notice.status}
    if notice.due_at is not None:
        # The start too: the message says whether the due time is provisional when it is read.
        out["due"], out["start"] = format_time(notice.due_at), format_time(notice.clock.started_at)
    if notice.conclusion:
        out["conclusion"] = notice.conclusion
    return out


def explanation_recipients(clock: Clock | None, level: str) -> list[User]:
    """DESIGN.md, Clocks, explanation: yellow the official; red the official, the heads copied and
    the issuing inspector; red for 3 days the inspectors."""
    notice = db.session.get(SupervisionNotice, clock.notice_id) if clock is not None and clock.notice_id else None
    if notice is None:
        return []
    if level == "yellow":
        return _active(notice.official)
    if level == "red":
        return _active(notice.official, *notice.heads, notice.issued_by)
    return notify.users_with_role("inspector")
