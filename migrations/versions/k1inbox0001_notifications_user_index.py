"""The inbox's index: a user's notifications by id, newest first, without a sort

Revision ID: k1inbox0001
Revises: j0relay0001
Create Date: 2026-12-02 14:10:00
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "k1inbox0001"
down_revision = "j0relay0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_notifications_user", table_name="notifications")
