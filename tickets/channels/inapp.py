"""The in-app inbox: one Notification per outbox key, however often it is delivered."""
from __future__ import annotations

from ..extensions import db
from ..models import Notification, OutboxMessage
from ..services.notify import acted_since


def _insert_once():
    """INSERT ... ON CONFLICT (key) DO NOTHING, in the dialect of the database.

    Not a savepoint: pysqlite opens no transaction before a SAVEPOINT, so releasing the first one
    would commit the notification at once, before the delivery knows that it still holds its row.
    """
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(Notification.__table__).on_conflict_do_nothing(index_elements=["key"])


def send(row: OutboxMessage) -> None:
    # Exactly once: a second delivery of the same row (or a concurrent one) inserts nothing.
    db.session.execute(_insert_once(), [{
        "key": row.key, "user_id": row.user_id, "ticket_id": row.ticket_id, "kind": row.kind, "params": row.params,
        "created_at": row.created_at, "read_at": acted_since(row.ticket_id, row.user_id, row.created_at)}])
