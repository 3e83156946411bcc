"""The sign-in throttle on a real Redis (redis-server on a free port), shared by two web apps as by
two processes; and with Redis down: sign-in still works, and is still throttled."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data
from tickets.throttle import account_key

from .account_support import sign_in, signed_in
from .conftest import Park, drop_everything
from .procs import without_faketime

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
WRONG = "not-the-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=without_faketime())
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_client(redis_port):
    import redis

    client = redis.Redis(host="127.0.0.1", port=redis_port, socket_timeout=1)
    client.flushall()
    yield client
    client.flushall()


def _app(tmp_path, storage_uri: str):
    class Cfg(TestingConfig):
        RATELIMIT_STORAGE_URI = storage_uri
        UPLOAD_DIR = str(tmp_path / "uploads")
        SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'test.db'}")

    app = create_app(Cfg)

    def fresh_user():
        from flask import g

        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_user)
    return app


@pytest.fixture
def two_apps(tmp_path, redis_client, redis_port):
    """Two web apps on one database and one Redis: two processes of one deployment."""
    uri = f"redis://127.0.0.1:{redis_port}/0"
    first, second = _app(tmp_path, uri), _app(tmp_path, uri)
    with first.app_context():
        drop_everything()
        db.create_all()
        ensure_reference_data()
        park = Park()
        yield first, second, park
        db.session.remove()
        drop_everything()


def test_failures_are_counted_in_redis_and_shared_by_every_process(two_apps, redis_client):
    first, second, park = two_apps
    one, other = first.test_client(), second.test_client()
    for i in range(5):
        assert sign_in(one, park.coordinator.username, WRONG).status_code == 200
    assert sign_in(one, park.coordinator.username).status_code == 429
    # The other process reads the same counts: the account is locked there too.
    assert sign_in(other, park.coordinator.username).status_code == 429
    keys = [k.decode() for k in redis_client.keys("*")]
    assert any(account_key(park.coordinator.username) in k and "signin-account" in k for k in keys), keys
    assert not any(park.coordinator.username in k for k in keys)  # only its hash ("coord" is not hex)
    # An admin on the other process unlocks it for every process.
    admin = second.test_client()
    assert sign_in(admin, park.admin.username).status_code == 302
    assert admin.post(f"/admin/users/{park.coordinator.id}/unlock").status_code == 302
    assert sign_in(one, park.coordinator.username).status_code == 302
    assert signed_in(one)


def test_with_redis_down_sign_in_still_works_and_is_still_throttled(tmp_path):
    closed = free_port()  # nothing listens there
    app = _app(tmp_path, f"redis://127.0.0.1:{closed}/0")
    with app.app_context():
        drop_everything()
        db.create_all()
        ensure_reference_data()
        park = Park()
        client = app.test_client()
        assert sign_in(client, park.leader.username).status_code == 302
        assert signed_in(client)
        client.post("/logout")
        for i in range(5):
            assert sign_in(client, park.coordinator.username, WRONG).status_code == 200
        assert sign_in(client, park.coordinator.username).status_code == 429
        assert not signed_in(client)
        db.session.remove()
        drop_everything()
