"""The history bench/oversight_bench.py measures: n tickets at a fixed activity a day, in bulk.

The newest ticket is filed just now and one every 1/per_day days before it, so that
the newest tickets, the open ones and the last months look alike at every size; a
bigger table only has more years behind them. Most tickets are closed (fed_back, their
accept, handle and feedback clocks stopped, a handling and a feedback row per round);
about 120 are open, some of them overdue and on the supervision list; 3% went to a
second round after a "dissatisfied" answer, 0.5% were transferred twice, 2% had an
extension; 3% rejected, 1% withdrawn, 2% closed without feedback, 0.5% closed by force.
Rows go in as tuples: one executemany of a plain INSERT per batch on SQLite, COPY on
PostgreSQL, with the secondary indexes dropped during the load and rebuilt after it.
"""
from __future__ import annotations

import random
from datetime import timedelta

from bench.common import Park, Stopwatch

BATCH = 20_000
OPEN_RECENT = 1_000  # every 10th of the newest 1,000 tickets is still open...
OPEN_RECENT_EVERY = 10
OPEN_OLD = 6_000  # ...and every 300th of the 6,000 before them: long overdue, on the supervision list
OPEN_OLD_EVERY = 300

T_COLS = ("id", "number", "firm_id", "submitter_id", "channel", "category_id", "title", "description", "urgency",
          "contact_name", "contact_phone", "state", "lead_id", "department_id", "round", "follows_id", "created_at",
          "closed_at", "transfer_count", "extension_count", "clock_kind", "yellow_at", "due_at", "red3_at",
          "queue_due_at", "solved", "rating", "supervised_at", "head_hash", "event_count", "version",
          "search_text")
C_COLS = ("id", "ticket_id", "kind", "round", "started_at", "limit_days", "yellow_at", "due_at", "red3_at",
          "original_due_at", "stopped_at", "deadline_version", "next_step_at", "notice_id", "credit_department_id",
          "credit_user_id")
H_COLS = ("id", "ticket_id", "round", "outcome", "what_was_done", "contact_method", "contacted_on",
          "handled_by_id", "handled_at", "department_id")
F_COLS = ("id", "ticket_id", "round", "solved", "rating", "comment", "given_by_id", "given_at")
X_COLS = ("id", "ticket_id", "from_department_id", "to_department_id", "to_lead_id", "reason", "status",
          "requested_by_id", "requested_at", "decided_by_id", "decided_at", "comment", "from_lead_id")
E_COLS = ("id", "ticket_id", "round", "days", "reason", "public_reason", "status", "requested_by_id",
          "requested_at", "decided_by_id", "decided_at", "comment", "meeting_decision_id")


def stamp_for(dialect: str):
    """A datetime or date as the driver takes it: SQLAlchemy's own text format on SQLite."""
    if dialect != "sqlite":
        return lambda value: value
    return lambda value: value.isoformat(" ", "microseconds") if hasattr(value, "hour") else value.isoformat()


def bulk(conn, table, cols: tuple, rows: list[tuple]) -> None:
    """One executemany of a plain INSERT on SQLite (times already text), COPY on PostgreSQL."""
    if table.name == "tickets" and "updated_at" not in cols:
        # The time of the last event: a bench ticket's closing, else its filing.
        closed, created = cols.index("closed_at"), cols.index("created_at")
        cols, rows = cols + ("updated_at",), [r + (r[closed] or r[created],) for r in rows]
    assert set(cols) == set(table.c.keys()), set(table.c.keys()) ^ set(cols)
    if conn.dialect.name == "sqlite":
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.exec_driver_sql(sql, rows)
        return
    cursor = conn.connection.driver_connection.cursor()
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
    official = {dept: user.id for dept, user in park.officials.items()}
    db.session.commit()  # no transaction of the app's session stays open across the load and VACUUM
    tables = {"tickets": (Ticket.__table__, T_COLS), "clocks": (Clock.__table__, C_COLS),
              "handlings": (Handling.__table__, H_COLS), "feedbacks": (Feedback.__table__, F_COLS),
              "transfers": (TransferRequest.__table__, X_COLS), "extensions": (ExtensionRequest.__table__, E_COLS)}
    conn = db.engine.connect()
    if conn.dialect.name == "sqlite":
        for pragma in ("synchronous=OFF", "cache_size=-1000000", "foreign_keys=OFF"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
    else:
        conn.exec_driver_sql("SET session_replication_role = replica")  # no FK trigger per row, as pg_restore
        for table, _c in tables.values():  # no autovacuum half-way through the load (its snapshot would
            conn.exec_driver_sql(f"ALTER TABLE {table.name} SET (autovacuum_enabled = off)")  # hold VACUUM back)
    conn.commit()
    stamp = stamp_for(conn.dialect.name)
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
            lead = official[dept_id] if decided else None
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
                                       T(upcoming[0]) if upcoming else None, None,
                                       dept if kind != "accept" else None, lead if kind != "accept" else None))
            final = {}
            for k, (hs, handled, given) in enumerate(steps, 1):
                if handled is None:
                    continue
                rows["handlings"].append((nid("handlings"), tid, k, "resolved", "Visited the firm and solved it",
                                          "phone", stamp((created + timedelta(days=handled)).date()), lead,
                                          T(handled), dept))
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
                                              "approved", official[path[i]], when, coord, when,
                                              "Transferred", official[path[i]]))
            if extended:
                when = T(steps[-1][0] + 1)
                rows["extensions"].append((nid("extensions"), tid, len(steps), 5, "Waiting for a survey",
                                           "Survey on site", "approved", lead, when, coord, when, "Approved", None))
            state = (fate if fate != "open" else "submitted" if acc is None
                     else "handled" if steps[0][1] is not None else "accepted")
            rows["tickets"].append((
                tid, f"{2000 + tid // 1_000_000}-{tid % 1_000_000:06d}", firm_id, submitter_id, "web", cat_id, f"Bench request {tid}",
                "Seeded by bench/oversight_bench.py", "normal", "Contact", "13800138000", state, lead, dept,
                len(steps) if decided else 0, None, stamp(created),
                None if fate == "open" else T(end), transfers, int(extended),
                in_force[0] if in_force else None, T(in_force[4]) if in_force else None,
                T(in_force[5]) if in_force else None, T(in_force[6]) if in_force else None,
                T(in_force[5]) if in_force else stamp(NO_DUE), final.get("solved") if fate == "fed_back" else None,
                final.get("rating") if fate == "fed_back" else None,
                None if supervised is None else T(supervised), "", 0, 1, ""))
        with conn.begin():
            for name, batch in rows.items():
                for i in range(0, len(batch), BATCH):
                    bulk(conn, *tables[name], batch[i:i + BATCH])
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
            for table, _c in tables.values():
                conn.exec_driver_sql(f"ALTER TABLE {table.name} RESET (autovacuum_enabled)")
    print(f"  built {len(deferred)} indexes in {watch():.1f} s", flush=True)
    conn.close()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
            # Index-only scans (the desk's counts) skip the table only on pages marked all-visible.
            seen = c.exec_driver_sql("SELECT relname, relallvisible, relpages FROM pg_class WHERE relname IN "
                                     "('tickets', 'feedbacks', 'clocks') ORDER BY relname").all()
            print("  all-visible pages after VACUUM: " + ", ".join(f"{name} {v:,}/{n:,}" for name, v, n in seen))
    return {**stats, **{f"rows_{k}": v for k, v in ids.items()}, "rows_tickets": n}


