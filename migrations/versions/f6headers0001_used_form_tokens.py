"""used_form_tokens: a request form files one ticket, however often it is posted

Revision ID: f6headers0001
Revises: e5auditkeys0001
Create Date: 2026-12-02 10:00:00

A new table only (no existing table is altered): the token of each form that filed a
ticket, with the user and the ticket, written in the ticket's transaction.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f6headers0001"
down_revision = "e5auditkeys0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "used_form_tokens",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_used_form_tokens_ticket_id_tickets"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_used_form_tokens_user_id_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_used_form_tokens")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_used_form_tokens_ticket_id")),
    )
    with op.batch_alter_table("used_form_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_form_tokens_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("used_form_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_form_tokens_user_id"))
    op.drop_table("used_form_tokens")
