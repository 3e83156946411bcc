#!/usr/bin/env python
"""The inspector's overdue list and the rates dashboard over a real HTTP server, at two table sizes.

    .venv/bin/python bench/oversight_bench.py --sizes 10000,1000000 [--db sqlite|postgres] [--requests 40]

For each size: a fresh database, a small park, and that many tickets of history
bulk-inserted with Core (clocks, handling rounds, feedbacks, transfers,
extensions). The park's activity per day is the same at every size
(--per-day, 100 by default): the newest tickets, the open ones and the last
month look alike at 10,000 and at 1,000,000; the bigger table only has more
years behind them. The real app is then served by werkzeug on loopback, an
inspector signs in through /login, and one client thread times, in turns,
a hello-world route (/__hello, registered on the bench app only), the desk's
overdue tab and the rates dashboard for the last 30 days by department.
Prints the median and p95 of each page, its ratio to hello-world, and at the
end p95(largest size) / p95(smallest size) per page (the issue's target: 3).
A script that prints what it measured, never a timed test.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, Park, Stopwatch, create_schema, database, load, machine, make_app, versions  # noqa: E402

BATCH = 20_000
OPEN_RECENT = 1_000  # every 10th of the newest 1,000 tickets is still open...
OPEN_RECENT_EVERY = 10
OPEN_OLD = 6_000  # ...and every 300th of the 6,000 before them: long overdue, on the supervision list
OPEN_OLD_EVERY = 300
PASSWORD = "bench-password"  # bench.common.Park's

T_COLS = ("id", "number", "firm_id", "submitter_id", "channel", "category_id", "title", "description", "urgency",
          "contact_name", "contact_phone", "state", "lead_id", "department_id", "round", "follows_id", "created_at",
          "closed_at", "transfer_count", "extension_count", "clock_kind", "yellow_at", "due_at", "red3_at",
          "queue_due_at", "solved", "rating", "supervised_at", "head_hash", "event_count", "version")
C_COLS = ("id", "ticket_id", "kind", "round", "started_at", "limit_days", "yellow_at", "due_at", "red3_at",
          "original_due_at", "stopped_at", "deadline_version", "next_step_at", "notice_id")
H_COLS = ("id", "ticket_id", "round", "outcome", "what_was_done", "contact_method", "contacted_on",
          "handled_by_id", "handled_at")
F_COLS = ("id", "ticket_id", "round", "solved", "rating", "comment", "given_by_id", "given_at")
X_COLS = ("id", "ticket_id", "from_department_id", "to_department_id", "to_lead_id", "reason", "status",
          "requested_by_id", "requested_at", "decided_by_id", "decided_at", "comment")
E_COLS = ("id", "ticket_id", "round", "days", "reason", "public_reason", "status", "requested_by_id",
          "requested_at", "decided_by_id", "decided_at", "comment")


class Loader:
    """Rows as tuples in column order, written in bulk: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn, tables: dict):
        self.conn, self.tables = conn, tables  # name -> (Table, columns)
        self.sqlite = conn.dialect.name == "sqlite"
        for name, (table, cols) in tables.items():
            assert set(cols) == set(table.c.keys()), (name, set(table.c.keys()) ^ set(cols))

    def stamp(self, value):
        """A datetime or date as the driver takes it: SQLAlchemy's own text format on SQLite."""
        if not self.sqlite:
            return value
        return value.isoformat(" ", "microseconds") if hasattr(value, "hour") else value.isoformat()

    def write(self, name: str, rows: list[tuple]) -> None:
        if not rows:
            return
        table, cols = self.tables[name]
        if self.sqlite:  # the times are already text (seed() writes them with stamp())
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            self.conn.exec_driver_sql(sql, rows)
            return
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cursor.close()


