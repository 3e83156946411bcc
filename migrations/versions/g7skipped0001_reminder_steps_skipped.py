"""reminder_steps.skipped: a level passed over because a higher one was reached at the same sweep

Revision ID: g7skipped0001
Revises: d4sessions0001
Create Date: 2026-12-02 12:00:00

Existing rows were all raised (and sent): false.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "g7skipped0001"
down_revision = "d4sessions0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skipped", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.drop_column("skipped")
