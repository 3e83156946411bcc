"""The in-app inbox: one Notification per outbox key, however often it is delivered."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Notification, OutboxMessage
from ..services.notify import acted_since


def send(row: OutboxMessage) -> None:
    if db.session.scalar(db.select(Notification.id).filter_by(key=row.key)) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(Notification(key=row.key, user_id=row.user_id, ticket_id=row.ticket_id,
                                        kind=row.kind, params=row.params, created_at=row.created_at,
                                        read_at=acted_since(row.ticket_id, row.user_id, row.created_at)))
    except IntegrityError:
        pass  # a concurrent delivery of the same row created it: exactly once either way