def seed(n: int, per_day: int, park: Park) -> dict:
    """n tickets, the newest filed just now, one every 1/per_day days before it; returns counts."""
    from tickets.extensions import db
    from tickets.models import NO_DUE, Clock, ExtensionRequest, Feedback, Handling, Ticket, TransferRequest
    from tickets.timeutil import now

    at = now()
    rng = random.Random(20261126)
    cats = [(c.id, c.department_id, c.limit_days) for c in park.categories]
    depts = sorted(park.officials)
    firms = list(zip((f.id for f in park.firms), (u.id for u in park.firm_users)))
    coord = park.coordinator.id
    tables = {"tickets": (Ticket.__table__, T_COLS), "clocks": (Clock.__table__, C_COLS),
              "handlings": (Handling.__table__, H_COLS), "feedbacks": (Feedback.__table__, F_COLS),
              "transfers": (TransferRequest.__table__, X_COLS), "extensions": (ExtensionRequest.__table__, E_COLS)}
    conn = db.engine.connect()
    if conn.dialect.name == "sqlite":
        for pragma in ("synchronous=OFF", "cache_size=-1000000", "foreign_keys=OFF"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
    else:
        conn.exec_driver_sql("SET session_replication_role = replica")  # no FK trigger per row, as pg_restore
    conn.commit()
    loader = Loader(conn, tables)
    stamp = loader.stamp
    deferred = [ix for table, _c in tables.values() for ix in table.indexes if not ix.unique]
    with conn.begin():
        for ix in deferred:
            ix.drop(conn)
    ids = dict.fromkeys(tables, 0)
    stats = dict.fromkeys(("open", "overdue", "supervised_open", "supervised", "round2", "bounced", "rejected",
                           "withdrawn", "closed_unconfirmed", "closed_forced", "fed_back", "extended"), 0)

    def nid(name):
        ids[name] += 1
        return ids[name]

    def deadline(start, limit):  # working days as calendar days x 7/5; yellow a day before, red3 3 days after
        due = start + limit * 1.4
        return due - 1.0, due, due + 4.2

    for start in range(1, n + 1, BATCH):
        rows = {name: [] for name in tables}
        for tid in range(start, min(start + BATCH, n + 1)):
            age = (n - tid + 0.5) / per_day  # days since filing
            created = at - timedelta(days=age)
            T = lambda x: stamp(created + timedelta(days=x))  # noqa: E731  an offset in days -> a time
            cat_id, dept_id, limit = cats[rng.randrange(len(cats))]
            firm_id, submitter_id = firms[rng.randrange(len(firms))]
            back = n - tid  # 0 for the newest
            is_open = ((back < OPEN_RECENT and tid % OPEN_RECENT_EVERY == 0)
                       or (OPEN_RECENT <= back < OPEN_RECENT + OPEN_OLD and tid % OPEN_OLD_EVERY == 0))
            r = rng.random()
            fate = ("open" if is_open else "rejected" if r < .03 else "withdrawn" if r < .04
                    else "closed_unconfirmed" if r < .06 else "closed_forced" if r < .065 else "fed_back")
            stats[fate] += 1
            acc = 0.1 + 0.9 * rng.random()
            if is_open and age < 1:
                acc = None  # still submitted
            rounds = 2 if fate == "fed_back" and rng.random() < .03 else 1
            transfers = 0
            if fate not in ("rejected", "withdrawn") and acc is not None:
                x = rng.random()
                transfers = 2 if x < .005 else 1 if x < .035 else 0
            extended = fate in ("fed_back", "closed_unconfirmed", "closed_forced") and rng.random() < .02
            lateness = rng.random()  # < .08 handled late, < .016 after red3 (on the supervision list)
            # The events as day offsets: accept, then per round (start, handled, given), then closed.
            steps, t = [], acc
            end = acc if fate in ("rejected", "withdrawn") else None
            if fate not in ("rejected", "withdrawn") and acc is not None:
                for k in range(1, rounds + 1):
                    _y, due, red3 = deadline(t, limit)
                    if extended and k == rounds:
                        due, red3 = due + 7, red3 + 7
                    handled = (red3 + .5 if lateness < .016 else due + .5 if lateness < .08
                               else t + (due - t) * (.2 + .7 * rng.random()))
                    given = handled + .1 + 2.9 * rng.random()
                    steps.append([t, handled, given])
                    t = given
                if fate == "closed_forced":
                    steps[-1][1:] = [None, None]
                    end = steps[-1][0] + 3 + 5 * rng.random()
                elif fate == "closed_unconfirmed":
                    steps[-1][2] = None
                    end = steps[-1][1] + 7
                else:
                    end = steps[-1][2]
            if fate != "open" and end > age - 0.001:  # filed too recently to be closed by now: faster
                f = (age - 0.001) / end
                acc, end = acc * f, end * f
                steps = [[None if x is None else x * f for x in s] for s in steps]
            if fate == "open" and acc is not None:
                # Open: handling for the older ones; a third of the recent ones wait for the firm's feedback.
                steps = [[acc, None, None]]
                if back < OPEN_RECENT and tid % 3 == 0 and age > acc + 1:
                    steps[0][1] = acc + (age - acc) * .6
            decided = acc is not None and fate not in ("rejected", "withdrawn")
            lead = park.officials[dept_id].id if decided else None
            dept = dept_id if decided else None
            # Clocks: accept (round 0), then handle and feedback per round.
            clocks = []
            y, due, red3 = deadline(0, 1)
            clocks.append(("accept", 0, 0, 1, y, due, red3, due, acc, 1))
            for k, (hs, handled, given) in enumerate(steps, 1):
                y, due, red3 = deadline(hs, limit)
                version = 1
                if extended and k == len(steps):
                    version, due, red3 = 2, due + 7, red3 + 7
                stopped = handled if handled is not None else (end if fate == "closed_forced" else None)
                clocks.append(("handle", k, hs, limit, y, due, red3, deadline(hs, limit)[1], stopped, version))
                if handled is not None:
                    y, due, red3 = deadline(handled, 5)
                    stop = given if given is not None else (end if fate == "closed_unconfirmed" else None)
                    clocks.append(("feedback", k, handled, 5, y, due, red3, due, stop, 1))
            in_force = next((c for c in clocks if c[8] is None), None) if fate == "open" else None
            supervised = None
            for c in clocks:
                if c[0] in ("accept", "handle") and c[6] < (c[8] if c[8] is not None else age):
                    supervised = supervised or c[6]
            stats["supervised"] += supervised is not None
            if fate == "open":
                stats["overdue"] += in_force[5] <= age
                stats["supervised_open"] += supervised is not None
            stats["round2"] += rounds == 2
            stats["bounced"] += transfers >= 2
            stats["extended"] += extended
            for kind, k, st, lim, y, due, red3, orig, stop, version in clocks:
                upcoming = [x for x in (y, due, red3) if x > age] if stop is None else []
                rows["clocks"].append((nid("clocks"), tid, kind, k, T(st), lim, T(y), T(due), T(red3), T(orig),
                                       None if stop is None else T(stop), version,
                                       T(upcoming[0]) if upcoming else None, None))
            final = {}
            for k, (hs, handled, given) in enumerate(steps, 1):
                if handled is None:
                    continue
                rows["handlings"].append((nid("handlings"), tid, k, "resolved", "Visited the firm and solved it",
                                          "phone", stamp((created + timedelta(days=handled)).date()), lead,
                                          T(handled)))
                if given is not None:
                    rework = k < len(steps)
                    solved = "no" if rework else "yes" if rng.random() < .85 else "partly"
                    rating = "dissatisfied" if rework else "satisfied" if rng.random() < .8 else "basically_satisfied"
                    final = {"solved": solved, "rating": rating}
                    rows["feedbacks"].append((nid("feedbacks"), tid, k, solved, rating, "Thanks" if not rework
                                              else "Not solved yet", submitter_id, T(given)))
            if transfers:
                others = [d for d in depts if d != dept_id]
                turn = tid % len(others)
                path = (others[turn:] + others[:turn])[:transfers] + [dept_id]  # ending where it is now
                for i in range(transfers):
                    when = T(acc + .05 * (i + 1))
                    rows["transfers"].append((nid("transfers"), tid, path[i], path[i + 1], None, "Not ours",
                                              "approved", park.officials[path[i]].id, when, coord, when,
                                              "Transferred"))
            if extended:
                when = T(steps[-1][0] + 1)
                rows["extensions"].append((nid("extensions"), tid, len(steps), 5, "Waiting for a survey",
                                           "Survey on site", "approved", lead, when, coord, when, "Approved"))
            state = (fate if fate != "open" else "submitted" if acc is None
                     else "handled" if steps[0][1] is not None else "accepted")
            rows["tickets"].append((
                tid, f"B{tid:08d}", firm_id, submitter_id, "web", cat_id, f"Bench request {tid}",
                "Seeded by bench/oversight_bench.py", "normal", "Contact", "13800138000", state, lead, dept,
                len(steps) if decided else 0, None, stamp(created),
                None if fate == "open" else T(end), transfers, int(extended),
                in_force[0] if in_force else None, T(in_force[4]) if in_force else None,
                T(in_force[5]) if in_force else None, T(in_force[6]) if in_force else None,
                T(in_force[5]) if in_force else stamp(NO_DUE), final.get("solved") if fate == "fed_back" else None,
                final.get("rating") if fate == "fed_back" else None,
                None if supervised is None else T(supervised), "", 0, 1))
        with conn.begin():
            for name, batch in rows.items():
                for i in range(0, len(batch), BATCH):
                    loader.write(name, batch[i:i + BATCH])
        if start // BATCH % 10 == 0 or start + BATCH > n:
            print(f"  seeded {min(start + BATCH - 1, n):,} tickets, {ids['clocks']:,} clocks, "
                  f"{ids['handlings']:,} handlings, {ids['feedbacks']:,} feedbacks", flush=True)
    watch = Stopwatch()
    with conn.begin():
        for ix in deferred:
            ix.create(conn)
        if conn.dialect.name == "postgresql":
            for table, _c in tables.values():  # the ids were given: move the sequences past them
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"GREATEST(1, (SELECT max(id) FROM {table.name})))")
            conn.exec_driver_sql("RESET session_replication_role")
    print(f"  built {len(deferred)} indexes in {watch():.1f} s", flush=True)
    conn.close()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    return {**stats, **{f"rows_{k}": v for k, v in ids.items()}}


