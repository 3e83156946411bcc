"""Who is told what: notifications written to the outbox in the caller's transaction.

Nothing here talks to Redis or a mail server. The relay publishes the rows
after the commit, so a crash or a Redis outage between the two loses nothing.
"""
from __future__ import annotations

from ..audit import canonical_json
from ..extensions import db
from ..models import Notification, OutboxMessage, Ticket, User, UserRole
from ..timeutil import now

# Each user gets every notification in the in-app inbox, and by e-mail when
# they have an address. SMS or DingTalk work notices would be further names here.
def channels_for(user: User) -> list[str]:
    out = ["inapp"]
    if user.email:
        out.append("email")
    return out


def users_with_role(role: str) -> list[User]:
    return list(db.session.scalars(
        db.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True)).order_by(User.id)))


def firm_users(ticket: Ticket) -> list[User]:
    return list(db.session.scalars(
        db.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "firm", User.firm_id == ticket.firm_id, User.active.is_(True))
        .order_by(User.id)))


def heads_of(department_id: int | None) -> list[User]:
    if department_id is None:
        return []
    return list(db.session.scalars(
        db.select(User).where(User.department_id == department_id, User.is_head.is_(True),
                              User.active.is_(True)).order_by(User.id)))


def lead_of(ticket: Ticket) -> list[User]:
    return [ticket.lead] if ticket.lead is not None and ticket.lead.active else []


def liaison_of(ticket: Ticket) -> list[User]:
    liaison = ticket.firm.liaison
    return [liaison] if liaison is not None and liaison.active else []


def unique(users) -> list[User]:
    seen, out = set(), []
    for u in users:
        if u.id not in seen:
            seen.add(u.id)
            out.append(u)
    return out


def enqueue(users, key: str, kind: str, ticket: Ticket | None, params: dict, step_id: int | None = None,
            skip_user_id: int | None = None) -> int:
    """Write one outbox row per user and channel; returns how many users were told."""
    told = 0
    for user in unique(users):
        if user.id == skip_user_id:
            continue
        for channel in channels_for(user):
            db.session.add(OutboxMessage(
                key=f"{key}:u{user.id}", channel=channel, user_id=user.id,
                ticket_id=ticket.id if ticket else None, step_id=step_id, kind=kind,
                params=canonical_json(params)))
        told += 1
    return told


def mark_read(ticket: Ticket, user: User | None) -> int:
    """Mark `user`'s unread notifications of `ticket` read: acting on the ticket answers them."""
    if user is None:
        return 0
    return db.session.execute(
        db.update(Notification)
        .where(Notification.user_id == user.id, Notification.ticket_id == ticket.id, Notification.read_at.is_(None))
        .values(read_at=now())).rowcount


def acted_since(ticket_id: int | None, user_id: int, since) -> object | None:
    """When `user_id` last acted on the ticket after `since` (None: not since then).

    A notification delivered after its reader already acted on the ticket (the worker was
    slow, the demo acted at once) arrives read, as it would have been marked by that act.
    """
    if ticket_id is None:
        return None
    from ..models import Event

    return db.session.scalar(db.select(db.func.max(Event.at)).where(
        Event.ticket_id == ticket_id, Event.actor_id == user_id, Event.at > since))


def _base(ticket: Ticket) -> dict:
    return {"number": ticket.number, "title": ticket.title, "firm": ticket.firm.name}


# action -> (kind, function giving the recipients)
ON_ACTION = {
    "file": ("filed", lambda t: users_with_role("coordinator")),
    "accept": ("accepted", lambda t: lead_of(t) + firm_users(t)),
    "reject": ("closed", firm_users),
    "handle": ("handled", firm_users),
    "rework": ("rework", lambda t: lead_of(t) + heads_of(t.department_id)),
    "feedback": ("fed_back", lead_of),
    "expire": ("closed", lambda t: firm_users(t) + lead_of(t)),
    "force_close": ("closed", lambda t: firm_users(t) + lead_of(t)),
    "ask": ("question", firm_users),
    "reply": ("reply", lead_of),
    # A new request goes to exactly those who may decide it (permissions.deciders).
    "request_extension": ("extension_requested", None),
    "decide_extension": ("extension_decided", lambda t: lead_of(t) + firm_users(t)),
    "request_transfer": ("transfer_requested", None),
    "transfer": ("transferred", lambda t: lead_of(t) + firm_users(t)),
    "deny_transfer": ("transfer_denied", lead_of),
    "meeting_decision": ("meeting_decision", lead_of),
    # Supervision notices: issue -> the official and the heads copied; explain -> the issuing
    # inspector; conclude -> the official (services/notices.py reads the notice of the event).
    "issue_notice": ("notice_issued", lambda t: _notice_people(t, "issue_notice")),
    "explain_notice": ("notice_explained", lambda t: _notice_people(t, "explain_notice")),
    "conclude_notice": ("notice_concluded", lambda t: _notice_people(t, "conclude_notice")),
    # A rating review: the proposal to the inspectors, the decision to whoever proposed it.
    "propose_exclusion": ("review_proposed", lambda t: users_with_role("inspector")),
    "decide_exclusion": ("review_decided", lambda t: _review_proposer(t)),
}


def _review_proposer(ticket: Ticket) -> list[User]:
    from .reviews import proposer_of_last_decision

    return proposer_of_last_decision(ticket)


def _notice_people(ticket: Ticket, action: str) -> list[User]:
    from .notices import action_recipients

    return action_recipients(ticket, action)


def on_action(ticket: Ticket, action: str, actor_id: int | None) -> int:
    """Notify about the event just appended for `action` (the ticket's last event)."""
    entry = ON_ACTION.get(action)
    if entry is None:
        return 0
    kind, who = entry
    params = _base(ticket) | {"state": ticket.state, "round": ticket.round}
    if ticket.lead is not None:
        params["lead"] = ticket.lead.name
    if action in ("request_extension", "request_transfer"):
        from ..models import ExtensionRequest, TransferRequest
        from ..permissions import deciders

        model = ExtensionRequest if action == "request_extension" else TransferRequest
        req = db.session.scalar(db.select(model).filter_by(ticket_id=ticket.id, status="pending")
                                .order_by(model.id.desc()).limit(1))
        users = deciders(req) if req is not None else []
    elif action == "decide_extension":
        from ..models import ExtensionRequest

        req = db.session.scalar(db.select(ExtensionRequest).filter_by(ticket_id=ticket.id)
                                .order_by(ExtensionRequest.id.desc()).limit(1))
        params["approved"] = req is not None and req.status == "approved"
        users = lead_of(ticket) + (firm_users(ticket) if params["approved"] else [])
    else:
        users = who(ticket)
    if kind.startswith("notice_"):
        from .notices import message_params

        params |= message_params(ticket)
    key = f"ev:{ticket.id}:{ticket.event_count}"
    told = enqueue(users, key, kind, ticket, params, skip_user_id=actor_id)
    if action == "meeting_decision" and _last_event(ticket) == "extension_approved":
        # A new due date set at the meeting is an approved extension: the firm learns the date
        # as after any other (the meeting's decision itself stays internal).
        told += enqueue(firm_users(ticket), f"{key}:extension", "extension_decided", ticket,
                        params | {"approved": True}, skip_user_id=actor_id)
    return told


def _last_event(ticket: Ticket) -> str | None:
    from ..models import Event

    return db.session.scalar(db.select(Event.action).filter_by(ticket_id=ticket.id, seq=ticket.event_count))
