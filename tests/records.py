"""What the database holds, for tests that check a refused action wrote nothing."""
from sqlalchemy import func

from tickets.extensions import db
from tickets.models import (Attachment, Clock, Event, ExtensionRequest, Feedback, Handling, Question, RatingReview,
                            Ticket, TransferRequest)


def count(model, **where) -> int:
    stmt = db.select(func.count()).select_from(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    return db.session.scalar(stmt)


def snapshot(ticket_id: int) -> dict:
    """The ticket's row and the row counts of every table an action may write."""
    db.session.expire_all()
    row = db.session.execute(
        db.select(Ticket.state, Ticket.version, Ticket.event_count, Ticket.head_hash, Ticket.lead_id,
                  Ticket.department_id, Ticket.round, Ticket.closed_at, Ticket.transfer_count,
                  Ticket.solved, Ticket.rating, Ticket.due_at).where(Ticket.id == ticket_id)
    ).one()
    return {
        "ticket": tuple(row),
        **{m.__name__: count(m) for m in (Ticket, Event, Clock, Feedback, Handling, Question,
                                           ExtensionRequest, TransferRequest, Attachment, RatingReview)},
        "open_clocks": count(Clock, ticket_id=ticket_id, stopped_at=None),
        "pending_transfers": count(TransferRequest, ticket_id=ticket_id, status="pending"),
        "pending_extensions": count(ExtensionRequest, ticket_id=ticket_id, status="pending"),
    }
