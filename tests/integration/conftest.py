"""Real processes for the integration tests: a Redis server, an SMTP server on loopback,
a SQLite file database shared with a Celery worker process, and that worker.

Each costly process starts once per test module; `delivery` (per test) cleans the
tables, empties Redis and the mailbox, and makes sure Redis and SMTP are up.
"""
from __future__ import annotations

import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import psutil
import pytest

from config import TestingConfig
from tests.conftest import KNOWN_NOW
from tests.pgsuite import separate_url
from tests.procs import python_path, without_faketime
from tickets.timeutil import set_offset

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin, where `celery` and `pybabel` live
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# The worker is given only the port the app is served on, as `make run` serves it on PORT:
# the links in the e-mails it writes must point there (config.py builds BASE_URL from it).
PORT = "5901"
BASE_URL = f"http://127.0.0.1:{PORT}"
# Real keys, as the worker's development config wants (it refuses the published test keys);
# the test's app uses them too, so that chains written by the test and the worker both verify.
AUDIT_KEY = secrets.token_hex(32)
SECRET_KEY = secrets.token_hex(32)
BACKOFF_SECONDS = 1
MAX_ATTEMPTS = 3
# A short visibility timeout, still above the hard time limit (config.py says why).
TASK_TIME_LIMIT = 8
VISIBILITY_TIMEOUT = 10
# Tables that hold the park (people, firms, reference data); every other table is emptied between tests.
KEEP_TABLES = {"departments", "categories", "users", "user_roles", "firms", "calendar_years",
               "calendar_days", "ticket_counters"}


