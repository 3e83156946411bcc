"""The one place of labels: every code a user may see (a state, an action, a rating, a channel...)
has its words here, in both languages (lazy strings, so each reader gets their own language).

`label(kind, code)` gives the words; `choices(kind)` gives (code, words) pairs for a form field in
the order of the kind; templates call `label(...)` (a Jinja global). A code with no label gives a
neutral "—" plus a warning in the log, never the code itself: tests/ crawl every page for codes.
"""
from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _p

log = logging.getLogger(__name__)


LABELS: dict[str, dict[str, object]] = {
    "outcome": {
        "resolved": _l("Resolved"),
        "partly": _l("Partly resolved"),
        "unresolved": _l("Cannot be resolved"),
    },
    "solved": {"yes": _l("Yes"), "partly": _l("Partly"), "no": _l("No")},
    "rating": {
        "satisfied": _l("Satisfied"),
        "basically_satisfied": _l("Basically satisfied"),
        "dissatisfied": _l("Dissatisfied"),
    },
    # How an official contacted the firm while handling.
    "contact_method": {
        "phone": _l("Phone"), "visit": _l("Visit"), "meeting": _l("Meeting"), "letter": _l("Letter"),
        "platform": _l("Platform"), "sms": _l("SMS"),
    },
    # Where a request came from (来源渠道); a message context, because the same English words are
    # different Chinese where a notification is sent (发送渠道).
    "channel": {
        "web": _p("source channel", "Web form"), "phone": _p("source channel", "Phone"),
        "visit": _p("source channel", "Visit"), "meeting": _p("source channel", "Meeting"),
        "letter": _p("source channel", "Letter"), "platform": _p("source channel", "Platform"),
    },
    "urgency": {"normal": _l("Normal"), "urgent": _l("Urgent"), "critical": _l("Critical")},
    # How a notification is sent (发送渠道).
    "delivery_channel": {"inapp": _p("delivery channel", "In-app message"), "email": _p("delivery channel", "E-mail"),
                         "webhook": _p("delivery channel", "Webhook")},
    # Where an outbox row stands (Admin → Webhooks, the delivery log).
    "delivery_status": {"pending": _l("Waiting"), "sent": _l("Delivered"), "failed": _l("Failed"),
                        "void": _l("Cancelled")},
    # One try of a delivery (Admin → Worker, a row's history).
    "attempt_outcome": {"sent": _l("Delivered"), "retry": _l("Failed, to be tried again"),
                        "failed": _l("Failed, no more tries"), "void": _l("Cancelled"),
                        "late": _l("Delivered after its lease ran out (possibly twice)"),
                        "requeued": _l("Queued again by an admin")},
    # A Celery queue (Admin → Worker): one per delivery channel, and the scheduled work.
    "worker_queue": {"celery": _l("Scheduled work"), "inapp": _p("delivery channel", "In-app message"),
                     "email": _p("delivery channel", "E-mail"), "webhook": _p("delivery channel", "Webhook")},
    "role": {
        "firm": _l("Firm"), "official": _l("Official"), "coordinator": _l("Coordinator"),
        "leader": _l("Leader"), "inspector": _l("Inspector"), "admin": _l("Admin"),
    },
    "level": {
        "green": _l("On time"), "yellow": _l("Due soon"), "red": _l("Overdue"),
        "red3": _l("Overdue 3+ working days"),
    },
    # The clocks of a ticket (DESIGN.md: Clocks), as a deadline is named.
    "clock": {
        "accept": _l("Acceptance deadline"), "handle": _l("Handling deadline"),
        "feedback": _l("Feedback deadline"), "explanation": _l("Explanation deadline"),
    },
    # The stages the rates measure, by the clock that times them.
    "stage": {"accept": _l("Acceptance"), "handle": _l("Handling"), "feedback": _l("Feedback")},
    # Every kind of entry of a ticket's record (Event.action): the ticket actions of the
    # lifecycle table, and what the system records on its own.
    "event": {
        "file": _l("Request filed"), "accept": _l("Accepted"), "reject": _l("Not accepted"),
        "withdraw": _l("Withdrawn by the firm"), "handle": _l("Outcome recorded"), "feedback": _l("Feedback"),
        "rework": _l("Dissatisfied: handled again"), "expire": _l("Closed: no feedback in time"),
        "force_close": _l("Closed by the service centre"), "ask": _l("Question to the firm"),
        "reply": _l("Reply from the firm"), "request_extension": _l("Extension requested"),
        "decide_extension": _l("Extension decided"), "extension_approved": _l("Deadline extended"),
        "extension_denied": _l("Extension denied"), "extension_lapsed": _l("Extension request lapsed"),
        "request_transfer": _l("Transfer requested"), "transfer": _l("Transferred"),
        "deny_transfer": _l("Transfer denied"), "transfer_lapsed": _l("Transfer request lapsed"),
        "note": _l("Note"), "inspector_note": _l("Inspector note"),
        "issue_notice": _l("Supervision notice issued"), "explain_notice": _l("Explanation to a supervision notice"),
        "conclude_notice": _l("Supervision notice concluded"), "meeting_decision": _l("Weekly meeting decision"),
        "propose_exclusion": _l("Exclusion of a rating proposed"),
        "decide_exclusion": _l("Exclusion of a rating decided"), "clock_started": _l("Deadline set"),
        "clock_recomputed": _l("Deadline recomputed after a calendar change"), "reminder": _l("Reminder"),
        "key_rotated": _l("The record’s key was changed"),
    },
    # A supervision notice (督办通知): where it stands, and how it was concluded.
    "notice_state": {"issued": _l("Awaiting explanation"), "explained": _l("Explained"), "concluded": _l("Concluded")},
    "conclusion": {
        "accepted": _l("Explanation accepted"), "talk": _l("Referred: a talk with the official"),
        "circulated_criticism": _l("Referred: circulated criticism"),
        "committee": _l("Referred: handed to the discipline committee"),
    },
    # The review (甄别) of a dissatisfied rating.
    "review": {
        "proposed": _l("Waiting for an inspector"), "confirmed": _l("Excluded from the figures"),
        "refused": _l("Refused: the rating counts"),
    },
    "export": {"ledger": _l("Ticket ledger"), "events": _l("Event log")},
    "export_format": {"csv": "CSV", "xlsx": "XLSX"},
    # The security log (Admin → Security).
    "security": {
        "login_ok": _l("Signed in"), "login_failed": _l("Sign-in failed"),
        "account_locked": _l("Account locked after failed sign-ins"),
        "address_locked": _l("Address locked after failed sign-ins"),
        "logout": _l("Signed out (every session ended)"), "idle_logout": _l("Signed out after inactivity"),
        "password_changed": _l("Password changed by the user"), "password_reset": _l("Password set by an admin"),
        "user_created": _l("User created"), "roles_changed": _l("Roles or unit changed"),
        "deactivated": _l("Deactivated"), "activated": _l("Activated"), "unlocked": _l("Unlocked by an admin"),
        "token_created": _l("API token created"), "token_revoked": _l("API token revoked"),
        "token_refused": _l("API token refused"),
    },
    "security_reason": {
        "token": _l("unknown, expired or revoked token"),
        "password": _l("wrong password"), "unknown": _l("no such account"), "inactive": _l("account deactivated"),
    },
    # What a sweep did with a reminder step (Admin → Worker).
    "step_result": {"raised": _l("raised"), "duplicate": _l("already raised"),
                    "skipped": _l("skipped: a higher level was raised at once"),
                    "stopped": _l("not raised: the clock had stopped"),
                    "expired": _l("closed without feedback")},
    # How the rates group their rows.
    "rate_by": {"department": _l("Department"), "official": _l("Official"), "category": _l("Category"),
                "week": _l("Week"), "month": _l("Month"), "total": _l("Total")},
    # The counts the rates show beside a measure (the parts of a numerator, what is counted apart).
    "rate_detail": {
        "extended_rounds": _l("Extended rounds"), "extended_on_time": _l("Extended rounds handled on time"),
        "rounds_open_late": _l("Rounds late and still open"),
        "rounds_closed_unhandled": _l("Rounds closed by force before an outcome"),
        "solved_partly": _l("Solved partly"), "rated_satisfied": _l("Rated satisfied"),
        "rated_basically": _l("Rated basically satisfied"), "dissatisfied_ratings": _l("Dissatisfied ratings"),
        "excluded_ratings": _l("Ratings excluded after review"),
    },
    # Who may read an event of the record.
    "visibility": {"public": _l("Public"), "internal": _l("Internal"), "inspector": _l("Inspectors only")},
    # A decision recorded in an event (an extension, a transfer, an exclusion).
    "decision": {"approve": _l("Approved"), "deny": _l("Denied"), "confirm": _l("Confirmed"),
                 "refuse": _l("Refused")},
    # What an API token may do (ApiToken.scopes).
    "token_scopes": {"read": _l("Read only"), "read write": _l("Read and make changes")},
    "token_kind": {"personal": _l("Personal"), "service": _l("Service")},
    # A plain yes or no (a context of its own: "No" as an answer to "solved?" is 未解决).
    "boolean": {True: _p("boolean", "Yes"), False: _p("boolean", "No")},
}


