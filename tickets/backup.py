"""Backups: the database and the uploaded files in one archive, and its restore into an empty database.

`flask --app wsgi backup --output FILE` writes a tar.gz holding
  manifest.json   when, which database kind, the Alembic revision, and counts to check a restore by
  database.sqlite3  (SQLite) a copy made with SQLite's online backup API, or
  database.dump     (PostgreSQL) `pg_dump --format=custom`
  uploads/        every file of UPLOAD_DIR
The database is copied first and the files after: an attachment's file is written before its row
commits, so every attachment of the copy has its file (a file of a later upload is only extra).

Why not `cp` of the SQLite file: with WAL the last commits are still in bihuan.db-wal, and a copy
taken while a page is written is torn. The backup API copies a consistent snapshot in one read
transaction, without stopping the writers. pg_dump is consistent likewise, and the manifest's
counts are read in the very snapshot it dumps (pg_export_snapshot).

`flask --app wsgi restore --input FILE` refuses a database that holds any row: a restore never
mixes two histories. The chains verify after it only with the same AUDIT_KEY (and retired keys).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from .extensions import db

FORMAT = 1
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
SQLITE_NAME, PG_NAME, MANIFEST, UPLOADS = "database.sqlite3", "database.dump", "manifest.json", "uploads"
# Tables whose rows a database created by `flask db upgrade` already holds.
NOT_DATA = {"alembic_version"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


@dataclass
class Result:
    path: Path
    manifest: dict


def kind() -> str:
    return db.engine.dialect.name


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else where Debian's postgresql-15 puts it."""
    found = shutil.which(name)
    if found:
        return found
    for folder in PG_BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    raise BackupError(f"{name} was not found on PATH nor in {', '.join(PG_BIN_DIRS)}: install the PostgreSQL "
                      "client of the server's major version")


def _libpq(url) -> tuple[str, dict]:
    """A libpq connection string without the password, and the environment that carries it."""
    url = make_url(str(url)) if isinstance(url, str) else url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def counts(conn: Connection) -> dict:
    """What a restore is checked against: the revision, and the rows of the record."""
    tables = set(inspect(conn).get_table_names())
    out: dict = {"alembic_revision": None}
    if "alembic_version" in tables:
        out["alembic_revision"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    for table in ("tickets", "events", "attachments", "users"):
        out[table] = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() if table in tables else 0
    if "events" in tables:
        rows = conn.execute(text("SELECT action, COUNT(*) FROM events GROUP BY action ORDER BY action"))
        out["events_by_action"] = {action: n for action, n in rows}
    return out


def _sqlite_path() -> str:
    path = db.engine.url.database
    if not path or path == ":memory:":
        raise BackupError("the database is in memory: there is nothing on disk to back up")
    return path


def _dump_sqlite(folder: Path) -> dict:
    target = folder / SQLITE_NAME
    src = sqlite3.connect(_sqlite_path())
    dst = sqlite3.connect(target)
    try:
        # All pages in one step: one read transaction, so one consistent moment (WAL lets writers go on).
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return counts(conn)
    finally:
        engine.dispose()


def _dump_postgres(folder: Path) -> dict:
    dsn, env = _libpq(db.engine.url)
    with db.engine.connect() as conn:
        # The counts and the dump see the same snapshot: exported here, handed to pg_dump,
        # and held until it has finished.
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        found = counts(conn)
        done = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                               f"--snapshot={snapshot}", "--file", str(folder / PG_NAME), "--dbname", dsn],
                              env=env, capture_output=True, text=True)
        conn.rollback()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return found


def backup(output: str | Path) -> Result:
    """Write the archive to `output` (written beside it first, then renamed: never a half archive)."""
    output = Path(output).resolve()
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    started = datetime.now(timezone.utc)  # the machine's clock: when the copy was taken, for the operator
    with tempfile.TemporaryDirectory(prefix="bihuan-backup-") as tmp:
        folder = Path(tmp)
        database = kind()
        if database == "sqlite":
            found = _dump_sqlite(folder)
        elif database == "postgresql":
            found = _dump_postgres(folder)
        else:
            raise BackupError(f"no backup for a {database} database")
        manifest = {"format": FORMAT, "created_at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
                    "database": database, **found, "upload_files": 0}
        partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds every firm's requests
        try:
            with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
                tar.add(folder / (SQLITE_NAME if database == "sqlite" else PG_NAME),
                        arcname=SQLITE_NAME if database == "sqlite" else PG_NAME)
                tar.add(folder, arcname=UPLOADS, recursive=False)
                if upload_dir.is_dir():
                    for entry in sorted(upload_dir.iterdir()):
                        if entry.is_file() and not entry.is_symlink():
                            tar.add(entry, arcname=f"{UPLOADS}/{entry.name}")
                            manifest["upload_files"] += 1
                data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(started.timestamp())
                tar.addfile(info, io.BytesIO(data))
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return Result(output, manifest)


