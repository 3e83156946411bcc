"""No server version in `Server`, from outside: the web server `make run` starts, and gunicorn.

Each server runs as its own process on a free port, started with the command line that
`scripts/run.py` uses (or gunicorn's, as in production), and is asked over real HTTP.
"""
from __future__ import annotations

import http.client
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .pgsuite import suite_url
from .procs import without_faketime

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launcher():
    """scripts/run.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("bihuan_run", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(argv: list[str], port: int, tmp_path):
    env = without_faketime(dict(os.environ, BIHUAN_ENV="testing",
                                TEST_DATABASE_URL=suite_url(tmp_path, "server.db")))
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc, log
        time.sleep(0.1)
    proc.kill()
    log.close()
    pytest.fail("the server did not start:\n" + (tmp_path / "server.log").read_text(errors="replace"))


def headers_of(port: int, path: str) -> tuple[int, list[tuple[str, str]]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheaders()
    finally:
        conn.close()


def check_no_version(port: int) -> None:
    for path, status in (("/login", 200), ("/no-such-page", 404), ("/static/app.css", 200)):
        got, headers = headers_of(port, path)
        assert got == status, (path, got)
        servers = [v for k, v in headers if k.lower() == "server"]
        assert len(servers) <= 1, servers
        for value in servers:
            # No product version ("Werkzeug/3.1.3", "gunicorn/23.0.0") and no "Python/3.11".
            assert not re.search(r"\d", value) and "/" not in value, (path, value)
            assert "werkzeug" not in value.lower() and "python" not in value.lower(), (path, value)
        # The app itself answered: its headers are there behind this server too.
        assert any(k.lower() == "content-security-policy" for k, _ in headers), path


def stop(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def test_the_make_run_web_server_names_no_version(tmp_path):
    port = free_port()
    argv = launcher().web(port)
    assert argv[1:3] == ["-m", "tickets.serving"]
    proc, log = serve(argv, port, tmp_path)
    try:
        check_no_version(port)
    finally:
        stop(proc, log)


def test_gunicorn_names_no_version(tmp_path):
    port = free_port()
    proc, log = serve([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                       "wsgi:app"], port, tmp_path)
    try:
        check_no_version(port)
    finally:
        stop(proc, log)
