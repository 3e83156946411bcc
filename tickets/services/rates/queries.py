"""The SQL behind the rates: one aggregate query per measured step, grouped by unit.

Every query is portable SQLAlchemy (SQLite and PostgreSQL). Each step is first
selected as rows of (unit, ticket id, 0/1 flags) in a subquery, then counted
with GROUP BY on the subquery's `unit` column: grouping by a labelled column
of a subquery, never by an expression with bound parameters (a week's CASE),
which PostgreSQL would not recognise as the selected one.

A unit is the ticket's current department, lead official or category, or the
week or month (Shanghai) in which the step happened, or 0 for the total.
"""
from __future__ import annotations

from sqlalchemy import and_, case, func, literal_column, or_, select, union

from ...extensions import db
from ...models import Clock, Feedback, Handling, Ticket
from .period import Period

CLOSED_AFTER_HANDLING = ("fed_back", "closed_unconfirmed", "closed_forced")
APART = ("closed_unconfirmed", "closed_forced", "rejected", "withdrawn")


def _flag(cond):
    return case((cond, 1), else_=0)


def _unit(by: str, period: Period, when):
    """The grouping column for a step that happened at `when` (naive UTC)."""
    if by == "department":
        return Ticket.department_id
    if by == "official":
        return Ticket.lead_id
    if by == "category":
        return Ticket.category_id
    if by in ("week", "month"):
        whens = [(and_(when >= b.start, when < b.end), literal_column(str(i)))
                 for i, b in enumerate(period.buckets(by))]
        return case(*whens, else_=literal_column("-1"))
    return literal_column("0")


def _in(period: Period, when):
    return and_(when >= period.start, when < period.end)


def _clock_of_round(kind: str):
    """`Clock.kind == kind` for joining a round's clock to its handling or feedback, out of index reach.

    `kind || ''` is the same value on every database, but no index on kind serves it: a planner
    without statistics (SQLite) would otherwise start from every clock of that kind ever started
    (an equality on ix_clocks_kind_* looks more selective than the period's range on handled_at or
    given_at), a cost that grows with the whole history instead of the period. The clock is found
    from its ticket instead (uq_clocks_ticket_kind_round).
    """
    return Clock.kind.concat("") == kind


def acceptance_rows(period: Period, by: str):
    """Accept clocks stopped in the period by an accept or a reject (a withdrawal is no decision)."""
    return (
        select(_unit(by, period, Clock.stopped_at).label("unit"), Clock.ticket_id.label("tid"),
               _flag(Clock.stopped_at <= Clock.due_at).label("on_time"),
               Clock.started_at, Clock.stopped_at)
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .where(Clock.kind == "accept", _in(period, Clock.stopped_at), Ticket.state != "withdrawn")
    )


def handling_rows(period: Period, by: str):
    """Rounds handled in the period, with the handle clock of that round (its due time in force)."""
    extended = or_(Clock.deadline_version > 1, Clock.due_at != Clock.original_due_at)
    on_time = Clock.stopped_at <= Clock.due_at
    return (
        select(_unit(by, period, Handling.handled_at).label("unit"), Handling.ticket_id.label("tid"),
               _flag(on_time).label("on_time"), _flag(extended).label("extended"),
               _flag(and_(extended, on_time)).label("extended_on_time"),
               Clock.started_at, Clock.stopped_at)
        .select_from(Handling)
        .join(Clock, and_(Clock.ticket_id == Handling.ticket_id, _clock_of_round("handle"),
                          Clock.round == Handling.round))
        .join(Ticket, Ticket.id == Handling.ticket_id)
        .where(_in(period, Handling.handled_at))
    )


