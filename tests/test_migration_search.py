"""Migration e7search0001 on a database with tickets: their words are indexed, and new ones follow."""
from flask_migrate import upgrade
from sqlalchemy import text

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db

INSERT = ("INSERT INTO tickets (id, number, firm_id, submitter_id, channel, category_id, title, description, "
          "urgency, contact_name, contact_phone, state, round, created_at, transfer_count, extension_count, "
          "queue_due_at, head_hash, event_count, version{extra}) VALUES (:id, :number, 1, 1, 'web', 1, :title, "
          "'需要协调招聘熟练工人', 'normal', '王', '13800138000', 'submitted', 0, '2026-11-01 00:00:00', 0, 0, "
          "'9999-12-31 00:00:00', '', 0, 1{value})")


def found(conn, word: str) -> list[int]:
    return list(conn.execute(text("SELECT rowid FROM ticket_search WHERE ticket_search MATCH :m ORDER BY rowid"),
                             {"m": f'"{word}"*'}).scalars())


def test_existing_tickets_are_indexed_and_new_ones_follow(tmp_path):
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrated.db'}"

    app = create_app(Cfg)
    with app.app_context():
        upgrade(revision="g7skipped0001")  # the revision before the search
        with db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # the ticket's firm and user do not matter here
            conn.execute(text(INSERT.format(extra="", value="")),
                         {"id": 1, "number": "2026-000201", "title": "用工缺口较大"})
        upgrade(revision="e7search0001")
        with db.engine.begin() as conn:
            words = conn.execute(text("SELECT search_text FROM tickets")).scalar()
            assert {"201", "000201", "用工", "缺口", "熟练", "工人"} <= set(words.split())
            assert found(conn, "缺口") == [1] and found(conn, "201") == [1]
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.execute(text(INSERT.format(extra=", search_text", value=", :words")),
                         {"id": 2, "number": "2026-000202", "title": "厂房漏水", "words": "000202 厂房 漏水"})
            assert found(conn, "漏水") == [2]
            conn.execute(text("UPDATE tickets SET search_text = '道路 积水' WHERE id = 2"))
            assert found(conn, "漏水") == [] and found(conn, "积水") == [2]
            conn.execute(text("UPDATE tickets SET state = 'withdrawn' WHERE id = 2"))
            assert found(conn, "积水") == [2]
