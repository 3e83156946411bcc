"""The full-text index of the tickets, on SQLite (FTS5) and PostgreSQL (a GIN index), kept in step.

`tickets.search_text` holds a ticket's words, segmented by jieba (tickets/segment.py). It is
set from the number, title and description by a mapper event, so every writer through the
ORM keeps it in the same flush and transaction. On SQLite an FTS5 table with external
content (`ticket_search`, rowid = tickets.id) is kept by triggers over that column; on
PostgreSQL an expression GIN index over to_tsvector('simple', search_text) serves the same
query. The migration e7search0001 creates the same objects for `flask db upgrade`.
"""
from __future__ import annotations

from sqlalchemy import DDL, event, inspect

from ..segment import index_text
from .ticket import Ticket

SEARCH_TABLE = "ticket_search"

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_search USING fts5("
    "search_text, content='tickets', content_rowid='id')",
    "CREATE TRIGGER IF NOT EXISTS tickets_search_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO ticket_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS tickets_search_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO ticket_search(ticket_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    # Fires only when an UPDATE sets search_text: a change of state never touches the index.
    "CREATE TRIGGER IF NOT EXISTS tickets_search_update AFTER UPDATE OF search_text ON tickets BEGIN "
    "INSERT INTO ticket_search(ticket_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO ticket_search(rowid, search_text) VALUES (new.id, new.search_text); END",
)
SQLITE_DROP = ("DROP TABLE IF EXISTS ticket_search",)
POSTGRES_CREATE = (
    "CREATE INDEX IF NOT EXISTS ix_tickets_search ON tickets "
    "USING gin (to_tsvector('simple'::regconfig, search_text))",
)


def is_search_object(name: str | None) -> bool:
    """The FTS5 table and its shadow tables, and the GIN index: not in the models' metadata."""
    return bool(name) and (name.startswith(SEARCH_TABLE) or name == "ix_tickets_search")


def include_name(name, type_, parent_names) -> bool:
    """For alembic's autogenerate: leave the search objects, made by DDL, out of the comparison."""
    return not is_search_object(name)


for _sql in SQLITE_CREATE:
    event.listen(Ticket.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in SQLITE_DROP:
    event.listen(Ticket.__table__, "after_drop", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in POSTGRES_CREATE:
    event.listen(Ticket.__table__, "after_create", DDL(_sql).execute_if(dialect="postgresql"))


@event.listens_for(Ticket, "before_insert")
def _words_of_new(mapper, connection, ticket: Ticket) -> None:
    ticket.search_text = index_text(ticket.number, ticket.title, ticket.description)


@event.listens_for(Ticket, "before_update")
def _words_of_changed(mapper, connection, ticket: Ticket) -> None:
    # Set here, the column joins the same UPDATE statement (and fires the SQLite trigger).
    attrs = inspect(ticket).attrs
    if any(attrs[k].history.has_changes() for k in ("number", "title", "description")):
        ticket.search_text = index_text(ticket.number, ticket.title, ticket.description)
