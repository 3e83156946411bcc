#!/usr/bin/env python
"""One sweep over many tickets, a few of whose clocks are due: the plan, the time, the rate.

    .venv/bin/python bench/sweep_bench.py --tickets 1000000 --due-fraction 0.01 [--db sqlite|postgres]

Seeds a fresh database with bulk Core INSERTs: most tickets closed (their accept,
handle and feedback clocks stopped, next_step_at NULL), and every 1/fraction-th
ticket open with a handle clock whose yellow, red or red-for-3-days time has
passed and no step raised yet. Then prints the query plan of the sweep's
candidate query (it must be an index range on clocks.next_step_at), times one
full sweep() and a second one right after (nothing left to do). A script that
prints what it measured, never a timed test.
"""
from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Park, Stopwatch, create_schema, database, load, machine, make_app, versions  # noqa: E402

BATCH = 20_000
LEVELS = ("yellow", "red", "red3")


def explain(stmt) -> list[str]:
    """The database's own plan for `stmt`, bound values and all, as lines of text."""
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql.expression import ClauseElement, Executable

    from tickets.extensions import db

    class Explain(Executable, ClauseElement):
        inherit_cache = False

        def __init__(self, inner, prefix):
            self.inner, self.prefix = inner, prefix

    @compiles(Explain)
    def _compile(element, compiler, **kw):
        return f"{element.prefix} {compiler.process(element.inner, **kw)}"

    if db.engine.dialect.name == "sqlite":
        # Columns: id, parent, notused, detail.
        return [row[3] for row in db.session.execute(Explain(stmt, "EXPLAIN QUERY PLAN"))]
    return [row[0] for row in db.session.execute(Explain(stmt, "EXPLAIN"))]


def uses_index_range(plan: list[str], dialect: str) -> bool:
    text = "\n".join(plan)
    if dialect == "sqlite":
        return "USING INDEX ix_clocks_next_step_at (next_step_at" in text and "SCAN clocks" not in text
    index_scan = any(f"{how} ix_clocks_next_step_at" in text
                     for how in ("Index Scan using", "Index Only Scan using", "Bitmap Index Scan on"))
    bounded = any("Index Cond:" in line and "next_step_at" in line for line in plan)
    return index_scan and bounded and "Seq Scan on clocks" not in text


def bulk_insert(conn, table, rows: list[dict]) -> None:
    """Insert `rows` into `table` in bulk, in the connection's transaction.

    SQLite: one executemany of the compiled Core INSERT, straight to the driver with
    the times already in SQLAlchemy's storage format (SQLAlchemy's per-value
    conversion would otherwise take most of the seeding time). PostgreSQL: COPY,
    its bulk path (psycopg adapts the values); other databases: the Core INSERT.
    """
    if conn.dialect.name == "postgresql":
        keys = list(rows[0])
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[k] for k in keys])
        cursor.close()
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    from sqlalchemy import DateTime

    compiled = table.insert().compile(dialect=conn.dialect, column_keys=list(rows[0]))
    keys = compiled.positiontup
    times = [isinstance(table.c[k].type, DateTime) for k in keys]

    def value(v, is_time):
        return v.isoformat(" ", "microseconds") if is_time and v is not None else v

    conn.exec_driver_sql(str(compiled), [tuple(value(r[k], t) for k, t in zip(keys, times)) for r in rows])


BIG_TABLES = ("tickets", "clocks", "events", "outbox", "reminder_steps", "notifications")


