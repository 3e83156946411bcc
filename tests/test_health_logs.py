"""/healthz and /readyz, and the JSON log line of each request with its request id."""
from __future__ import annotations

import json
import socket

import pytest

from config import TestingConfig
from tickets import create_app, logs
from tickets.extensions import db

from .conftest import app_on


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_touches_nothing(app, client, park, login, monkeypatch):
    login(park.coordinator)  # even with a session cookie, no user is loaded
    calls = []
    monkeypatch.setattr(db.session, "execute", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(app.login_manager, "_user_callback", lambda token: calls.append(token))
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "ok"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in resp.headers
    assert calls == []


def test_health_sets_no_session_cookie(client):
    for path in ("/healthz", "/readyz"):
        assert "Set-Cookie" not in client.get(path).headers


def test_readyz_503_when_redis_is_down(tmp_path):
    class Cfg(TestingConfig):
        REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
        READY_TIMEOUT_SECONDS = 0.5

    with app_on(f"sqlite:///{tmp_path / 'r.db'}", tmp_path) as app:
        app.config.update(REDIS_URL=Cfg.REDIS_URL, READY_TIMEOUT_SECONDS=0.5)
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503
        assert resp.get_json() == {"database": "ok", "redis": "unavailable"}
        assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_200_with_a_real_redis(tmp_path):
    from .integration.conftest import RedisServer

    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        with app_on(f"sqlite:///{tmp_path / 'r.db'}", tmp_path) as app:
            app.config["REDIS_URL"] = server.url
            resp = app.test_client().get("/readyz")
            assert resp.status_code == 200 and resp.get_json() == {"database": "ok", "redis": "ok"}
    finally:
        server.stop()


def test_readyz_503_when_the_database_is_unreachable(tmp_path):
    class Cfg(TestingConfig):
        # A PostgreSQL port where nothing listens: the connection is refused.
        SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg://bihuan@127.0.0.1:{closed_port()}/bihuan"
        REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
        READY_TIMEOUT_SECONDS = 0.5

    app = create_app(Cfg)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json() == {"database": "unavailable", "redis": "unavailable"}


# --- logs ---------------------------------------------------------------------------------------

def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def json_app(tmp_path):
    class Cfg(TestingConfig):
        LOG_FORMAT = "json"

    app = create_app(Cfg)
    logs.configure_for(app)  # as wsgi.py does
    yield app
    logs.unconfigure()


def test_a_request_logs_one_json_line_with_the_id_it_answers(json_app, capsys):
    capsys.readouterr()
    resp = json_app.test_client().get("/healthz", headers={"X-Request-ID": "proxy-7.a_b"})
    assert resp.headers["X-Request-ID"] == "proxy-7.a_b"
    lines = [x for x in json_lines(capsys.readouterr().out) if x["logger"] == "bihuan.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "proxy-7.a_b"
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/healthz", 200, "INFO")
    assert line["duration_ms"] >= 0 and line["time"].endswith("Z")


@pytest.mark.parametrize("bad", ["x" * 65, "a b", "<script>", "id\u00e9", ""])
def test_a_bad_request_id_is_replaced(json_app, capsys, bad):
    capsys.readouterr()
    resp = json_app.test_client().get("/healthz", headers={"X-Request-ID": bad})
    rid = resp.headers["X-Request-ID"]
    assert rid != bad and logs.REQUEST_ID.fullmatch(rid)
    line = [x for x in json_lines(capsys.readouterr().out) if x["logger"] == "bihuan.request"][0]
    assert line["request_id"] == rid


def test_every_line_of_a_request_carries_its_id_and_no_secret(tmp_path, capsys):
    with app_on(f"sqlite:///{tmp_path / 'l.db'}", tmp_path) as app:
        from .conftest import PASSWORD, Park

        park = Park()
        logs.configure("json")
        try:
            client = app.test_client()
            capsys.readouterr()
            resp = client.post("/login", data={"username": "coord", "password": PASSWORD},
                               headers={"X-Request-ID": "signin-1"})
            assert resp.status_code == 302
            client.get("/desk/tickets?q=secret-search", headers={"X-Request-ID": "desk-1"})
            out = capsys.readouterr().out
        finally:
            logs.unconfigure()
    lines = json_lines(out)  # every line is one JSON object
    desk = [x for x in lines if x.get("request_id") == "desk-1" and x["logger"] == "bihuan.request"][0]
    assert desk["user_id"] == park.coordinator.id and desk["path"] == "/desk/tickets"
    assert PASSWORD not in out and "secret-search" not in out and "session=" not in out


def test_production_logs_json_by_default():
    """Read in a fresh interpreter: config.py reads the environment when it is imported."""
    import os
    import subprocess
    import sys

    from .procs import python_path
    from .test_server_header import ROOT

    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    env["PYTHONPATH"] = python_path(ROOT)
    out = subprocess.run([sys.executable, "-c", "import config; print(config.ProductionConfig.LOG_FORMAT, "
                          "config.DevelopmentConfig.LOG_FORMAT, config.TestingConfig.LOG_FORMAT)"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["json", "text", "text"]
