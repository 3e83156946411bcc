"""The outbox's claims (one relay, one delivery per row), a day of retries, and every try kept

Revision ID: j0relay0001
Revises: i9apitokens0001
Create Date: 2026-12-02 13:40:00

Rows handed out under the old relay have no claim: a message still queued for one delivers it
once (a delivery without a claim takes only an unclaimed row), and the lease recovers the rest.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "j0relay0001"
down_revision = "i9apitokens0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claims", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("retry_until", sa.DateTime(), nullable=True))
    # What was handed out before counts as handed out once.
    op.execute("UPDATE outbox SET claims = 1 WHERE published_at IS NOT NULL OR status <> 'pending'")
    op.create_table(
        "outbox_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("outcome IN ('sent','retry','failed','void','late','requeued')",
                           name=op.f("ck_outbox_attempts_outcome")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_outbox_attempts_outbox_id_outbox"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_outbox_attempts_user_id_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_attempts")),
    )
    op.create_index("ix_outbox_attempts_outbox", "outbox_attempts", ["outbox_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_outbox_attempts_outbox", table_name="outbox_attempts")
    op.drop_table("outbox_attempts")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("retry_until")
        batch_op.drop_column("claims")
        batch_op.drop_column("taken_at")
        batch_op.drop_column("claim")
