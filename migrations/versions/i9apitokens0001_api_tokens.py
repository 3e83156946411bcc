"""API tokens, integrations' service accounts and their firms; tickets.updated_at for the API's list

Revision ID: i9apitokens0001
Revises: h8webhooks0001
Create Date: 2026-12-02 08:00:00

tickets.updated_at is filled from each ticket's last event (its creation where it has none).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "i9apitokens0001"
down_revision = "h8webhooks0001"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "login_ok", "login_failed", "account_locked", "address_locked", "logout", "idle_logout",
    "password_changed", "password_reset", "user_created", "roles_changed", "deactivated", "activated",
    "unlocked",
)
NEW_KINDS = OLD_KINDS + ("token_created", "token_revoked", "token_refused")


def _kinds(kinds) -> str:
    return "kind IN (" + ",".join(f"'{k}'" for k in kinds) + ")"


def upgrade():
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_security_events_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds(NEW_KINDS))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_service", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE tickets SET updated_at = COALESCE("
               "(SELECT MAX(events.at) FROM events WHERE events.ticket_id = tickets.id), created_at)")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index("ix_tickets_updated", ["updated_at", "id"], unique=False)
        batch_op.create_index("ix_tickets_firm_updated", ["firm_id", "updated_at", "id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("scopes", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('personal','service')", name=op.f("ck_api_tokens_kind")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_api_tokens_created_by_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id", "created_at"], unique=False)
    op.create_table(
        "service_firms",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.id"], name=op.f("fk_service_firms_firm_id_firms"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_service_firms_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "firm_id", name=op.f("pk_service_firms")),
    )
    op.create_index(op.f("ix_service_firms_firm_id"), "service_firms", ["firm_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_service_firms_firm_id"), table_name="service_firms")
    op.drop_table("service_firms")
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    op.drop_table("api_tokens")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_firm_updated")
        batch_op.drop_index("ix_tickets_updated")
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_service")
    op.execute("DELETE FROM security_events WHERE kind IN ('token_created', 'token_revoked', 'token_refused')")
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_security_events_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds(OLD_KINDS))
