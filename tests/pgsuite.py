"""The suite's database: SQLite files (the default) or one temporary PostgreSQL cluster per run.

`TEST_DB=postgresql pytest ...` starts ONE cluster (tests/pg.py, as `postgres` under root) in the
controlling process, before any xdist worker exists; every worker then makes its own database in it
and points TEST_DATABASE_URL at it, so the `app` fixture, the modules that read TEST_DATABASE_URL and
every process a test starts (a Celery worker, a CLI, a live server) use that database. The cluster
and its folder go when the run ends, on a failure or Ctrl-C too (config.add_cleanup, atexit).

On PostgreSQL the schema is made once per worker database and each test starts from emptied
tables (fresh_schema); SQLite keeps a fresh file per test.
"""
from __future__ import annotations

import atexit
import os
import signal

SERVER_ENV = "TEST_PG_SERVER"   # the cluster's URL without a database, for the workers


def wanted() -> str:
    return os.environ.get("TEST_DB", "sqlite").lower()


def configure(config) -> None:
    """Start the run's cluster (controller) or make this worker's database in it."""
    if wanted() not in ("postgresql", "postgres", "pg"):
        return
    if not os.environ.get(SERVER_ENV):
        if os.environ.get("TEST_DATABASE_URL"):
            return   # a database given from outside: use it as it is
        from .pg import TempPostgres

        server = TempPostgres()
        done = []

        def stop():
            if not done:
                done.append(1)
                try:
                    server.stop()
                except Exception:   # never started (stopped while initdb ran): the folder is gone anyway
                    pass

        def terminated(signum, frame):
            # A `timeout` or a CI runner ends the run with SIGTERM: remove the cluster, then die of it.
            stop()
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

        config.add_cleanup(stop)   # the end of the run, a failure or Ctrl-C
        atexit.register(stop)
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, terminated)
        try:
            server.start()
        except BaseException:
            stop()
            raise
        os.environ[SERVER_ENV] = server.url.rsplit("/", 1)[0]
    if hasattr(config, "workerinput") or not _xdist_workers(config):
        _own_database(os.environ.get("PYTEST_XDIST_WORKER", "main"))


def _xdist_workers(config) -> bool:
    try:
        return bool(config.getoption("numprocesses"))
    except (ValueError, AttributeError):
        return False


def _create_database(server: str, database: str) -> str:
    """A new, empty database on the run's cluster (dropped first if a run left it); its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"{server}/bihuan", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    engine.dispose()
    return f"{server}/{database}"


def _own_database(name: str) -> None:
    from config import TestingConfig

    url = _create_database(os.environ[SERVER_ENV], f"suite_{name}")
    os.environ["TEST_DATABASE_URL"] = url
    TestingConfig.SQLALCHEMY_DATABASE_URI = url


def suite_url(tmp_path, name: str = "test.db") -> str:
    """The run's database: the worker's PostgreSQL database, or a fresh SQLite file in tmp_path."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / name}"


def fresh_schema(db) -> None:
    """Every table of the models, empty, sequences from 1 (then the caller adds the reference data).

    PostgreSQL: create the schema when a table is missing (first test of a worker, or after a test
    that dropped it), else empty every table in one round trip; SQLite: drop_all + create_all.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        db.drop_all()
        db.create_all()
        return
    import sqlalchemy as sa

    tables = db.metadata.sorted_tables
    with engine.begin() as conn:
        present = set(sa.inspect(conn).get_table_names())
        if all(t.name in present for t in tables):
            # DELETE with the foreign-key (and append-only) triggers off, then every sequence from 1:
            # measured ~35 ms a test here, TRUNCATE ... RESTART IDENTITY CASCADE ~250 ms,
            # drop_all + create_all ~550 ms.
            sequences = conn.exec_driver_sql(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = 'public'").scalars().all()
            statements = ["SET LOCAL session_replication_role = replica"]
            statements += [f'DELETE FROM "{t.name}"' for t in tables]
            statements += [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
            conn.exec_driver_sql("; ".join(statements))
            return
    db.drop_all()
    db.create_all()


def separate_url(tmp_path, name: str) -> str:
    """A database of its own for a module-scoped fixture whose data outlives the tests' `app`.

    PostgreSQL: a new, empty database `<worker's>_<name>` in the run's cluster; else a SQLite file.
    """
    suite = os.environ.get("TEST_DATABASE_URL")
    if not suite or not suite.startswith("postgresql"):
        return f"sqlite:///{tmp_path / (name + '.db')}"
    server, database = suite.rsplit("/", 1)
    return _create_database(server, f"{database}_{name}")
