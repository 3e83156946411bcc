"""The review (甄别) of a dissatisfied rating: a coordinator proposes, an inspector decides.

Both handlers run inside `services.actions.perform` as record-only lifecycle
actions: they never change a ticket's state (an inspector never does), each step
is an internal event on the ticket's record, and the firm sees none of it. A
confirmed review excludes the rating from resolution and both satisfaction
figures; the rating stays on the record and is counted apart (services/rates).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..audit import append_event
from ..extensions import db
from ..models import Feedback, RatingReview, Ticket
from ..timeutil import now
from .common import parse_id, raise_if, require_choice, require_text

TEXT_MAX = 5000
DECISIONS = ("confirm", "refuse")


def reviewable(ticket: Ticket) -> list[Feedback]:
    """The ticket's dissatisfied ratings that no review has been proposed for yet, by round."""
    reviewed = db.select(RatingReview.feedback_id).where(RatingReview.ticket_id == ticket.id)
    return list(db.session.scalars(
        db.select(Feedback).where(Feedback.ticket_id == ticket.id, Feedback.rating == "dissatisfied",
                                  Feedback.id.not_in(reviewed)).order_by(Feedback.round)))


def reviews_of(ticket: Ticket, status: str | None = None) -> list[RatingReview]:
    stmt = db.select(RatingReview).where(RatingReview.ticket_id == ticket.id)
    if status:
        stmt = stmt.where(RatingReview.status == status)
    return list(db.session.scalars(stmt.order_by(RatingReview.id)))


def excluded_feedback_ids(ticket: Ticket) -> set[int]:
    return {r.feedback_id for r in reviews_of(ticket, "confirmed")}


def feedback_choices(ticket: Ticket) -> list[tuple[str, str]]:
    """The ratings a coordinator may propose to exclude: a form's choices."""
    return [(str(f.id), str(_l("Round %(r)s: dissatisfied", r=f.round))) for f in reviewable(ticket)]


def review_choices(ticket: Ticket) -> list[tuple[str, str]]:
    """The proposals waiting for an inspector: a form's choices."""
    return [(str(r.id), str(_l("Round %(r)s, proposed by %(who)s", r=r.feedback.round, who=r.proposed_by.name)))
            for r in reviews_of(ticket, "proposed")]


def propose(ticket: Ticket, actor, data: dict, files) -> None:
    errors: dict = {}
    wanted = parse_id(data.get("feedback_id"))
    feedback = next((f for f in reviewable(ticket) if f.id == wanted), None)
    if feedback is None:
        errors["feedback_id"] = _l("Please choose a dissatisfied rating of this request that has not been reviewed.")
    reason = require_text(errors, "reason", data.get("reason"), _l("Reason"), TEXT_MAX)
    raise_if(errors)
    review = RatingReview(feedback_id=feedback.id, ticket_id=ticket.id, reason=reason, proposed_by_id=actor.id,
                          proposed_at=now())
    db.session.add(review)
    db.session.flush()
    append_event(ticket, actor.id, "propose_exclusion", visibility="internal", details={
        "review_id": review.id, "feedback_id": feedback.id, "round": feedback.round, "reason": reason})


def decide(ticket: Ticket, actor, data: dict, files) -> None:
    errors: dict = {}
    wanted = parse_id(data.get("review_id"))
    review = next((r for r in reviews_of(ticket, "proposed") if r.id == wanted), None)
    if review is None:
        errors["review_id"] = _l("Please choose a proposal of this request that waits for a decision.")
    elif review.proposed_by_id == actor.id:
        errors["review_id"] = _l("Nobody decides on their own proposal.")
    decision = require_choice(errors, "decision", data.get("decision"), DECISIONS, _l("decision"))
    comment = require_text(errors, "comment", data.get("comment"), _l("Comment"), TEXT_MAX,
                           min_len=1 if decision == "refuse" else 0)
    raise_if(errors)
    review.status = "confirmed" if decision == "confirm" else "refused"
    review.decided_by_id, review.decided_at, review.comment = actor.id, now(), comment
    append_event(ticket, actor.id, "decide_exclusion", visibility="internal", details={
        "review_id": review.id, "feedback_id": review.feedback_id, "round": review.feedback.round,
        "decision": decision, "comment": comment})


def proposer_of_last_decision(ticket: Ticket) -> list:
    """Whoever proposed the review just decided (the recipient of its notification)."""
    review = db.session.scalar(db.select(RatingReview).where(RatingReview.ticket_id == ticket.id,
                                                             RatingReview.decided_at.is_not(None))
                               .order_by(RatingReview.decided_at.desc(), RatingReview.id.desc()).limit(1))
    return [review.proposed_by] if review is not None and review.proposed_by.active else []
