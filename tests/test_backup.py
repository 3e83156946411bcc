"""`flask backup` and `flask restore` on SQLite and PostgreSQL: a restored copy verifies and is whole.

A small park with tickets and attachments is backed up, restored into a fresh database and a
fresh upload folder, and then `audit verify` passes and every ticket and file is there. A backup
taken while a thread keeps filing holds every ticket whose commit had finished before it began
(what a `cp` of the SQLite file did not).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import tarfile
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.models import Attachment, Ticket, User
from tickets.services.actions import perform
from tickets.services.common import Upload

from .conftest import Park, accept, app_on, file_request, handle
from .pg import TempPostgres
from .test_audit_chain import make_pdf, make_png


@pytest.fixture(scope="module")
def pg():
    server = TempPostgres().start()
    yield server
    server.stop()


def fresh_url(kind: str, pg, tmp_path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.db')}"
    engine = create_engine(pg.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return pg.url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def bare_app(url: str, upload_dir):
    """An app on a database with no schema at all: where a restore goes."""
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(upload_dir)

    app = create_app(Cfg)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def build_park() -> list[str]:
    park = Park()
    full = file_request(park, uploads=[Upload("现场照片.png", make_png())])
    accept(park, full)
    perform(full, "ask", park.hr_official, text="需要哪些工种？")
    perform(full, "reply", park.firm_user, text="操作工", uploads=[Upload("岗位.pdf", make_pdf())])
    handle(park, full)
    second = file_request(park, title="融资难", category_id=park.category("financing").id)
    accept(park, second, lead=park.fin_official)
    third = file_request(park, title="用地", uploads=[Upload("图.png", make_png(5, 4))])
    return sorted(t.number for t in (full, second, third))


def files_of(upload_dir) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in upload_dir.iterdir() if p.is_file()}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_backup_then_restore_into_a_fresh_database_verifies_and_is_whole(kind, pg, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    source_url = fresh_url(kind, pg, tmp_path, "source")
    with app_on(source_url, tmp_path / "a") as app:
        numbers = build_park()
        attachments = {a.stored_name: a.sha256 for a in db.session.scalars(db.select(Attachment))}
        events = db.session.scalar(db.select(db.func.count()).select_from(db.text("events")))
        db.session.remove()
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(archive)])
        assert result.exit_code == 0, result.output
        assert "written:" in result.output and "3 tickets" in result.output
    assert len(attachments) == 3

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert ("database.sqlite3" if kind == "sqlite" else "database.dump") in names
    assert manifest["database"] == kind and manifest["tickets"] == 3 and manifest["events"] == events
    assert manifest["attachments"] == 3 and manifest["upload_files"] == 3
    assert manifest["events_by_action"]["file"] == 3
    assert (archive.stat().st_mode & 0o077) == 0

    target_uploads = tmp_path / "restored-uploads"
    with bare_app(fresh_url(kind, pg, tmp_path, "target"), target_uploads) as app:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["restore", "--input", str(archive)])
        assert result.exit_code == 0, result.output
        assert "restored: 3 tickets" in result.output
        verified = runner.invoke(args=["audit", "verify"])
        assert verified.exit_code == 0, verified.output
        assert "3 tickets checked, 0 broken" in verified.output
        assert sorted(db.session.scalars(db.select(Ticket.number))) == numbers
        assert files_of(target_uploads) == attachments
        assert db.session.scalar(db.select(db.func.count(User.id))) > 0

        # A second restore onto the restored data is refused, naming what is there.
        again = runner.invoke(args=["restore", "--input", str(archive)])
        assert again.exit_code != 0
        assert "not empty" in again.output and "tickets 3" in again.output


def test_restore_refuses_a_database_that_holds_rows(tmp_path):
    archive = tmp_path / "b.tar.gz"
    with app_on(f"sqlite:///{tmp_path / 'one.db'}", tmp_path / "a") as app:
        build_park()
        db.session.remove()
        assert app.test_cli_runner().invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    with app_on(f"sqlite:///{tmp_path / 'two.db'}", tmp_path / "b") as app:
        # Only the reference data (departments, categories): still not empty.
        result = app.test_cli_runner().invoke(args=["restore", "--input", str(archive)])
        assert result.exit_code != 0 and "not empty" in result.output and "departments" in result.output


def test_a_backup_during_filing_holds_every_ticket_committed_before_it(tmp_path):
    archive = tmp_path / "live.tar.gz"
    done: list[tuple[float, str]] = []
    stop = threading.Event()
    errors: list[BaseException] = []
    with app_on(f"sqlite:///{tmp_path / 'live.db'}", tmp_path / "a") as app:
        park = Park()
        firm_user_id, category_id = park.firm_user.id, park.category("labor").id
        db.session.remove()

        def keep_filing():
            from tickets.services.filing import file_ticket

            try:
                with app.app_context():
                    user = db.session.get(User, firm_user_id)
                    while not stop.is_set():
                        t = file_ticket(user, firm_id=user.firm_id, category_id=category_id, title="招工难",
                                        description="缺少操作工", contact_name="王经理",
                                        contact_phone="13800138000")
                        done.append((time.monotonic(), t.number))  # the commit has finished
                    db.session.remove()
            except BaseException as error:
                errors.append(error)

        writer = threading.Thread(target=keep_filing)
        writer.start()
        try:
            deadline = time.monotonic() + 20
            while len(done) < 10 and time.monotonic() < deadline and not errors:
                time.sleep(0.01)
            began = time.monotonic()
            result = app.test_cli_runner().invoke(args=["backup", "--output", str(archive)])
            count_at_backup = len(done)
            time.sleep(0.1)
        finally:
            stop.set()
            writer.join(30)
        assert not errors, errors
        assert result.exit_code == 0, result.output
    promised = {number for at, number in done if at < began}
    assert len(promised) >= 10 and len(done) > count_at_backup  # filing went on around the backup
    with tarfile.open(archive) as tar:
        tar.extract("database.sqlite3", tmp_path / "x")
    conn = sqlite3.connect(tmp_path / "x" / "database.sqlite3")
    stored = {row[0] for row in conn.execute("SELECT number FROM tickets")}
    conn.close()
    assert promised <= stored, sorted(promised - stored)
