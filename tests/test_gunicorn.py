"""The app under real gunicorn with the repository's gunicorn.conf.py, as production starts it."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import time

import pytest

from .procs import without_faketime
from .test_server_header import ROOT, free_port


def get(port: int, path: str, headers=None) -> tuple[int, dict, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = without_faketime(dict(
        os.environ, BIHUAN_ENV="production", GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}", BIHUAN_INSTANCE=str(tmp_path),
        SECRET_KEY=secrets.token_hex(32), AUDIT_KEY=secrets.token_hex(32),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", UPLOAD_DIR=str(tmp_path / "uploads")))
    for name in ("LOG_FORMAT", "BIHUAN_FROZEN_NOW", "BIHUAN_CLOCK_OFFSET", "TEST_DATABASE_URL"):
        env.pop(name, None)
    out = open(tmp_path / "gunicorn.out", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 40
    while True:
        try:
            if get(port, "/healthz")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.out").read_text(errors="replace"))
        time.sleep(0.2)
    yield port, tmp_path / "gunicorn.out"
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out.close()


def test_gunicorn_serves_health_and_a_page_with_json_logs(gunicorn):
    port, out = gunicorn
    status, headers, body = get(port, "/healthz")
    assert (status, body) == (200, "ok") and headers["cache-control"] == "no-store"
    assert "set-cookie" not in headers
    status, headers, body = get(port, "/login", {"X-Request-ID": "lb-42.a_b"})
    assert status == 200 and "<form" in body
    assert headers["x-request-id"] == "lb-42.a_b"
    assert headers["server"] == "gunicorn"
    # Nothing listens on REDIS_URL: not ready, and says which.
    status, _, body = get(port, "/readyz")
    assert status == 503 and json.loads(body) == {"database": "ok", "redis": "unavailable"}

    def lines():
        return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]

    deadline = time.monotonic() + 5
    while not any(x.get("path") == "/login" and x["logger"] == "gunicorn.access" for x in lines()):
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.1)
    logged = lines()  # every line is JSON: json.loads raised otherwise
    app_line = [x for x in logged if x["logger"] == "bihuan.request" and x["path"] == "/login"]
    access = [x for x in logged if x["logger"] == "gunicorn.access" and x["path"] == "/login"]
    assert app_line[0]["request_id"] == access[0]["request_id"] == "lb-42.a_b"
    assert app_line[0]["status"] == 200 and app_line[0]["method"] == "GET"
    assert any("Booting worker" in x["message"] for x in logged)