class Statements:
    """Every distinct statement sent to the database while it listens, with one set of its parameters."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.seen = engine, {}
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if not executemany:
            self.seen.setdefault(statement, parameters)

    def close(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._record)

    def scans(self, rows: int = 10_000) -> list[tuple[str, list[str]]]:
        """The statements whose plan reads the whole of a table of more than `rows` rows.

        SELECT, UPDATE and DELETE are explained; a scan of a small table is the right plan.
        """
        sqlite = self.engine.dialect.name == "sqlite"
        out = []
        with self.engine.connect() as conn:
            big = [t for t in BIG_TABLES if conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() > rows]
            for statement, params in self.seen.items():
                if statement.lstrip().split(None, 1)[0].upper() not in ("SELECT", "UPDATE", "DELETE"):
                    continue
                if sqlite:
                    plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)]
                    bad = [line for line in plan if any(line.startswith(f"SCAN {t}") for t in big)]
                else:
                    plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, params)]
                    bad = [line for line in plan if any(f"Seq Scan on {t} " in line + " " for t in big)]
                if bad:
                    out.append((" ".join(statement.split()), plan))
            conn.rollback()
        return out


def seed(n: int, fraction: float, park: Park) -> dict:
    """Bulk-insert n tickets and their clocks; returns how many open clocks of each level."""
    from tickets.extensions import db
    from tickets.models import NO_DUE, Clock, Ticket
    from tickets.timeutil import now

    at = now()
    every = max(1, round(1 / fraction)) if fraction > 0 else n + 1
    cats = [(c.id, c.department_id, c.limit_days) for c in park.categories]
    firms = list(zip((f.id for f in park.firms), (u.id for u in park.firm_users)))
    levels = {level: 0 for level in LEVELS}
    ticket_table, clock_table = Ticket.__table__, Clock.__table__
    clock_id = 0
    # Filed in id order over the last two years, so that the indexes on times grow at their end.
    span = timedelta(days=730) / n
    conn = db.engine.connect()
    if conn.dialect.name == "sqlite":
        # This connection only (the sweep gets fresh ones with the app's settings): no fsync
        # per batch, and a cache that holds the indexes being built.
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.exec_driver_sql("PRAGMA cache_size=-1000000")
        conn.commit()
    elif conn.dialect.name == "postgresql":
        # This session only: no foreign-key trigger per row (the rows are consistent by
        # construction), the way pg_restore loads data.
        conn.exec_driver_sql("SET session_replication_role = replica")
        conn.commit()
    # The secondary indexes are built once at the end, from sorted data, rather than row by row:
    # the same definitions (the model's), the same schema when the sweep runs.
    deferred = [ix for table in (ticket_table, clock_table) for ix in table.indexes if not ix.unique]
    with conn.begin():
        for ix in deferred:
            ix.drop(conn)
    for start in range(1, n + 1, BATCH):
        tickets, clocks = [], []
        for tid in range(start, min(start + BATCH, n + 1)):
            cat_id, dept_id, limit = cats[tid % len(cats)]
            firm_id, submitter_id = firms[tid % len(firms)]
            lead_id = park.officials[dept_id].id
            is_open = tid % every == 0
            if is_open:
                # Due open handle clocks, spread evenly over the id range, a third at each level.
                level = LEVELS[(tid // every) % 3]
                levels[level] += 1
                yellow, due, red3 = {
                    "yellow": (at - timedelta(hours=1), at + timedelta(days=1), at + timedelta(days=4)),
                    "red": (at - timedelta(days=2), at - timedelta(hours=1), at + timedelta(days=3)),
                    "red3": (at - timedelta(days=6), at - timedelta(days=5), at - timedelta(hours=1)),
                }[level]
                created = yellow - timedelta(days=limit)
            else:
                created = at - timedelta(days=760) + tid * span
                yellow, due = created + timedelta(days=limit - 1), created + timedelta(days=limit)
                red3 = due + timedelta(days=3)
            accepted = created + timedelta(hours=2)
            handled = accepted + timedelta(days=max(1, limit - 2))
            tickets.append({
                "id": tid, "number": f"B-{tid:07d}", "firm_id": firm_id,
                "submitter_id": submitter_id, "channel": "web", "category_id": cat_id,
                "title": f"Bench request {tid}", "description": "Seeded by bench/sweep_bench.py",
                "urgency": "normal", "contact_name": "Contact", "contact_phone": "13800138000",
                "state": "accepted" if is_open else "fed_back", "lead_id": lead_id, "department_id": dept_id,
                "round": 1, "created_at": created, "closed_at": None if is_open else handled + timedelta(days=1),
                "updated_at": created if is_open else handled + timedelta(days=1),
                "transfer_count": 0, "extension_count": 0,
                "clock_kind": "handle" if is_open else None,
                "yellow_at": yellow if is_open else None, "due_at": due if is_open else None,
                "red3_at": red3 if is_open else None, "queue_due_at": due if is_open else NO_DUE,
                "solved": None if is_open else "yes", "rating": None if is_open else "satisfied",
                "supervised_at": None, "head_hash": "", "event_count": 0, "version": 1,
                "search_text": f"bench request {tid}",
            })
            base = {"ticket_id": tid, "deadline_version": 1}
            clock_id += 1
            clocks.append(base | {
                "id": clock_id, "kind": "accept", "round": 0, "started_at": created, "limit_days": 1,
                "yellow_at": created + timedelta(hours=18), "due_at": created + timedelta(days=1),
                "red3_at": created + timedelta(days=4), "original_due_at": created + timedelta(days=1),
                "stopped_at": accepted, "next_step_at": None})
            clock_id += 1
            clocks.append(base | {
                "id": clock_id, "kind": "handle", "round": 1, "started_at": accepted, "limit_days": limit,
                "yellow_at": yellow, "due_at": due, "red3_at": red3, "original_due_at": due,
                "stopped_at": None if is_open else handled, "next_step_at": yellow if is_open else None})
            if not is_open:
                clock_id += 1
                clocks.append(base | {
                    "id": clock_id, "kind": "feedback", "round": 1, "started_at": handled, "limit_days": 5,
                    "yellow_at": handled + timedelta(days=4), "due_at": handled + timedelta(days=5),
                    "red3_at": handled + timedelta(days=8), "original_due_at": handled + timedelta(days=5),
                    "stopped_at": handled + timedelta(days=1), "next_step_at": None})
        with conn.begin():
            bulk_insert(conn, ticket_table, tickets)
            for i in range(0, len(clocks), BATCH):
                bulk_insert(conn, clock_table, clocks[i:i + BATCH])
        if start // BATCH % 10 == 0 or start + BATCH > n:
            print(f"  seeded {min(start + BATCH - 1, n):,} tickets, {clock_id:,} clocks", flush=True)
    watch = Stopwatch()
    with conn.begin():
        for ix in deferred:
            ix.create(conn)
        if conn.dialect.name == "postgresql":
            # The ids were given explicitly: move the sequences past them.
            for table in (ticket_table, clock_table):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT max(id) FROM {table.name}))")
            conn.exec_driver_sql("RESET session_replication_role")
    print(f"  built {len(deferred)} indexes in {watch():.1f} s: {', '.join(ix.name for ix in deferred)}", flush=True)
    conn.close()
    return levels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due-fraction", type=float, default=0.01)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--batch", type=int, default=1000, help="sweep batch size (sweep(batch=...))")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with database(args.db, f"sweep-{args.tickets}.db") as url:
        app = make_app(url)
        with app.app_context():
            return run(app, args, url)


def run(app, args, url) -> int:
    from sqlalchemy import func

    from tickets.extensions import db
    from tickets.models import Clock, Event, OutboxMessage, ReminderStep
    from tickets.services.sweep import candidates, sweep
    from tickets.timeutil import now

    print(f"database: {url.split('@')[-1]}; {versions(url)}")
    watch = Stopwatch()
    create_schema()
    park = Park()
    levels = seed(args.tickets, args.due_fraction, park)
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load; the planner needs the row counts.
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    db.session.remove()
    db.engine.dispose()  # the sweep runs on fresh connections with the app's own settings
    n_clocks = db.session.scalar(db.select(func.count()).select_from(Clock))
    print(f"seeded: {args.tickets:,} tickets, {n_clocks:,} clocks in {watch():.1f} s; "
          f"open handle clocks due: {levels['yellow']:,} yellow, {levels['red']:,} red, {levels['red3']:,} red3")

    at = now()
    plan = explain(candidates(at, None, args.batch))
    print("query plan of the sweep's candidate query (first batch):")
    print("\n".join(f"  {line}" for line in plan))
    later = explain(candidates(at, (at - timedelta(days=1), 12345), args.batch))
    print("query plan of the sweep's candidate query (next batches, keyset):")
    print("\n".join(f"  {line}" for line in later))
    dialect = db.engine.dialect.name
    ok = uses_index_range(plan, dialect) and uses_index_range(later, dialect)
    print(f"index range on clocks.next_step_at: {'yes' if ok else 'NO (table or primary-key scan)'}")
    if not ok:
        return 1

    due = db.session.scalar(db.select(func.count()).select_from(Clock).where(Clock.next_step_at <= at))
    db.session.remove()

    watch = Stopwatch()
    statements = Statements(db.engine)
    counts = sweep(batch=args.batch)
    first = watch()
    statements.close()
    db.session.remove()
    watch = Stopwatch()
    again = sweep(batch=args.batch)
    second = watch()

    raised = sum(v for k, v in counts.items() if k.endswith(".raised"))
    steps = db.session.scalar(db.select(func.count()).select_from(ReminderStep))
    events = db.session.scalar(db.select(func.count()).select_from(Event))
    outbox = db.session.scalar(db.select(func.count()).select_from(OutboxMessage))
    left = db.session.scalar(db.select(func.count()).select_from(Clock).where(Clock.next_step_at <= at))
    print(f"sweep counts: {dict(sorted(counts.items()))}")
    print(f"tickets:             {args.tickets:,}")
    print(f"clocks:              {n_clocks:,}")
    print(f"due clocks:          {due:,}")
    print(f"steps raised:        {raised:,} (reminder_steps rows {steps:,}, events {events:,}, outbox rows {outbox:,})")
    print(f"sweep seconds:       {first:.2f}")
    print(f"steps per second:    {raised / first:,.0f}")
    print(f"second sweep:        {second * 1000:.1f} ms, counts {again or {}} (first / second = {first / second:,.0f}x)")
    print(f"clocks still due:    {left}")
    print(f"load average now:    {load()}")
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE"))  # the tables the sweep filled, as autovacuum would
        db.session.commit()
    scans = statements.scans()
    print(f"statements the sweep sent: {len(statements.seen)} distinct; "
          f"whole-table reads of {'/'.join(BIG_TABLES)} (where over 10,000 rows): {len(scans) or 'none'}")
    for statement, plan in scans:
        print(f"  {statement}\n" + "\n".join(f"    {line}" for line in plan))
    return 0 if raised == steps and not again and left == 0 and not scans else 1


if __name__ == "__main__":
    sys.exit(main())