# --- restore ------------------------------------------------------------------------------------

def rows_in_database() -> dict[str, int]:
    """Tables of the configured database that hold rows (nothing: it is empty)."""
    with db.engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t not in NOT_DATA]
        found = {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar() for t in tables}
    return {t: n for t, n in found.items() if n}


def _members(tar: tarfile.TarFile) -> tuple[dict, list[tarfile.TarInfo]]:
    names = {m.name: m for m in tar.getmembers()}
    if MANIFEST not in names:
        raise BackupError("this is not a Bihuan backup: it has no manifest.json")
    manifest = json.load(tar.extractfile(names[MANIFEST]))
    files = []
    for m in tar.getmembers():
        if m.name.startswith(f"{UPLOADS}/"):
            name = m.name[len(UPLOADS) + 1:]
            if not m.isfile() or not name or "/" in name or name.startswith("."):
                raise BackupError(f"refusing an unexpected entry in the archive: {m.name}")
            files.append(m)
    return manifest, files


def restore(source: str | Path) -> dict:
    """Restore the archive into the configured database and UPLOAD_DIR; returns the manifest."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    database = kind()
    with tarfile.open(source, "r:gz") as tar:
        manifest, files = _members(tar)
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {manifest.get('format')!r}")
        if manifest["database"] != database:
            raise BackupError(f"the backup is of a {manifest['database']} database; the configured one is "
                              f"{database}: restore it into a {manifest['database']} database")
        busy = rows_in_database()
        if busy:
            listed = ", ".join(f"{t} {n}" for t, n in sorted(busy.items()))
            raise BackupError(f"the configured database is not empty ({listed} rows): a restore goes only into "
                              "a new, empty database")
        upload_dir = Path(current_app.config["UPLOAD_DIR"])
        upload_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        clashes = [m.name for m in files if (upload_dir / m.name[len(UPLOADS) + 1:]).exists()]
        if clashes:
            raise BackupError(f"UPLOAD_DIR {upload_dir} already holds {len(clashes)} of the backup's files: "
                              "restore into an empty upload folder")
        with tempfile.TemporaryDirectory(prefix="bihuan-restore-") as tmp:
            name = SQLITE_NAME if database == "sqlite" else PG_NAME
            dumped = Path(tmp) / name
            with tar.extractfile(name) as src, open(dumped, "wb") as dst:
                shutil.copyfileobj(src, dst)
            db.session.remove()
            db.engine.dispose()
            if database == "sqlite":
                _restore_sqlite(dumped)
            else:
                _restore_postgres(dumped)
        for m in files:
            target = upload_dir / m.name[len(UPLOADS) + 1:]
            with tar.extractfile(m) as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(target, 0o640)
    db.engine.dispose()
    with db.engine.connect() as conn:
        found = counts(conn)
    for key in ("tickets", "events", "attachments", "users", "alembic_revision"):
        if found.get(key) != manifest.get(key):
            raise BackupError(f"the restored database has {key} {found.get(key)!r}, the backup said "
                              f"{manifest.get(key)!r}")
    return manifest


def _restore_sqlite(dumped: Path) -> None:
    target = _sqlite_path()
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(dumped)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # page by page into the (empty) file: its WAL and locks stay right
    finally:
        dst.close()
        src.close()


def _restore_postgres(dumped: Path) -> None:
    dsn, env = _libpq(db.engine.url)
    # --clean --if-exists: the tables an empty `flask db upgrade` made (no rows: checked above) go first.
    done = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--clean", "--if-exists",
                           "--exit-on-error", "--single-transaction", "--dbname", dsn, str(dumped)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
