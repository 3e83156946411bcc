"""The app survives a PostgreSQL restart: 503 (never 500) while it is down, served again after.

A real cluster (tests/pg.py) is stopped with `pg_ctl stop -m fast` under a running app whose
pool holds connections, and started again on the same port and data; the app is not restarted.
"""
from __future__ import annotations

import json

import pytest

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data

from .conftest import Park
from .conftest import PASSWORD
from .pg import TempPostgres


@pytest.fixture(scope="module")
def pg():
    server = TempPostgres().start()
    yield server
    server.stop()


@pytest.fixture
def pg_app(pg, tmp_path):
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = pg.url
        UPLOAD_DIR = str(tmp_path / "uploads")
        DB_DOWN_RETRY_AFTER = 7
        # Nothing listens here: /readyz is about the database in these tests, Redis is its own test.
        REDIS_URL = "redis://127.0.0.1:9/0"

    app = create_app(Cfg)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        park = Park()
        db.session.remove()
    yield app, park
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        db.drop_all()


def sign_in(client):
    resp = client.post("/login", data={"username": "coord", "password": PASSWORD})
    assert resp.status_code == 302


def test_a_postgres_restart_gives_503_then_serves_again(pg, pg_app):
    app, _park = pg_app
    client = app.test_client()
    sign_in(client)
    assert client.get("/desk/tickets").status_code == 200
    assert client.get("/readyz").get_json()["database"] == "ok"

    pg.stop_server()
    try:
        # The signed-in page: the user is loaded from the database that is gone.
        resp = client.get("/desk/tickets")
        assert resp.status_code == 503, resp.get_data(as_text=True)[:500]
        assert resp.headers["Retry-After"] == "7"
        html = resp.get_data(as_text=True)
        assert "The database is not reachable at the moment" in html and 'lang="zh"' in html
        # The API answers in its own format.
        api = client.get("/api/v1/tickets", headers={"Authorization": "Bearer x"})
        assert api.status_code == 503 and api.mimetype == "application/problem+json"
        body = json.loads(api.get_data(as_text=True))
        assert body["code"] == "database_unavailable" and set(body["messages"]) == {"en", "zh"}
        assert api.headers["Retry-After"] == "7"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json() == {"database": "unavailable", "redis": "unavailable"}
        # The process itself is fine: the load balancer must not kill it.
        assert client.get("/healthz").status_code == 200
    finally:
        pg.start_server()

    # Back: the same app, the same session cookie, no restart.
    resp = client.get("/desk/tickets")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert client.get("/readyz").get_json()["database"] == "ok"


def test_a_restart_between_requests_is_not_even_seen(pg, pg_app):
    """pool_pre_ping: the connections the restart broke are replaced when taken from the pool."""
    app, _park = pg_app
    client = app.test_client()
    sign_in(client)
    assert client.get("/desk/tickets").status_code == 200
    pg.restart()
    assert client.get("/desk/tickets").status_code == 200


def test_engine_options_for_postgres(pg_app, monkeypatch):
    app, _park = pg_app
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True and options["pool_recycle"] > 0
    assert options["connect_args"]["connect_timeout"] > 0
    from config import engine_options

    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "1")
    opts = engine_options("postgresql+psycopg://x@h/db")
    assert (opts["pool_size"], opts["max_overflow"]) == (3, 1)
    assert "prepare_threshold" not in opts["connect_args"]
    monkeypatch.setenv("DB_PGBOUNCER", "1")
    assert engine_options("postgresql+psycopg://x@h/db")["connect_args"]["prepare_threshold"] is None
    assert engine_options("sqlite:///x.db") == {}
    assert engine_options("postgresql://x@h/db", {"pool_size": 9})["pool_size"] == 9
