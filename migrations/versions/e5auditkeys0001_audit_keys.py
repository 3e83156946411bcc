"""Audit key rotation: each event names the key that signed it; chunked verification and digest

Revision ID: e5auditkeys0001
Revises: c3measures0001
Create Date: 2026-12-02 10:00:00

Existing events get the id of the current AUDIT_KEY, the key they were signed with.
Verification runs keep a cursor; a day's digest is computed in parts.
"""
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = 'e5auditkeys0001'
down_revision = 'c3measures0001'
branch_labels = None
depends_on = None


def _key_id(key: str) -> str:
    # tickets.audit.key_id as of this revision, copied so that the migration never changes.
    return hmac.new(key.encode("utf-8"), b"bihuan audit key id", hashlib.sha256).hexdigest()[:16]


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    op.execute(sa.text("UPDATE events SET key_id = :k").bindparams(k=_key_id(current_app.config["AUDIT_KEY"])))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('key_id', existing_type=sa.String(length=16), nullable=False)

    with op.batch_alter_table('audit_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cursor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('progress_at', sa.DateTime(), nullable=True))

    op.create_table('digest_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('after_id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_parts')),
    sa.UniqueConstraint('day', 'after_id', name='uq_digest_parts_day_after')
    )


def downgrade():
    op.drop_table('digest_parts')
    with op.batch_alter_table('audit_runs', schema=None) as batch_op:
        batch_op.drop_column('progress_at')
        batch_op.drop_column('cursor')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('key_id')
