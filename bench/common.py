"""What both benchmarks share: a fresh database, an app on it, a small park, the machine.

Run from the repository root with the project's virtual environment; the
scripts put the root on sys.path themselves.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The bench's users never log in: a cheap hash instead of scrypt for each of them.
CHEAP_HASH = "pbkdf2:sha256:1000"


def sqlite_url(name: str) -> str:
    """A fresh SQLite file under bench/out/ (the old one and its WAL removed)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


@contextmanager
def database(kind: str, sqlite_name: str):
    """Yield a database URL: a fresh SQLite file, or a throwaway PostgreSQL server."""
    if kind == "sqlite":
        yield sqlite_url(sqlite_name)
        return
    from tests.pg import TempPostgres

    pg = TempPostgres().start()
    try:
        yield pg.url
    finally:
        pg.stop()


def make_app(url: str, **extra):
    """An app built from TestingConfig on `url` (AUDIT_KEY "test-audit-key", like the tests)."""
    from config import TestingConfig
    from tickets import create_app

    attrs = {"SQLALCHEMY_DATABASE_URI": url, "MAIL_DIR": str(OUT / "mail"), "UPLOAD_DIR": str(OUT / "uploads")}
    attrs.update(extra)
    cfg = type("BenchConfig", (TestingConfig,), attrs)
    return create_app(cfg)


def add_hello(app) -> None:
    """/__hello on the bench app only: the floor every page is measured against.

    Every endpoint needs its rule in tickets/permissions.ENDPOINTS (unknown ones are refused):
    this one is public, and only in the bench's process.
    """
    from tickets.permissions import ENDPOINTS

    ENDPOINTS["bench_hello"] = "public"
    app.add_url_rule("/__hello", "bench_hello", lambda: "hello")


def create_schema() -> None:
    """db.create_all() and the reference data (departments, categories), in an app context."""
    from tickets.extensions import db
    from tickets.reference import ensure_reference_data

    db.create_all()
    ensure_reference_data()


class Park:
    """A small park: a coordinator, a leader, an inspector, a head and an official per department, firms.

    Every user has an e-mail address, so each notification goes to the inbox and by e-mail.
    """

    def __init__(self, firms: int = 5):
        from werkzeug.security import generate_password_hash

        from tickets.extensions import db
        from tickets.models import Category, Department

        self._hash = generate_password_hash("bench-password", CHEAP_HASH)
        self.depts = {d.code: d for d in db.session.scalars(db.select(Department).order_by(Department.id))}
        self.categories = list(db.session.scalars(db.select(Category).order_by(Category.id)))
        self.coordinator = self.user("coord", "coordinator")
        self.leader = self.user("leader", "leader")
        self.inspector = self.user("inspector", "inspector")
        self.heads, self.officials = {}, {}
        for code, dept in self.depts.items():
            self.heads[dept.id] = self.user(f"{code}_head", "official", dept=dept, head=True)
            self.officials[dept.id] = self.user(f"{code}_off", "official", dept=dept)
        self.firms, self.firm_users = [], []
        for n in range(1, firms + 1):
            firm = self.firm(n, liaison=self.leader)
            self.firms.append(firm)
            self.firm_users.append(self.user(f"firm{n}", "firm", firm=firm))
        db.session.commit()

    def user(self, username, *roles, dept=None, head=False, firm=None):
        from tickets.extensions import db
        from tickets.models import User

        u = User(username=username, name=username.replace("_", " ").title(), email=f"{username}@example.test",
                 mobile="13800138000", language="zh", is_head=head, password_hash=self._hash,
                 department_id=dept.id if dept else None, firm_id=firm.id if firm else None)
        u.set_roles(roles)
        db.session.add(u)
        db.session.flush()
        return u

    def firm(self, n, liaison=None):
        from tickets.extensions import db
        from tickets.models import Firm
        from tickets.validators import credit_check_char

        first17 = f"91330100{n:09d}"
        f = Firm(name=f"Bench Firm {n}", credit_code=first17 + credit_check_char(first17), address="High-tech park",
                 contact_name="Contact", contact_phone="13800138000", liaison_id=liaison.id if liaison else None)
        db.session.add(f)
        db.session.flush()
        return f


def machine() -> str:
    """One line about where the figures were measured."""
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; RAM {ram_gb:.1f} GiB; "
            f"{cpu or platform.processor()}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; load average {load()}")


def load() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine shows in every figure."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def versions(url: str) -> str:
    import sqlite3

    import sqlalchemy

    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}"
    pg = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
    try:
        out = subprocess.run([f"{pg}/postgres", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        out = "PostgreSQL"
    return f"{out} (tests/pg.py TempPostgres, fsync=off), SQLAlchemy {sqlalchemy.__version__}"


class Stopwatch:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """`redis-server` on a free loopback port, no persistence, its log under bench/out/."""

    def __init__(self):
        import shutil

        self.binary = shutil.which("redis-server") or "/usr/sbin/redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self) -> "RedisServer":
        import redis

        OUT.mkdir(parents=True, exist_ok=True)
        log = open(OUT / "redis.log", "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(OUT)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {(OUT / 'redis.log').read_text()[-1000:]}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