# A webhook's event is a code of the record: the same words.
LABELS["webhook_event"] = LABELS["event"]


def _lifecycle(kind: str) -> dict:
    from . import lifecycle

    if kind == "state":
        return lifecycle.STATE_LABELS
    return {name: a.label for name, a in lifecycle.ACTIONS.items()}


def table(kind: str) -> dict:
    """All labels of a kind, code -> lazy words."""
    if kind in ("state", "action"):
        return _lifecycle(kind)
    return LABELS[kind]


def label(kind: str, code) -> str:
    """The words for a code in the reader's language; "" for no code, "—" for an unknown one."""
    if code is None or code == "":
        return ""
    words = table(kind).get(code)
    if words is None:
        log.warning("no label for %s %r", kind, code)
        return "—"
    return str(words)


def choices(kind: str, codes=None) -> list[tuple[str, object]]:
    """(code, lazy words) pairs for a form field: every code of the kind, or the given ones, in order."""
    labels = table(kind)
    return [(code, labels[code]) for code in (codes if codes is not None else labels)]


def sweep_step(key: str) -> str:
    """A count of the last sweep ("handle.red.raised", "feedback.expired") in words."""
    clock, *rest = key.split(".")
    words = [label("clock", clock)]
    if rest and rest[0] != "expired":
        words.append(label("level", rest.pop(0)))
    return ", ".join(words + [label("step_result", r) for r in rest])


def init_app(app) -> None:
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["sweep_step"] = sweep_step