def system_now() -> datetime:
    """The machine's clock (naive UTC): only to work out the offset of the module's clock."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll until predicate() is truthy and return its value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- Redis

class RedisServer:
    """`redis-server` on a free port, with no persistence; stop() and start() keep the port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=2, socket_connect_timeout=2)

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=without_faketime())
        log.close()
        wait_for(lambda: self.ping() or (self.proc.poll() is not None and self._died()), 10,
                 f"redis-server on port {self.port}")

    def _died(self):
        raise AssertionError(f"redis-server exited: {(self.dir / 'redis.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if not self.running:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        wait_for(lambda: not _port_open(self.port), 5, f"port {self.port} to close")

    def flush(self) -> None:
        self.client().flushall()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    if not Path(REDIS_SERVER).exists():
        pytest.fail("redis-server is not installed: run scripts/install_system_deps.sh (make system-deps)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- SMTP

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Mailbox:
    """The aiosmtpd handler: every message received, parsed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[Received] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


class SmtpServer:
    """An aiosmtpd Controller on 127.0.0.1; stop() and start() keep the port."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller = None

    @property
    def running(self) -> bool:
        return self.controller is not None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        if self.running:
            return
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if not self.running:
            return
        self.controller.stop()
        self.controller = None
        wait_for(lambda: not _port_open(self.port), 5, f"port {self.port} to close")

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        return [r.message for r in self.mailbox.messages() if to is None or to in r.rcpt_tos]


@pytest.fixture(scope="module")
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- the database and the test app

def compile_catalogs() -> None:
    """Compile the catalogues when a .mo is missing or older than its .po (as `make translations` does)."""
    stale = [po for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po")
             if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime]
    if stale:
        subprocess.run([str(BIN / "pybabel"), "-q", "compile", "-d", str(ROOT / "translations"), "-f"],
                       check=True, cwd=ROOT)


class WorkerEnv:
    """The shared SQLite file, the test app bound to it, and the environment a worker needs."""

    def __init__(self, app, db_path: Path, env: dict[str, str], users: dict[str, int], root: Path,
                 offset: timedelta):
        self.app = app
        self.offset = offset  # of the module's running clock, shared with the worker
        self.db_path = db_path
        self.env = env
        self.users = users  # attribute name on Park (or extra name) -> user id
        self.root = root


@contextmanager
def worker_env_on(uri: str, root: Path, redis_server, smtp_server, **settings):
    """The test app on the database at `uri` (emptied, then the park), and the environment of a worker on it.

    `settings` (config names) go to the test app and, as environment variables, to every worker.
    """
    from flask import g, request_started

    from tickets import create_app
    from tickets.extensions import db
    from tickets.reference import ensure_reference_data
    from tests.conftest import Park

    compile_catalogs()

    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = uri
        REDIS_URL = redis_server.url
        SMTP_HOST = "127.0.0.1"
        SMTP_PORT = smtp_server.port
        SMTP_TIMEOUT = 3.0
        SMTP_STARTTLS = False
        SMTP_SSL = False
        SMTP_USER = ""
        MAIL_DIR = str(root / "mail")
        UPLOAD_DIR = str(root / "uploads")
        BASE_URL = BASE_URL
        OUTBOX_BACKOFF_SECONDS = BACKOFF_SECONDS
        OUTBOX_MAX_ATTEMPTS = MAX_ATTEMPTS
        DELIVERY_TEST_DELAY_SECONDS = 0
        WTF_CSRF_ENABLED = False
        AUDIT_KEY = globals()["AUDIT_KEY"]
        SECRET_KEY = globals()["SECRET_KEY"]

    for name, value in settings.items():
        setattr(Cfg, name, value)
    app = create_app(Cfg)
    assert app.config["AUDIT_KEY"] == AUDIT_KEY

    # The tests keep an app context pushed, which each test-client request reuses; Flask-Login
    # and Flask-Babel cache the signed-in user and the locale on `g`, so forget them per request.
    def forget_cached_user(sender, **extra):
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)

    request_started.connect(forget_cached_user, app, weak=False)
    with app.app_context(), pytest.MonkeyPatch.context() as mp:
        # The cheap hash of tests/conftest.py: a dozen scrypt hashes cost seconds.
        import tickets.models.org as org
        from werkzeug import security

        real = security.generate_password_hash
        mp.setattr(org, "generate_password_hash",
                   lambda password, method=None, salt_length=16: real(password, "pbkdf2:sha256:1000"))
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        park = Park()
        # A second coordinator, inactive until a test needs two languages.
        coord2 = park.user("coord2", "coordinator")
        coord2.active = False
        db.session.commit()
        users = {name: u.id for name, u in vars(park).items() if hasattr(u, "username")}
        users["coord2"] = coord2.id
        if db.engine.dialect.name == "sqlite":
            mode = db.session.execute(db.text("PRAGMA journal_mode")).scalar()
            assert mode == "wal", mode
        db.session.remove()

    # Every process of the module (this one and the worker) runs the same clock: the system
    # clock moved so that it read KNOWN_NOW when the module started. The date is known, time passes.
    offset = timedelta(seconds=round((KNOWN_NOW - system_now()).total_seconds()))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SMTP_", "OUTBOX_", "CELERY_", "DELIVERY_TEST_", "TEST_", "FLASK_", "BIHUAN_"))
           and k not in ("BASE_URL", "PORT")}
    env.update({
        "BIHUAN_ENV": "development",
        "BIHUAN_INSTANCE": str(root / "instance"),
        "DATABASE_URL": uri,
        "REDIS_URL": redis_server.url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_TIMEOUT": "3",
        "MAIL_DIR": str(root / "mail"),
        "UPLOAD_DIR": str(root / "uploads"),
        "AUDIT_KEY": AUDIT_KEY,
        "SECRET_KEY": SECRET_KEY,
        "PORT": PORT,
        "OUTBOX_BACKOFF_SECONDS": str(BACKOFF_SECONDS),
        "OUTBOX_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "CELERY_TASK_TIME_LIMIT": str(TASK_TIME_LIMIT),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": python_path(ROOT),
        "BIHUAN_CLOCK_OFFSET": str(int(offset.total_seconds())),
    })
    env.update({name: str(value) for name, value in settings.items()})
    db_path = Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None
    try:
        yield WorkerEnv(app, db_path, env, users, root, offset)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory, redis_server, smtp_server):
    root = tmp_path_factory.mktemp("delivery")
    # The suite's database: a SQLite file, or a database of the module's own in the run's PostgreSQL
    # cluster (TEST_DB=postgresql, tests/pgsuite.py); the worker gets it as DATABASE_URL.
    with worker_env_on(separate_url(root, "delivery"), root, redis_server, smtp_server) as env:
        yield env


# --------------------------------------------------------------------------- the Celery worker

TASK_DONE = re.compile(r"Task worker\.tasks\.(\w+)\[([0-9a-f-]+)\] (succeeded|raised|failed|retry)[^\n]*")


