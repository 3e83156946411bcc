"""The SQL behind the rates: one aggregate query per measured step, grouped by unit.

Every query is portable SQLAlchemy (SQLite and PostgreSQL). Each step is first
selected as rows of (unit, ticket id, 0/1 flags) in a subquery, then counted
with GROUP BY on the subquery's `unit` column: grouping by a labelled column
of a subquery, never by an expression with bound parameters (a week's CASE),
which PostgreSQL would not recognise as the selected one.

A step is credited to the department and official who held the ticket for that
step (DESIGN.md, Measures), read from what was stored when the step happened,
never from the ticket's current lead, so that a transfer cannot move a late
round onto someone else and a past period never changes:
  - acceptance: the coordinator who decided it (clocks.credit_*);
  - a round's timeliness: its holder (clocks.credit_*, moved by a transfer only
    while the round was not yet overdue);
  - a rating and the firm's participation: whoever handled that round
    (handlings.handled_by_id, handlings.department_id);
  - a transfer: the department and lead it left (transfer_requests.from_*);
  - an acceptance into a department: the department and lead it went to first;
  - a closing: the ticket's department and lead when it closed (final from then on).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, exists, func, literal_column, not_, select

from ...extensions import db
from ...models import Clock, ExtensionRequest, Feedback, Handling, RatingReview, Ticket, TransferRequest
from .period import Period

CLOSED_AFTER_HANDLING = ("fed_back", "closed_unconfirmed", "closed_forced")
APART = ("closed_unconfirmed", "closed_forced", "rejected", "withdrawn")
GOOD = ("satisfied", "basically_satisfied")


def _flag(cond):
    return case((cond, 1), else_=0)


def _unit(by: str, period: Period, when, department, official, due: bool = False):
    """The grouping column for a step that happened at `when` (naive UTC), held by department/official.

    due=True: `when` is a due time, always 24:00 of a day (stored as 00:00 of the next), which
    belongs to the day it ends: a bucket holds the due times in (start, end].
    """
    if by == "department":
        return department
    if by == "official":
        return official
    if by == "category":
        return Ticket.category_id
    if by in ("week", "month"):
        whens = [(_between(b.start, b.end, when, due), literal_column(str(i)))
                 for i, b in enumerate(period.buckets(by))]
        return case(*whens, else_=literal_column("-1"))
    return literal_column("0")


def _between(start, end, when, due: bool = False):
    if due:
        return and_(when > start, when <= end)
    return and_(when >= start, when < end)


def _in(period: Period, when):
    return _between(period.start, period.end, when)


def _due_in(period: Period, at: datetime, when):
    """A due time that fell in the period and has already come (one still ahead is neither late nor on time)."""
    return and_(_between(period.start, period.end, when, due=True), when <= at)


def _clock_of_round(kind: str):
    """`Clock.kind == kind` for joining a round's clock to its handling or feedback, out of index reach.

    `kind || ''` is the same value on every database, but no index on kind serves it: a planner
    without statistics (SQLite) would otherwise start from every clock of that kind ever started
    (an equality on ix_clocks_kind_* looks more selective than the period's range on handled_at or
    given_at), a cost that grows with the whole history instead of the period. The clock is found
    from its ticket instead (uq_clocks_ticket_kind_round).
    """
    return Clock.kind.concat("") == kind


# --- acceptance --------------------------------------------------------------------------


def acceptance_rows(period: Period, by: str, at: datetime):
    """Accept clocks due in the period, decided or not; a withdrawal before the due time owed nothing."""
    decided = and_(Clock.stopped_at.is_not(None), Ticket.state != "withdrawn")
    withdrawn_in_time = and_(Ticket.state == "withdrawn", Clock.stopped_at <= Clock.due_at)
    return (
        select(_unit(by, period, Clock.due_at, Clock.credit_department_id, Clock.credit_user_id, due=True)
               .label("unit"),
               Clock.ticket_id.label("tid"),
               _flag(and_(decided, Clock.stopped_at <= Clock.due_at)).label("on_time"))
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .where(Clock.kind == "accept", _due_in(period, at, Clock.due_at), not_(withdrawn_in_time))
    )


def accept_stage_rows(period: Period, by: str, at: datetime):
    """Accept or reject decisions taken in the period (the stage time of acceptance)."""
    return (
        select(_unit(by, period, Clock.stopped_at, Clock.credit_department_id, Clock.credit_user_id).label("unit"),
               Clock.ticket_id.label("tid"), Clock.started_at, Clock.stopped_at)
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .where(Clock.kind == "accept", _in(period, Clock.stopped_at), Ticket.state != "withdrawn")
    )


# --- handling ------------------------------------------------------------------------------


def handling_rows(period: Period, by: str, at: datetime):
    """Rounds whose due time (in force) fell in the period, handled or not; open or force-closed is late."""
    on_time = and_(Handling.handled_at.is_not(None), Handling.handled_at <= Clock.due_at)
    extended = exists().where(ExtensionRequest.ticket_id == Clock.ticket_id, ExtensionRequest.round == Clock.round,
                              ExtensionRequest.status == "approved")
    return (
        select(_unit(by, period, Clock.due_at, Clock.credit_department_id, Clock.credit_user_id, due=True)
               .label("unit"),
               Clock.ticket_id.label("tid"),
               _flag(on_time).label("on_time"),
               _flag(Clock.stopped_at.is_(None)).label("still_open"),
               _flag(and_(Clock.stopped_at.is_not(None), Handling.id.is_(None))).label("closed_unhandled"),
               _flag(extended).label("extended"),
               _flag(and_(extended, on_time)).label("extended_on_time"))
        .select_from(Clock)
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .outerjoin(Handling, and_(Handling.ticket_id == Clock.ticket_id, Handling.round == Clock.round))
        .where(Clock.kind == "handle", _due_in(period, at, Clock.due_at))
    )


def handle_stage_rows(period: Period, by: str, at: datetime):
    """Rounds handled in the period, with their handle clock (the stage time of handling)."""
    return (
        select(_unit(by, period, Handling.handled_at, Handling.department_id, Handling.handled_by_id).label("unit"),
               Handling.ticket_id.label("tid"), Clock.started_at, Clock.stopped_at)
        .select_from(Handling)
        .join(Clock, and_(Clock.ticket_id == Handling.ticket_id, _clock_of_round("handle"),
                          Clock.round == Handling.round))
        .join(Ticket, Ticket.id == Handling.ticket_id)
        .where(_in(period, Handling.handled_at))
    )


# --- the firm's verdict ----------------------------------------------------------------------


def participation_rows(period: Period, by: str, at: datetime):
    """Handled rounds whose feedback window ended in the period (rated, expired or closed), credited to the handler."""
    return (
        select(_unit(by, period, Clock.stopped_at, Handling.department_id, Handling.handled_by_id).label("unit"),
               Clock.ticket_id.label("tid"), _flag(Feedback.id.is_not(None)).label("rated"))
        .select_from(Clock)
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .join(Handling, and_(Handling.ticket_id == Clock.ticket_id, Handling.round == Clock.round))
        .outerjoin(Feedback, and_(Feedback.ticket_id == Clock.ticket_id, Feedback.round == Clock.round))
        .where(Clock.kind == "feedback", _in(period, Clock.stopped_at))
    )


def rating_rows(period: Period, by: str, at: datetime):
    """Every rating given in the period, each round's, credited to whoever handled that round.

    A rating excluded by a confirmed review (甄别) leaves the rating-based measures and is
    counted apart; it still counts as the firm's participation.
    """
    excluded = exists().where(RatingReview.feedback_id == Feedback.id, RatingReview.status == "confirmed")
    counted = not_(excluded)
    first = Feedback.round == 1
    good = Feedback.rating.in_(GOOD)
    return (
        select(_unit(by, period, Feedback.given_at, Handling.department_id, Handling.handled_by_id).label("unit"),
               Feedback.ticket_id.label("tid"),
               _flag(counted).label("rated"),
               _flag(and_(counted, good)).label("good"),
               _flag(and_(counted, Feedback.rating == "satisfied")).label("rated_satisfied"),
               _flag(and_(counted, Feedback.rating == "basically_satisfied")).label("rated_basically"),
               _flag(and_(counted, Feedback.rating == "dissatisfied")).label("dissatisfied"),
               _flag(and_(counted, Feedback.solved == "yes")).label("solved_yes"),
               _flag(and_(counted, Feedback.solved == "partly")).label("solved_partly"),
               _flag(and_(counted, first)).label("first_rated"),
               _flag(and_(counted, first, good)).label("first_good"),
               _flag(excluded).label("excluded"),
               Clock.started_at, Clock.stopped_at)
        .select_from(Feedback)
        .join(Handling, and_(Handling.ticket_id == Feedback.ticket_id, Handling.round == Feedback.round))
        .join(Clock, and_(Clock.ticket_id == Feedback.ticket_id, _clock_of_round("feedback"),
                          Clock.round == Feedback.round))
        .join(Ticket, Ticket.id == Feedback.ticket_id)
        .where(_in(period, Feedback.given_at))
    )


# --- closings, acceptances and transfers ------------------------------------------------------


def closing_rows(period: Period, by: str, at: datetime):
    """Tickets closed in the period, in any terminal state (department and lead final since then)."""
    after_handling = Ticket.state.in_(CLOSED_AFTER_HANDLING)
    cols = [_flag(Ticket.state == s).label(s) for s in APART]
    return (
        select(_unit(by, period, Ticket.closed_at, Ticket.department_id, Ticket.lead_id).label("unit"),
               Ticket.id.label("tid"),
               _flag(after_handling).label("closed"),
               _flag(and_(after_handling, Ticket.round >= 2)).label("reworked"), *cols)
        .where(_in(period, Ticket.closed_at))
    )


def _first_transfer(column):
    """`column` of the ticket's first approved transfer (a correlated scalar subquery)."""
    return (select(column).where(TransferRequest.ticket_id == Ticket.id, TransferRequest.status == "approved")
            .order_by(TransferRequest.decided_at, TransferRequest.id).limit(1).scalar_subquery())


