"""The scale-out database: migrations, the loop and the record on a real PostgreSQL.

The same scenario under a frozen clock must give byte-identical chains on
SQLite and PostgreSQL (canonical serialization).
"""
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from config import TestingConfig
from tickets import create_app
from tickets.audit import verify_all
from tickets.extensions import db
from tickets.models.search import include_name
from tickets.models import Event, Ticket
from tickets.reference import ensure_reference_data
from tickets.services.actions import record_feedback
from tickets.services.calendar import seed_year
from tickets.timeutil import from_local, set_now

from .conftest import Park, accept, file_request, handle


def _scenario(url: str) -> list[tuple[str, int, str]]:
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        db.drop_all()
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}), db.metadata)
        assert diff == [], f"models and migrations differ on {url.split(':')[0]}: {diff}"
        ensure_reference_data()
        seed_year(2026)
        try:
            set_now(from_local(datetime(2026, 9, 29, 9, 30, 0, 123456)))
            park = Park()
            t = file_request(park, title="用工缺口 “30人” <急>")
            set_now(from_local(datetime(2026, 9, 29, 14, 0)))
            accept(park, t)
            set_now(from_local(datetime(2026, 10, 9, 10, 0)))
            handle(park, t)
            set_now(from_local(datetime(2026, 10, 10, 11, 0)))
            record_feedback(t, park.firm_user, solved="yes", rating="satisfied", comment="好")
        finally:
            set_now(None)
        checked, breaks = verify_all()
        assert checked == 1 and breaks == []
        rows = [(e.action, e.seq, e.hash) for e in db.session.scalars(db.select(Event).order_by(Event.seq))]
        ticket = db.session.scalar(db.select(Ticket))
        assert ticket.state == "fed_back" and ticket.head_hash == rows[-1][2]
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    return rows


def test_same_chain_bytes_on_sqlite_and_postgres(pg_url, tmp_path):
    on_pg = _scenario(pg_url)
    on_sqlite = _scenario(f"sqlite:///{tmp_path / 'same.db'}")
    assert len(on_pg) >= 5
    assert on_pg == on_sqlite