class CeleryWorker:
    """`celery -A worker.app worker` as a separate process, its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 1, queues: str | None = None,
                 name: str = "test"):
        self.base_env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.queues = queues  # "-Q": None consumes every queue (worker/celery_app.py)
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.log_offset = 0

    def start(self, **extra_env: str) -> None:
        assert self.proc is None or self.proc.poll() is not None, "worker already running"
        self.log_path.touch()
        self.log_offset = self.log_path.stat().st_size
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "worker.app", "worker", "--loglevel=INFO",
             f"--concurrency={self.concurrency}", "--pool=prefork", "-n", f"{self.name}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat", *(["-Q", self.queues] if self.queues else [])],
            cwd=ROOT, env=self.base_env | extra_env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"the worker exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            return re.search(r"@\S+ ready\.", self.log())

        try:
            wait_for(ready, 30, "the Celery worker to be ready", interval=0.2)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def restart(self, **extra_env: str) -> None:
        self.stop()
        self.start(**extra_env)

    def log(self) -> str:
        """The log of the current run of the worker."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode("utf-8", "replace")

    def pool_pids(self) -> list[int]:
        """The prefork pool's child processes of the worker's main process."""
        return [c.pid for c in psutil.Process(self.proc.pid).children()]

    def task_outcome(self, task_id: str) -> str | None:
        """The logged end of a task ('succeeded ...: 'sent'' and so on), or None while it has not ended."""
        for m in TASK_DONE.finditer(self.log()):
            if m.group(2) == task_id:
                return m.group(0)
        return None


@pytest.fixture(scope="module")
def celery_worker(worker_env):
    worker = CeleryWorker(worker_env.env, worker_env.root / "worker.log")
    worker.start()
    yield worker
    worker.stop()


# --------------------------------------------------------------------------- per test

class Delivery:
    """What a delivery test drives: the test app, the relay, and the rows it watches."""

    def __init__(self, env: WorkerEnv, worker: CeleryWorker, redis: RedisServer, smtp: SmtpServer):
        from tickets.extensions import db

        self.env = env
        self.app = env.app
        self.db = db
        self.worker = worker
        self.redis = redis
        self.smtp = smtp

    def user(self, name: str | int):
        """A user of the park by its Park attribute name ("coordinator", "firm_user", ...) or id."""
        from tickets.models import User

        return self.db.session.get(User, name if isinstance(name, int) else self.env.users[name])

    def login(self, client, name: str):
        from tests.conftest import PASSWORD

        client.post("/logout")
        resp = client.post("/login", data={"username": self.user(name).username, "password": PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        return client

    def relay(self) -> int:
        """One run of the real relay task's code, here in the test process (publishing to the real Redis)."""
        from worker.tasks import relay_outbox

        return relay_outbox()

    def rows(self, *where, **filters):
        """Outbox rows as they are in the database now (a fresh read, not this session's snapshot)."""
        from tickets.models import OutboxMessage

        self.db.session.rollback()
        self.db.session.expire_all()
        return list(self.db.session.scalars(
            self.db.select(OutboxMessage).where(*where).filter_by(**filters).order_by(OutboxMessage.id)))

    def notifications(self, **filters):
        from tickets.models import Notification

        self.db.session.rollback()
        return list(self.db.session.scalars(self.db.select(Notification).filter_by(**filters)))

    def wait_done(self, ids: list[int], timeout: float = 30.0):
        """Wait until no row of `ids` is pending; return the rows."""
        from tickets.models import OutboxMessage

        def done():
            rows = self.rows(OutboxMessage.id.in_(ids))
            return rows if rows and all(r.status != "pending" for r in rows) else None

        try:
            return wait_for(done, timeout, f"outbox rows {ids} to be delivered", interval=0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\nrows: {[(r.id, r.status, r.attempts, r.last_error) for r in self.rows(OutboxMessage.id.in_(ids))]}"
                                 f"\nworker log:\n{self.worker.log()[-4000:]}") from None

    def wait_task(self, task_id: str, timeout: float = 30.0) -> str:
        return wait_for(lambda: self.worker.task_outcome(task_id), timeout, f"task {task_id} to end")


def _clean_tables(db) -> None:
    """Delete every row but the park's, children first."""
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in KEEP_TABLES:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(scope="module")
def celery_app(worker_env):
    """The test process's Celery app, bound to the test app: what the relay publishes with."""
    from worker.celery_app import celery_init_app

    return celery_init_app(worker_env.app)


@pytest.fixture
def delivery(worker_env, celery_worker, celery_app, redis_server, smtp_server):
    from tickets.models import User
    from tickets.timeutil import set_now

    set_offset(worker_env.offset)  # the worker's clock, not the frozen one of tests/conftest.py
    redis_server.start()
    smtp_server.start()
    if celery_worker.proc.poll() is not None:
        celery_worker.start()
    redis_server.flush()
    smtp_server.mailbox.clear()
    with worker_env.app.app_context():
        from tickets.extensions import db

        _clean_tables(db)
        for user in db.session.scalars(db.select(User)):
            user.language = "zh"
            user.active = user.id != worker_env.users["coord2"]
        db.session.commit()
        yield Delivery(worker_env, celery_worker, redis_server, smtp_server)
        db.session.remove()
    set_now(None)
