"""ticket search: segmented words on each ticket, FTS5 on SQLite, a GIN index on PostgreSQL

Revision ID: e7search0001
Revises: g7skipped0001
Create Date: 2026-12-02 05:00:00

Adds tickets.search_text (the number's digits and the jieba-segmented words of title and
description, tickets/segment.py), fills it for the tickets there are, then creates the
index the queue's search reads: on SQLite the FTS5 table `ticket_search` (external
content, rowid = tickets.id) and the triggers that keep it, on PostgreSQL the expression
GIN index ix_tickets_search. The same DDL as tickets/models/search.py.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e7search0001"
down_revision = "g7skipped0001"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade():
    from tickets.models.search import POSTGRES_CREATE, SQLITE_CREATE
    from tickets.segment import index_text

    op.add_column("tickets", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    conn = op.get_bind()
    tickets = sa.table("tickets", sa.column("id", sa.Integer), sa.column("number", sa.String),
                       sa.column("title", sa.String), sa.column("description", sa.Text),
                       sa.column("search_text", sa.Text))
    last = 0
    while True:
        rows = conn.execute(sa.select(tickets.c.id, tickets.c.number, tickets.c.title, tickets.c.description)
                            .where(tickets.c.id > last).order_by(tickets.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(tickets.update().where(tickets.c.id == sa.bindparam("tid"))
                     .values(search_text=sa.bindparam("words")),
                     [{"tid": r.id, "words": index_text(r.number, r.title, r.description)} for r in rows])
        last = rows[-1].id
    if conn.dialect.name == "sqlite":
        for sql in SQLITE_CREATE:
            op.execute(sql)
        op.execute("INSERT INTO ticket_search(ticket_search) VALUES ('rebuild')")
    elif conn.dialect.name == "postgresql":
        for sql in POSTGRES_CREATE:
            op.execute(sql)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in ("tickets_search_insert", "tickets_search_delete", "tickets_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS ticket_search")
    elif conn.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_search")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("search_text")
