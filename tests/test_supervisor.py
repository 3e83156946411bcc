"""`make run` keeps its children running: one that dies is started again after a backoff.

Real child processes throughout: short Python programs for the backoff, and the web child
exactly as scripts/run.py starts it, killed with SIGKILL and asked over HTTP.
"""
from __future__ import annotations

import http.client
import os
import signal
import sys
import time

import pytest

from .procs import python_path, without_faketime
from .test_server_header import ROOT, free_port, launcher

run = launcher()


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def child_env(tmp_path) -> dict:
    return without_faketime(dict(os.environ, BIHUAN_ENV="testing", PYTHONPATH=python_path(ROOT),
                                 TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'sup.db'}"))


@pytest.fixture
def supervisor(tmp_path):
    lines: list[str] = []
    sups = []

    def make(**kw):
        sup = run.Supervisor(child_env(tmp_path), log=lines.append, **kw)
        sups.append(sup)
        return sup

    yield make, lines
    for sup in sups:
        sup.stop()


def test_a_child_that_keeps_dying_is_restarted_with_a_doubling_backoff(supervisor, tmp_path):
    make, lines = supervisor
    stamps = tmp_path / "starts"
    sup = make(first=0.2, longest=0.8, steady=60)
    # Writes the moment it started, then dies at once.
    sup.add("crasher", [sys.executable, "-c",
                        f"import time; open({str(stamps)!r}, 'a').write(f'{{time.monotonic()}}\\n'); raise SystemExit(3)"])
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and len(stamps.read_text().split() if stamps.exists() else []) < 5:
        sup.check()
        time.sleep(0.02)
    starts = [float(x) for x in stamps.read_text().split()]
    assert len(starts) >= 5
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # 0.2, 0.4, 0.8, then capped at 0.8 (plus the time a Python start takes).
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8 and gaps[3] >= 0.8
    assert gaps[3] < 0.8 + 1.0, gaps  # capped: not 1.6
    assert "crasher exited with code 3; restarting it in 0.2 s" in lines
    assert "crasher exited with code 3; restarting it in 0.8 s" in lines
    assert any(line.startswith("Restarting crasher") for line in lines)


def test_the_backoff_starts_again_after_a_steady_run(supervisor):
    make, lines = supervisor
    sup = make(first=0.1, longest=5, steady=0.3)
    sup.add("steady", [sys.executable, "-c", "import time; time.sleep(0.5)"])
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and sum("exited" in x for x in lines) < 3:
        sup.check()
        time.sleep(0.02)
    exits = [x for x in lines if "exited" in x]
    assert len(exits) >= 3 and all(x.endswith("restarting it in 0.1 s") for x in exits), exits


def test_stop_ends_every_child_and_restarts_none(supervisor):
    make, lines = supervisor
    sup = make(first=0.1)
    procs = [sup.add(f"sleeper{i}", [sys.executable, "-c", "import time; time.sleep(60)"]) for i in range(2)]
    sup.stop()
    assert all(p.poll() is not None for p in procs)
    sup.check()
    time.sleep(0.2)
    sup.check()
    assert not any(x.startswith("Restarting") for x in lines)


def healthz(port: int) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    except OSError:
        return None


def test_the_web_child_of_make_run_comes_back_after_sigkill(supervisor):
    make, lines = supervisor
    port = free_port()
    sup = make(first=0.5)
    web = sup.add("web", run.children_argv(port)["web"])
    wait_until(lambda: healthz(port) == 200, 30, "the web child to serve")
    os.kill(web.pid, signal.SIGKILL)
    wait_until(lambda: web.poll() is not None, 5, "the web child to die")
    assert healthz(port) is None  # refused: nobody listens

    def served():
        sup.check()
        return healthz(port) == 200

    wait_until(served, 20, "the web child to be back")
    assert "web exited with code -9; restarting it in 0.5 s" in lines
    assert sup.processes["web"].pid != web.pid


def test_make_run_starts_one_worker_per_channel_queue():
    argv = run.children_argv(5000)
    assert list(argv) == ["web", "beat", "worker-main", "worker-email", "worker-webhook"]
    queues = {name: a[a.index("-Q") + 1] for name, a in argv.items() if "-Q" in a}
    assert queues == {"worker-main": "celery,inapp", "worker-email": "email", "worker-webhook": "webhook"}
    assert all("--concurrency=1" in argv[name] for name in queues)
