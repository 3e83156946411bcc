"""Sessions, passwords and sign-in: a session token per user, the forced password change, the last
request, and the security log

Revision ID: d4sessions0001
Revises: f6headers0001
Create Date: 2026-12-02 09:00:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4sessions0001'
down_revision = 'f6headers0001'
branch_labels = None
depends_on = None

SECURITY_KINDS = (
    "login_ok", "login_failed", "account_locked", "address_locked", "logout", "idle_logout",
    "password_changed", "password_reset", "user_created", "roles_changed", "deactivated", "activated",
    "unlocked",
)


def upgrade():
    op.create_table('security_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in SECURITY_KINDS) + ")",
                       name=op.f('ck_security_events_kind')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_security_events_actor_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_security_events_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_events'))
    )
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_index('ix_security_events_user', ['user_id', 'id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))

    # Every existing user gets a random token of their own. The cookies issued before the upgrade
    # carry the numeric id, which no token matches: every old session ends with the upgrade.
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('session_token', sa.String()))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).fetchall():
        conn.execute(users.update().where(users.c.id == user_id).values(session_token=secrets.token_urlsafe(32)))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_session_token'), ['session_token'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_session_token'), type_='unique')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('session_token')

    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index('ix_security_events_user')

    op.drop_table('security_events')
