"""Migration d4sessions0001 on a database with users: each gets a session token of their own."""
from flask_migrate import upgrade
from sqlalchemy import text

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db


def test_existing_users_get_a_random_token_each(tmp_path):
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrated.db'}"

    app = create_app(Cfg)
    with app.app_context():
        upgrade(revision="c3measures0001")
        with db.engine.begin() as conn:
            for name in ("alice", "bob"):
                conn.execute(text("INSERT INTO users (username, password_hash, name, email, mobile, language, "
                                  "is_head, active, created_at) VALUES (:u, 'x', :u, '', '', 'zh', 0, 1, "
                                  "'2026-11-01 00:00:00')"), {"u": name})
        upgrade(revision="d4sessions0001")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT session_token, must_change_password, last_seen_at FROM users")).all()
    tokens = [r[0] for r in rows]
    assert len(tokens) == 2 and len(set(tokens)) == 2 and all(len(t) >= 40 for t in tokens)
    assert [(bool(r[1]), r[2]) for r in rows] == [(False, None), (False, None)]
