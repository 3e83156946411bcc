"""Migration i9apitokens0001 on a database with tickets: each gets the time of its last event as updated_at
(its filing where it has no event), so that the API's list starts in the right order."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db

from .test_migration_search import INSERT

EVENT = ("INSERT INTO events (ticket_id, seq, actor_id, at, action, visibility, details, prev_hash, hash, key_id) "
         "VALUES (:t, :seq, NULL, :at, 'note', 'internal', '{}', '', :h, '')")


def test_updated_at_is_the_last_event_or_the_filing(tmp_path):
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrated.db'}"

    app = create_app(Cfg)
    with app.app_context():
        upgrade(revision="h8webhooks0001")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for i in (1, 2):
                conn.execute(text(INSERT.format(extra="", value="")),
                             {"id": i, "number": f"2026-00000{i}", "title": "用工缺口"})
            for seq, at in ((1, "2026-11-02 01:00:00"), (2, "2026-11-05 03:30:00")):
                conn.execute(text(EVENT), {"t": 1, "seq": seq, "at": at, "h": f"h{seq}"})
        upgrade()
        with db.engine.begin() as conn:
            rows = dict(conn.execute(text("SELECT id, updated_at FROM tickets ORDER BY id")).all())
            assert {k: str(v)[:19] for k, v in rows.items()} == {1: "2026-11-05 03:30:00", 2: "2026-11-01 00:00:00"}
            kinds = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'security_events'")).scalar()
            assert "token_refused" in kinds
        downgrade(revision="h8webhooks0001")
        with db.engine.begin() as conn:
            columns = [r[1] for r in conn.execute(text("PRAGMA table_info(tickets)"))]
            assert "updated_at" not in columns
        db.engine.dispose()