def accepted_rows(period: Period, by: str, at: datetime):
    """Tickets accepted in the period (round 1 started), under the department and lead they went to first."""
    department = func.coalesce(_first_transfer(TransferRequest.from_department_id), Ticket.department_id)
    official = func.coalesce(_first_transfer(TransferRequest.from_lead_id), Ticket.lead_id)
    return (
        select(_unit(by, period, Clock.started_at, department, official).label("unit"), Clock.ticket_id.label("tid"))
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .where(Clock.kind == "handle", Clock.round == 1, _in(period, Clock.started_at))
    )


def transfer_rows(period: Period, by: str, at: datetime):
    """Transfers approved in the period, under the department and lead they left."""
    return (
        select(_unit(by, period, TransferRequest.decided_at, TransferRequest.from_department_id,
                     TransferRequest.from_lead_id).label("unit"),
               TransferRequest.ticket_id.label("tid"))
        .join(Ticket, Ticket.id == TransferRequest.ticket_id)
        .where(TransferRequest.status == "approved", _in(period, TransferRequest.decided_at))
    )


# name of the step -> (its rows, {column summed: field}, field that counts its rows or None)
STEPS = {
    "acceptance": (acceptance_rows, {"on_time": "accept_on_time"}, "accept_due"),
    "handling": (handling_rows, {"on_time": "handled_on_time", "still_open": "rounds_open_late",
                                 "closed_unhandled": "rounds_closed_unhandled", "extended": "extended_rounds",
                                 "extended_on_time": "extended_on_time"}, "rounds_due"),
    "participation": (participation_rows, {"rated": "rated_rounds"}, "feedback_windows_ended"),
    "ratings": (rating_rows, {"rated": "ratings", "good": "satisfied", "rated_satisfied": "rated_satisfied",
                              "rated_basically": "rated_basically", "dissatisfied": "dissatisfied_ratings",
                              "solved_yes": "solved_yes", "solved_partly": "solved_partly",
                              "first_rated": "first_ratings", "first_good": "first_satisfied",
                              "excluded": "excluded_ratings"}, None),
    "closing": (closing_rows, {"closed": "closed", "reworked": "reworked", **{s: s for s in APART}}, None),
    "accepted": (accepted_rows, {}, "accepted"),
    "transfers": (transfer_rows, {}, "transfers"),
}
FIELDS = tuple(dict.fromkeys(
    [f for _rows, summed, counted in STEPS.values() for f in ([counted] if counted else []) + list(summed.values())]))


def counts(period: Period, by: str, at: datetime) -> dict:
    """{unit: {field: n}} for every step, aggregated in SQL."""
    out: dict = {}
    for rows_of, summed, counted in STEPS.values():
        sub = rows_of(period, by, at).subquery()
        cols = [func.count().label("_n")] + [func.coalesce(func.sum(sub.c[c]), 0).label(c) for c in summed]
        for row in db.session.execute(select(sub.c.unit, *cols).group_by(sub.c.unit)).mappings():
            unit = out.setdefault(row["unit"], {})
            if counted:
                unit[counted] = row["_n"]
            for col, field in summed.items():
                unit[field] = int(row[col])
    return out


def stage_rows(period: Period, by: str, at: datetime) -> dict:
    """{stage: [(unit, started_at, stopped_at)]} for the stage times, computed in Python."""
    out = {}
    for stage, rows_of in (("accept", accept_stage_rows), ("handle", handle_stage_rows),
                           ("feedback", rating_rows)):
        sub = rows_of(period, by, at).subquery()
        out[stage] = db.session.execute(select(sub.c.unit, sub.c.started_at, sub.c.stopped_at)).all()
    return out
