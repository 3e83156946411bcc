"""webhooks: subscribers, their delivery log, and webhook rows in the outbox

Revision ID: h8webhooks0001
Revises: e7search0001
Create Date: 2026-12-02 08:00:00

A webhook delivery is an outbox row with no user: outbox.user_id becomes nullable,
the channel check allows 'webhook', and two columns name the subscriber and the event
it sends. Replays are counted on the row. SQLite alters constraints only by copying
the table: batch mode does that, and is a plain ALTER elsewhere.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "h8webhooks0001"
down_revision = "e7search0001"
branch_labels = None
depends_on = None

OLD_CHANNEL = "channel IN ('inapp','email')"
NEW_CHANNEL = "channel IN ('inapp','email','webhook')"


def upgrade():
    op.create_table(
        "webhook_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_webhook_subscribers_created_by_id_users"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["service_id"], ["users.id"],
                                name=op.f("fk_webhook_subscribers_service_id_users"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscribers")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("subscriber_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("replay_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("replayed_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_outbox_subscriber_id_webhook_subscribers"),
                                    "webhook_subscribers", ["subscriber_id"], ["id"], ondelete="RESTRICT")
        batch_op.create_foreign_key(batch_op.f("fk_outbox_event_id_events"), "events", ["event_id"], ["id"],
                                    ondelete="RESTRICT")
        batch_op.drop_constraint(batch_op.f("ck_outbox_channel"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_outbox_channel"), NEW_CHANNEL)
        batch_op.create_index("ix_outbox_subscriber", ["subscriber_id", "id"], unique=False)
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_webhook_attempts_outbox_id_outbox"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["webhook_subscribers.id"],
                                name=op.f("fk_webhook_attempts_subscriber_id_webhook_subscribers"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_attempts_outbox", ["outbox_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_outbox")
    op.drop_table("webhook_attempts")
    # Webhook rows have no user: they go with the channel.
    op.execute("DELETE FROM outbox WHERE channel = 'webhook'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_subscriber")
        batch_op.drop_constraint(batch_op.f("ck_outbox_channel"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_outbox_channel"), OLD_CHANNEL)
        batch_op.drop_constraint(batch_op.f("fk_outbox_event_id_events"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_outbox_subscriber_id_webhook_subscribers"), type_="foreignkey")
        batch_op.drop_column("replayed_at")
        batch_op.drop_column("replay_count")
        batch_op.drop_column("event_id")
        batch_op.drop_column("subscriber_id")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("webhook_subscribers")
