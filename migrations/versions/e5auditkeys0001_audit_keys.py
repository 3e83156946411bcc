"""Audit key rotation: each event names the key that signed it

Revision ID: e5auditkeys0001
Revises: c3measures0001
Create Date: 2026-12-02 10:00:00

Existing events get the id of the current AUDIT_KEY, the key they were signed with.
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


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('key_id')