class Client:
    """One client thread's urllib opener with a cookie jar, on the bench server."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=300) as resp:
            return resp.status, resp.read().decode("utf-8")

    def login(self, username: str) -> None:
        data = urllib.parse.urlencode({"username": username, "password": PASSWORD}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=60) as resp:
            body = resp.read().decode("utf-8")
        if "/login" in resp.url:
            raise RuntimeError(f"sign-in failed: {resp.url} {body[:300]}")


def pct(values: list[float], q: float) -> float:
    """Nearest rank: the value at position ceil(q n) of the sorted values."""
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


class StatementTimer:
    """Time spent per distinct SQL statement while it listens (the --profile pass)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.spent, self.calls = engine, {}, {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, many):
        conn.info["bench_t"] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, many):
        key = " ".join(statement.split())
        self.spent[key] = self.spent.get(key, 0) + time.perf_counter() - conn.info.pop("bench_t")
        self.calls[key] = self.calls.get(key, 0) + 1

    def close(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def run_size(size: int, args) -> dict:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    from tickets.extensions import db
    from tickets.timeutil import now, to_local

    name = f"oversight-{size}.db"
    with database(args.db, name) as url:
        app = make_app(url, WTF_CSRF_ENABLED=False)
        app.add_url_rule("/__hello", "bench_hello", lambda: "hello")
        print(f"\n== {size:,} tickets ({args.db}: {url.split('@')[-1]}; {versions(url)})", flush=True)
        with app.app_context():
            watch = Stopwatch()
            create_schema()
            park = Park()
            stats = seed(size, args.per_day, park)
            seconds = watch()
            inspector = park.inspector.username
            db.session.remove()
            engine = db.engine
        print(f"  seeded in {seconds:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in stats.items()), flush=True)
        today = to_local(now()).date()
        pages = {
            "hello": "/__hello",
            "desk overdue": "/inspect/desk?tab=overdue",
            "rates 30 days by dept": f"/rates/?from={today - timedelta(days=29)}&to={today}&by=department",
        }
        server = make_server("127.0.0.1", 0, app, threaded=False)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            client = Client(f"http://127.0.0.1:{server.server_port}")
            client.login(inspector)
            for path in pages.values():  # warm up: pools, templates, caches
                for _ in range(args.warmup):
                    status, body = client.get(path)
                    assert status == 200, (path, status)
            m = re.search(r'data-testid="count">(\d+)<', client.get(pages["desk overdue"])[1])
            print(f"  overdue tab lists {m[1] if m else '?'} tickets; load average {load()}", flush=True)
            times = {p: [] for p in pages}
            for _ in range(args.requests):  # in turns, so that any noise falls on every page alike
                for page, path in pages.items():
                    t0 = time.perf_counter()
                    status, _body = client.get(path)
                    times[page].append((time.perf_counter() - t0) * 1000)
                    assert status == 200, (path, status)
            if args.profile:
                profile(client, pages, engine)
        finally:
            server.shutdown()
            thread.join()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    hello = statistics.median(times["hello"])
    result = {"size": size, "seed_seconds": round(seconds), "stats": stats, "pages": {}}
    print(f"  {'page':24} {'median ms':>10} {'p95 ms':>8} {'median/hello':>13} {'p95/hello p95':>14}")
    for page, values in times.items():
        med, p95 = statistics.median(values), pct(values, .95)
        result["pages"][page] = {"median": round(med, 2), "p95": round(p95, 2), "path": pages[page],
                                 "vs_hello": round(med / hello, 1)}
        print(f"  {page:24} {med:10.1f} {p95:8.1f} {med / hello:13.1f} {p95 / pct(times['hello'], .95):14.1f}")
    return result


def profile(client, pages, engine) -> None:
    """Three more requests per page with every statement timed: where the time goes."""
    for page, path in pages.items():
        if page == "hello":
            continue
        timer = StatementTimer(engine)
        t0 = time.perf_counter()
        for _ in range(3):
            client.get(path)
        total = (time.perf_counter() - t0) / 3 * 1000
        timer.close()
        sql = sum(timer.spent.values()) / 3 * 1000
        print(f"  profile {page}: {total:.1f} ms a request, {sql:.1f} ms in {sum(timer.calls.values()) // 3} "
              f"statements; the slowest:")
        for stmt, spent in sorted(timer.spent.items(), key=lambda kv: -kv[1])[:6]:
            print(f"    {spent / 3 * 1000:7.2f} ms x{timer.calls[stmt] // 3}  {stmt[:260]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=100, help="tickets filed a day (the same at every size)")
    parser.add_argument("--profile", action="store_true", help="time every SQL statement of each page after")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    print(f"activity: {args.per_day} tickets a day at every size; {args.requests} requests a page, "
          f"{args.warmup} warm-up", flush=True)
    results = [run_size(size, args) for size in sizes]
    small, big = results[0], results[-1]
    if len(results) > 1:
        print(f"\np95 at {big['size']:,} / p95 at {small['size']:,} (target: within 3):")
        for page in small["pages"]:
            ratio = big["pages"][page]["p95"] / small["pages"][page]["p95"]
            print(f"  {page:24} {ratio:5.2f}  {'met' if ratio <= 3 else 'MISSED'}")
    print(f"load average now: {load()}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"oversight-{args.db}.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
