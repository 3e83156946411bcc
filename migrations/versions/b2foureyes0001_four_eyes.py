"""four eyes: lapsed requests, extensions decided at the weekly meeting, repeats index

Revision ID: b2foureyes0001
Revises: c5a0889205a9
Create Date: 2026-12-01 09:00:00

- extension_requests and transfer_requests: status "lapsed" (pending when the round ended);
  requests left pending by an earlier version on a round that has ended lapse here.
- extension_requests.meeting_decision_id: the extension a meeting's new due date amounts to
  (its days may exceed the 30 an official may ask for).
- meeting_decisions.chair_id: the leader who chaired (the service requires one with a new due
  date; decisions recorded before keep none rather than a made-up chair).
- tickets: (follows_id, id) replaces the index on follows_id alone (the desk's repeats tab).

SQLite alters constraints only by copying the table: batch mode does that, and is a
plain ALTER on PostgreSQL.
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b2foureyes0001"
down_revision = "c5a0889205a9"
branch_labels = None
depends_on = None

OLD_STATUS = "status IN ('pending','approved','denied')"
NEW_STATUS = "status IN ('pending', 'approved', 'denied', 'lapsed')"
OLD_DAYS = "days > 0 AND days <= 30"
NEW_DAYS = "days > 0 AND (days <= 30 OR meeting_decision_id IS NOT NULL)"
MEETING_APPROVED = "meeting_decision_id IS NULL OR status = 'approved'"


def upgrade():
    with op.batch_alter_table("meeting_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chair_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_meeting_decisions_chair_id_users"), "users", ["chair_id"],
                                    ["id"], ondelete="RESTRICT")

    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_decision_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_extension_requests_meeting_decision_id"),
                                          ["meeting_decision_id"])
        batch_op.create_foreign_key(batch_op.f("fk_extension_requests_meeting_decision_id_meeting_decisions"),
                                    "meeting_decisions", ["meeting_decision_id"], ["id"], ondelete="RESTRICT")
        batch_op.drop_constraint(batch_op.f("ck_extension_requests_status"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_extension_requests_days"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_extension_requests_status"), NEW_STATUS)
        batch_op.create_check_constraint(batch_op.f("ck_extension_requests_days"), NEW_DAYS)
        batch_op.create_check_constraint(batch_op.f("ck_extension_requests_meeting_approved"), MEETING_APPROVED)

    with op.batch_alter_table("transfer_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_transfer_requests_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_transfer_requests_status"), NEW_STATUS)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_follows_id"))
        batch_op.create_index("ix_tickets_follows", ["follows_id", "id"], unique=False)

    # A request still pending on a round that has ended would otherwise stay decidable.
    # (The record of the ticket gets no event here: the chain's key is not the migration's.)
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    ended = "SELECT id FROM tickets WHERE state <> 'accepted'"
    op.execute(sa.text(
        "UPDATE extension_requests SET status = 'lapsed', decided_at = :at WHERE status = 'pending' AND ("
        f"ticket_id IN ({ended}) OR round <> (SELECT t.round FROM tickets t "
        "WHERE t.id = extension_requests.ticket_id))").bindparams(at=at))
    op.execute(sa.text(
        "UPDATE transfer_requests SET status = 'lapsed', decided_at = :at WHERE status = 'pending' AND ("
        f"ticket_id IN ({ended}) OR requested_at < (SELECT MAX(c.started_at) FROM clocks c "
        "WHERE c.ticket_id = transfer_requests.ticket_id AND c.kind = 'handle'))").bindparams(at=at))


def downgrade():
    # Lossy, as a downgrade must be: a lapsed request reads as denied, and a meeting's
    # extension keeps at most the 30 days the old schema allows.
    op.execute("UPDATE extension_requests SET status = 'denied' WHERE status = 'lapsed'")
    op.execute("UPDATE transfer_requests SET status = 'denied' WHERE status = 'lapsed'")
    op.execute("UPDATE extension_requests SET days = 30 WHERE days > 30")

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_follows")
        batch_op.create_index(batch_op.f("ix_tickets_follows_id"), ["follows_id"], unique=False)

    with op.batch_alter_table("transfer_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_transfer_requests_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_transfer_requests_status"), OLD_STATUS)

    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_extension_requests_meeting_approved"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_extension_requests_days"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_extension_requests_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_extension_requests_days"), OLD_DAYS)
        batch_op.create_check_constraint(batch_op.f("ck_extension_requests_status"), OLD_STATUS)
        batch_op.drop_constraint(batch_op.f("fk_extension_requests_meeting_decision_id_meeting_decisions"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_extension_requests_meeting_decision_id"), type_="unique")
        batch_op.drop_column("meeting_decision_id")

    with op.batch_alter_table("meeting_decisions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_meeting_decisions_chair_id_users"), type_="foreignkey")
        batch_op.drop_column("chair_id")