def feedback_rows(period: Period, by: str):
    """Every feedback given in the period; `final` marks the one that closed the loop.

    The final feedback of a ticket is the feedback of its last round once it is
    fed_back: a "dissatisfied" answer started a new round and is never final.
    """
    final = and_(Ticket.state == "fed_back", Feedback.round == Ticket.round)
    return (
        select(_unit(by, period, Feedback.given_at).label("unit"), Feedback.ticket_id.label("tid"),
               _flag(final).label("final"),
               _flag(and_(final, Feedback.solved == "yes")).label("solved_yes"),
               _flag(and_(final, Feedback.solved == "partly")).label("solved_partly"),
               _flag(and_(final, Feedback.rating == "satisfied")).label("rated_satisfied"),
               _flag(and_(final, Feedback.rating == "basically_satisfied")).label("rated_basically"),
               _flag(Feedback.rating == "dissatisfied").label("dissatisfied"),
               Clock.started_at, Clock.stopped_at)
        .select_from(Feedback)
        .join(Clock, and_(Clock.ticket_id == Feedback.ticket_id, _clock_of_round("feedback"),
                          Clock.round == Feedback.round))
        .join(Ticket, Ticket.id == Feedback.ticket_id)
        .where(_in(period, Feedback.given_at))
    )


def closing_rows(period: Period, by: str):
    """Tickets closed in the period, in any terminal state."""
    after_handling = Ticket.state.in_(CLOSED_AFTER_HANDLING)
    cols = [_flag(Ticket.state == s).label(s) for s in APART]
    return (
        select(_unit(by, period, Ticket.closed_at).label("unit"), Ticket.id.label("tid"),
               _flag(after_handling).label("closed"),
               _flag(and_(after_handling, Ticket.round >= 2)).label("reworked"), *cols)
        .where(_in(period, Ticket.closed_at))
    )


def accepted_rows(period: Period, by: str):
    """Tickets accepted in the period: the first handle clock started then."""
    return (
        select(_unit(by, period, Clock.started_at).label("unit"), Clock.ticket_id.label("tid"),
               Ticket.transfer_count.label("transfers"))
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .where(Clock.kind == "handle", Clock.round == 1, _in(period, Clock.started_at))
    )


# name of the step -> (its rows, the columns summed, field names in the report)
STEPS = {
    "acceptance": (acceptance_rows, {"on_time": "accept_on_time"}, "accept_decisions"),
    "handling": (handling_rows, {"on_time": "handled_on_time", "extended": "extended_rounds",
                                 "extended_on_time": "extended_on_time"}, "rounds_handled"),
    "feedback": (feedback_rows, {"final": "final_feedback", "solved_yes": "solved_yes",
                                 "solved_partly": "solved_partly", "rated_satisfied": "rated_satisfied",
                                 "rated_basically": "rated_basically",
                                 "dissatisfied": "dissatisfied_ratings"}, None),
    "closing": (closing_rows, {"closed": "closed", "reworked": "reworked",
                               **{s: s for s in APART}}, None),
    "accepted": (accepted_rows, {"transfers": "transfers"}, "accepted"),
}


def counts(period: Period, by: str) -> dict:
    """{unit: {field: n}} for every step, aggregated in SQL."""
    out: dict = {}
    for rows_of, summed, counted in STEPS.values():
        sub = rows_of(period, by).subquery()
        cols = [func.count().label("_n")] + [func.coalesce(func.sum(sub.c[c]), 0).label(c) for c in summed]
        for row in db.session.execute(select(sub.c.unit, *cols).group_by(sub.c.unit)).mappings():
            unit = out.setdefault(row["unit"], {})
            if counted:
                unit[counted] = row["_n"]
            for col, field in summed.items():
                unit[field] = int(row[col])
    return out


def tickets_per_unit(period: Period, by: str) -> dict:
    """{unit: distinct tickets with any measured step in the period} (the small-sample rule)."""
    subs = [rows_of(period, by).subquery() for rows_of, _s, _c in STEPS.values()]
    parts = [select(sub.c.unit, sub.c.tid) for sub in subs]
    both = union(*parts).subquery()
    q = select(both.c.unit, func.count(func.distinct(both.c.tid))).group_by(both.c.unit)
    return dict(db.session.execute(q).all())


def stage_rows(period: Period, by: str) -> dict:
    """{stage: [(unit, started_at, stopped_at)]} for the stage times, computed in Python."""
    out = {}
    for stage, rows_of in (("accept", acceptance_rows), ("handle", handling_rows),
                           ("feedback", feedback_rows)):
        sub = rows_of(period, by).subquery()
        out[stage] = db.session.execute(select(sub.c.unit, sub.c.started_at, sub.c.stopped_at)).all()
    return out
