"""A park's history in bulk: n tickets with their clocks, handlings, feedbacks, transfers, extensions and events.

The newest ticket is filed just now and one every 1/per_day days before it, so that
the newest tickets, the open ones and the last months look alike at every size; a
bigger table only has more years behind them. Most tickets are closed (fed_back, their
accept, handle and feedback clocks stopped, a handling and a feedback row per round);
every 10th of the newest 1,000 is open, and every 300th of the 6,000 (or 60 days' worth)
before them, many of those overdue and on the supervision list; 3% went to a
second round after a "dissatisfied" answer, 0.5% were transferred twice, 3% once, 2% had
an extension; 3% rejected, 1% withdrawn, 2% closed without feedback, 0.5% closed by force.

Every ticket gets the events the real services would have written for that history (file,
accept, clock_started, request_transfer/transfer, request_extension/extension_approved,
handle, rework, feedback, expire, force_close, reject, withdraw), with the same actions,
visibilities and details, chained with the HMAC of tickets/audit.py under the current key;
the ticket keeps its head hash and event count, so `flask audit verify` holds. The ticket
counters end at each year's last number, the PostgreSQL sequences past the given ids, and
search_text is what the mapper event would have set (tickets/models/search.py).

Rows go in as tuples: one executemany of a plain INSERT per batch on SQLite, COPY on
PostgreSQL, with the secondary indexes (and the search index) dropped during the load
and rebuilt after it. No ORM object per row. The random choices use a fixed seed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import random
import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..audit import GENESIS, keyring
from ..segment import _words, number_words
from ..timeutil import now
from . import texts

BATCH = 20_000
# tickets.audit.canonical_json with one encoder for every call (json.dumps builds one per call).
canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
OPEN_RECENT = 1_000  # every 10th of the newest 1,000 tickets is still open...
OPEN_RECENT_EVERY = 10
OPEN_OLD = 6_000  # ...and every 300th of the 6,000 (or 60 days' worth) before them: long overdue, supervised
OPEN_OLD_EVERY = 300
RANDOM_SEED = 20261126

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
V_COLS = ("id", "ticket_id", "seq", "actor_id", "at", "action", "from_state", "to_state", "visibility", "details",
          "prev_hash", "hash", "key_id")


@dataclass
class Roster:
    """Who and what the history refers to, as plain values."""

    cats: list[tuple[int, str, int, int]]  # (id, code, department id, limit days)
    depts: dict[int, tuple[str, str]]  # id -> (name_zh, name_en)
    official: dict[int, tuple[int, str]]  # department id -> (lead official id, name)
    firms: list[tuple[int, int, str, str]]  # (firm id, submitting user id, contact name, contact phone)
    coord: int

    @classmethod
    def load(cls, official_by_dept: dict[int, object] | None = None) -> Roster:
        """From the database: every category and department; an official per department (the first non-head
        unless given), every firm with its first firm user, the first coordinator."""
        from ..extensions import db
        from ..models import Category, Department, Firm, User

        depts = {d.id: (d.name_zh, d.name_en)
                 for d in db.session.scalars(db.select(Department).order_by(Department.id))}
        users = list(db.session.scalars(db.select(User).where(User.active.is_(True)).order_by(User.id)))
        official = {k: (u.id, u.name) for k, u in (official_by_dept or {}).items()}
        for u in users:
            if u.has("official") and u.department_id in depts and u.department_id not in official and not u.is_head:
                official[u.department_id] = (u.id, u.name)
        first_user = {}
        for u in users:
            if u.has("firm") and u.firm_id is not None:
                first_user.setdefault(u.firm_id, u)
        firms = [(f.id, first_user[f.id].id, f.contact_name or first_user[f.id].name,
                  f.contact_phone or first_user[f.id].mobile or "13800138000")
                 for f in db.session.scalars(db.select(Firm).order_by(Firm.id)) if f.id in first_user]
        coord = next(u.id for u in users if u.has("coordinator"))
        cats = [(c.id, c.code, c.department_id, c.limit_days)
                for c in db.session.scalars(db.select(Category).order_by(Category.id)) if c.department_id in official]
        return cls(cats, depts, official, firms, coord)


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


class Texts:
    """Titles and descriptions from the demo's texts, each with its segmented words computed once."""

    def __init__(self, rng: random.Random, codes):
        import jieba

        self.by_code = {}
        for code in codes:
            variants = []
            plain = [("企业诉求", "请园区协调解决企业生产经营中遇到的问题。")]
            for title, desc in texts.REQUESTS.get(code) or plain:
                for _ in range(2):
                    values = texts.values_for(rng, product="产品", firm="公司", dept="承办部门")
                    t, d = texts.fill(title, values), texts.fill(desc, values)
                    variants.append((t, d, _words(jieba.cut_for_search(f"{t}\n{d}"))))
            done = [texts.fill(x, texts.values_for(rng, dept="承办部门", product="产品", firm="公司"))
                    for x in texts.DONE.get(code, ["已上门对接，问题已解决。"])]
            self.by_code[code] = (variants, done)


def _hasher(key: bytes, key_id: str):
    """The HMAC of tickets.audit.event_hash over a payload written out in its canonical form.

    The payload's keys in sorted order, no spaces; actions, states and numbers are plain ASCII
    (no escaping), the details already canonical JSON: the same bytes as canonical_json(dict).
    """
    base = hmac.new(key, digestmod=hashlib.sha256)

    def sign(number: str, seq: int, prev: str, actor, at: str, action: str, frm, to, vis: str, details: str) -> str:
        h = base.copy()
        h.update((f'{{"action":"{action}","actor":{"null" if actor is None else actor},"at":"{at}",'
                  f'"details":{details},"from":{"null" if frm is None else chr(34) + frm + chr(34)},'
                  f'"prev":"{prev}","seq":{seq},"ticket":"{number}",'
                  f'"to":{"null" if to is None else chr(34) + to + chr(34)},"visibility":"{vis}"}}').encode("utf-8"))
        return h.hexdigest()

    return sign


def prepare(conn, tables) -> list:
    """Fast-load settings; drops the secondary indexes and the search index; returns the indexes to rebuild."""
    if conn.dialect.name == "sqlite":
        # threads: the index builds after the load sort with a helper thread.
        for pragma in ("synchronous=OFF", "cache_size=-1000000", "foreign_keys=OFF", "threads=2"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
    else:
        if conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar():
            conn.exec_driver_sql("SET session_replication_role = replica")  # no FK trigger per row, as pg_restore
        for table, _c in tables.values():  # no autovacuum half-way through the load (its snapshot would
            conn.exec_driver_sql(f"ALTER TABLE {table.name} SET (autovacuum_enabled = off)")  # hold VACUUM back)
    conn.commit()
    deferred = [ix for table, _c in tables.values() for ix in table.indexes if not ix.unique]
    with conn.begin():
        for ix in deferred:
            ix.drop(conn)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS tickets_search_insert")
        else:
            conn.exec_driver_sql("DROP INDEX IF EXISTS ix_tickets_search")
    return deferred


def finish(conn, tables, deferred, counters: dict[int, int]) -> None:
    """Rebuild the indexes and the search index; the counters; the sequences past the given ids."""
    from ..models.search import POSTGRES_CREATE, SQLITE_CREATE

    with conn.begin():
        for ix in deferred:
            ix.create(conn)
        for year, last in sorted(counters.items()):
            conn.exec_driver_sql("INSERT INTO ticket_counters (year, last) VALUES (%s, %s)" % (int(year), int(last)))
        if conn.dialect.name == "sqlite":
            for sql in SQLITE_CREATE:
                conn.exec_driver_sql(sql)
            conn.exec_driver_sql("INSERT INTO ticket_search(ticket_search) VALUES ('rebuild')")
        else:
            for sql in POSTGRES_CREATE:
                conn.exec_driver_sql(sql)
            for table, _c in tables.values():  # the ids were given: move the sequences past them
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"GREATEST(1, (SELECT max(id) FROM {table.name})), "
                                     f"(SELECT max(id) IS NOT NULL FROM {table.name}))")
            if conn.exec_driver_sql("SELECT current_setting('session_replication_role')").scalar() == "replica":
                conn.exec_driver_sql("RESET session_replication_role")
            for table, _c in tables.values():
                conn.exec_driver_sql(f"ALTER TABLE {table.name} RESET (autovacuum_enabled)")


def seed(n: int, per_day: int, park=None, *, quiet: bool = False, vacuum: bool = True, workers: int = 2) -> dict:
    """n tickets, the newest filed just now, one every 1/per_day days before it; returns counts.

    `park` is a Roster, or bench.common.Park (its officials by department), or None: the database's own.
    The database must hold no tickets yet.
    """
    from ..extensions import db
    from ..models import NO_DUE, Clock, Event, ExtensionRequest, Feedback, Handling, Ticket, TransferRequest

    say = (lambda *a, **k: None) if quiet else print
    started = time.monotonic()
    if park is None or isinstance(park, Roster):
        roster = park or Roster.load()
    else:
        roster = Roster.load({dept: user for dept, user in park.officials.items()})
    at = now()
    rng = random.Random(RANDOM_SEED)
    cats = roster.cats
    depts = sorted(roster.official)
    firms = roster.firms
    coord = roster.coord
    official = {dept: uid for dept, (uid, _name) in roster.official.items()}
    official_name = {dept: name for dept, (_uid, name) in roster.official.items()}
    code_of = {c[0]: c[1] for c in cats}
    words = Texts(random.Random(RANDOM_SEED), sorted({c[1] for c in cats}))
    ring = keyring()
    sign, kid = _hasher(ring.current, ring.current_id), ring.current_id
    dept_details = {d: (roster.depts[d][0], roster.depts[d][1]) for d in depts}
    db.session.commit()  # no transaction of the app's session stays open across the load and VACUUM
    tables = {"tickets": (Ticket.__table__, T_COLS + ("updated_at",)), "clocks": (Clock.__table__, C_COLS),
              "handlings": (Handling.__table__, H_COLS), "feedbacks": (Feedback.__table__, F_COLS),
              "transfers": (TransferRequest.__table__, X_COLS), "extensions": (ExtensionRequest.__table__, E_COLS),
              "events": (Event.__table__, V_COLS)}
    conn = db.engine.connect()
    if conn.exec_driver_sql("SELECT 1 FROM tickets LIMIT 1").first() is not None:
        conn.close()
        raise RuntimeError("the database already holds tickets")
    stamp = stamp_for(conn.dialect.name)
    sqlite = conn.dialect.name == "sqlite"
    no_due = stamp(NO_DUE)
    deferred = prepare(conn, tables)
    years = year_starts(n, per_day, at)  # (first ticket id, year), ascending
    counters = {year: (years[i + 1][0] if i + 1 < len(years) else n + 1) - first
                for i, (first, year) in enumerate(years)}
    firsts = [first for first, _y in years]
    open_old = max(OPEN_OLD, 60 * per_day)

    def deadline(start, limit):  # working days as calendar days x 7/5; yellow a day before, red3 3 days after
        due = start + limit * 1.4
        return due - 1.0, due, due + 4.2

    def generate(start: int):
        """The rows of tickets start .. start + BATCH - 1, and their counts: the same in any process.

        Ids come from the ticket id (its events (tid - 1) * 16 + seq, its clocks (tid - 1) * 8 + j,
        ...): each batch has its own ranges, whichever process makes it.
        """
        rng = random.Random(RANDOM_SEED * 1000 + start // BATCH)
        stats = dict.fromkeys(STATS, 0)
        rows = {name: [] for name in tables}
        ev_rows = rows["events"]
        yi = bisect_right(firsts, start) - 1
        first, year = years[yi]
        next_first = years[yi + 1][0] if yi + 1 < len(years) else n + 2
        for tid in range(start, min(start + BATCH, n + 1)):
            age = (n - tid + 0.5) / per_day  # days since filing
            created = at - timedelta(days=age)
            if tid >= next_first:
                yi += 1
                first, year = years[yi]
                next_first = years[yi + 1][0] if yi + 1 < len(years) else n + 2
            number = f"{year}-{tid - first + 1:06d}"

            def D(x):  # an offset in days -> the time
                return created + timedelta(days=x)

            T = lambda x: stamp(D(x))  # noqa: E731  an offset in days -> the time as the driver takes it
            cat_id, cat_code, dept_id, limit = cats[rng.randrange(len(cats))]
            firm_id, submitter_id, contact_name, contact_phone = firms[rng.randrange(len(firms))]
            variants, done_texts = words.by_code[cat_code]
            title, description, title_words = variants[rng.randrange(len(variants))]
            back = n - tid  # 0 for the newest
            is_open = ((back < OPEN_RECENT and tid % OPEN_RECENT_EVERY == 0)
                       or (OPEN_RECENT <= back < OPEN_RECENT + open_old and tid % OPEN_OLD_EVERY == 0))
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
            stats["transferred"] += transfers >= 1
            stats["extended"] += extended
            for j, (kind, k, st, lim, y, due, red3, orig, stop, version) in enumerate(clocks, (tid - 1) * 8 + 1):
                upcoming = [x for x in (y, due, red3) if x > age] if stop is None else []
                rows["clocks"].append((j, tid, kind, k, T(st), lim, T(y), T(due), T(red3), T(orig),
                                       None if stop is None else T(stop), version,
                                       T(upcoming[0]) if upcoming else None, None,
                                       dept if kind != "accept" else None, lead if kind != "accept" else None))

            # The record, as the services write it: (offset, actor, action, from, to, visibility, details).
            evs = [(0, submitter_id, "file", None, "submitted", "public",
                    {"channel": "web", "category": cat_code, "title": title, "urgency": "normal",
                     "follows": None, "attachments": []})]
            if fate == "rejected":
                evs.append((acc, coord, "reject", "submitted", "rejected", "public", {"reason": texts.REJECT[0]}))
            elif fate == "withdrawn":
                evs.append((acc, submitter_id, "withdraw", "submitted", "withdrawn", "public",
                            {"reason": texts.WITHDRAW[0]}))
            state = "submitted"
            if decided:
                home = dept_id
                if transfers:
                    others = [d for d in depts if d != dept_id]
                    turn = tid % len(others)
                    path = (others[turn:] + others[:turn])[:transfers] + [dept_id]  # ending where it is now
                    home = path[0]
                zh, en = dept_details[home]
                evs.append((acc, coord, "accept", "submitted", "accepted", "public",
                            {"lead_id": official[home], "lead": official_name[home], "department_id": home,
                             "department_zh": zh, "department_en": en, "note": ""}))
                state = "accepted"
                final = {}
                for k, (hs, handled, given) in enumerate(steps, 1):
                    clock_due = deadline(hs, limit)[1]
                    evs.append((hs, None, "clock_started", None, None, "public",
                                {"clock": "handle", "round": k, "due": _ft(D(clock_due)), "limit_days": limit}))
                    # The round's own moments lie between its start and its end (handled, closed, or now).
                    round_end = handled if handled is not None else (end if fate == "closed_forced" else age)
                    span = max(round_end - hs, 0.0)
                    if k == 1 and transfers:
                        for i in range(transfers):
                            asked, when = hs + span * (.04 + .1 * i), hs + span * (.08 + .1 * i)
                            req_id = (tid - 1) * 4 + i + 1
                            rows["transfers"].append((req_id, tid, path[i], path[i + 1], None,
                                                      "非本单位职责，请转办",
                                                      "approved", official[path[i]], T(asked), coord, T(when),
                                                      "同意转办。", official[path[i]]))
                            evs.append((asked, official[path[i]], "request_transfer", None, None, "internal",
                                        {"request_id": req_id, "to_department_id": path[i + 1], "to_lead_id": None,
                                         "reason": "非本单位职责，请转办"}))
                            zh, en = dept_details[path[i + 1]]
                            evs.append((when, coord, "transfer", "accepted", "accepted", "public",
                                        {"request_id": req_id, "from_department_id": path[i],
                                         "to_department_id": path[i + 1], "department_zh": zh, "department_en": en,
                                         "lead_id": official[path[i + 1]], "lead": official_name[path[i + 1]],
                                         "reason": "非本单位职责，请转办", "comment": "同意转办。"}))
                    if extended and k == len(steps):
                        asked, when = hs + span * .4, hs + span * .45
                        req_id = tid
                        reason, public = texts.EXTENSION[tid % len(texts.EXTENSION)]
                        rows["extensions"].append((req_id, tid, k, 5, reason, public, "approved", lead, T(asked),
                                                   coord, T(when), "同意延期，请抓紧办理。", None))
                        evs.append((asked, lead, "request_extension", None, None, "internal",
                                    {"request_id": req_id, "days": 5, "reason": reason, "public_reason": public}))
                        evs.append((when, coord, "extension_approved", None, None, "public",
                                    {"request_id": req_id, "days": 5, "old_due": _ft(D(clock_due)),
                                     "new_due": _ft(D(clock_due + 7)), "deadline_version": 2,
                                     "public_reason": public, "comment": "同意延期，请抓紧办理。"}))
                    if handled is None:
                        continue
                    done = done_texts[tid % len(done_texts)]
                    contacted = stamp(D(handled).date())
                    rows["handlings"].append(((tid - 1) * 4 + k, tid, k, "resolved", done, "phone", contacted, lead,
                                              T(handled), dept))
                    evs.append((handled, lead, "handle", "accepted", "handled", "public",
                                {"round": k, "outcome": "resolved", "what_was_done": done, "explanation": "",
                                 "contact_method": "phone", "contacted_on": D(handled).date().isoformat(),
                                 "attachments": []}))
                    if given is not None:
                        rework = k < len(steps)
                        solved = "no" if rework else "yes" if rng.random() < .85 else "partly"
                        rating = ("dissatisfied" if rework else "satisfied" if rng.random() < .8
                                  else "basically_satisfied")
                        comment = texts.REWORK[""][0] if rework else "感谢园区的帮助，问题已解决。"
                        final = {"solved": solved, "rating": rating}
                        rows["feedbacks"].append(((tid - 1) * 4 + k, tid, k, solved, rating, comment, submitter_id,
                                                  T(given)))
                        evs.append((given, submitter_id, "rework" if rework else "feedback", "handled",
                                    "accepted" if rework else "fed_back", "public",
                                    {"round": k + 1 if rework else k, "solved": solved, "rating": rating,
                                     "comment": comment}))
                if fate == "closed_unconfirmed":
                    evs.append((end, None, "expire", "handled", "closed_unconfirmed", "public",
                                {"round": len(steps)}))
                elif fate == "closed_forced":
                    evs.append((end, coord, "force_close", "accepted", "closed_forced", "public",
                                {"reason": "企业已迁出园区，诉求无法继续办理。"}))
            prev, seq = GENESIS, 0
            for off, actor, action, frm, to, vis, details in evs:
                seq += 1
                when = D(off)
                body = canonical_json(details)
                link = sign(number, seq, prev, actor, _ft(when), action, frm, to, vis, body)
                ev_rows.append(((tid - 1) * 16 + seq, tid, seq, actor, stamp(when), action, frm, to, vis, body,
                                prev, link, kid))
                prev = link
            last_at = stamp(D(evs[-1][0]))
            state = (fate if fate != "open" else "submitted" if acc is None
                     else "handled" if steps[0][1] is not None else "accepted")
            search_text = " ".join(dict.fromkeys(number_words(number) + title_words))
            rows["tickets"].append((
                tid, number, firm_id, submitter_id, "web", cat_id, title, description, "normal", contact_name,
                contact_phone, state, lead, dept, len(steps) if decided else 0, None, stamp(created),
                None if fate == "open" else T(end), transfers, int(extended),
                in_force[0] if in_force else None, T(in_force[4]) if in_force else None,
                T(in_force[5]) if in_force else None, T(in_force[6]) if in_force else None,
                T(in_force[5]) if in_force else no_due,
                final.get("solved") if decided and fate == "fed_back" else None,
                final.get("rating") if decided and fate == "fed_back" else None,
                None if supervised is None else T(supervised), prev, seq, 1, search_text, last_at))
        return rows, stats

    stats = dict.fromkeys(STATS, 0)
    ids = dict.fromkeys(tables, 0)
    batches = range(1, n + 1, BATCH)
    global _GENERATE
    _GENERATE = generate
    pool = None
    if workers > 1 and len(batches) > 1:
        # Forked after everything above: the workers make rows from the same values and never touch the database.
        pool = multiprocessing.get_context("fork").Pool(workers)
        made = pool.imap(_generate, batches)
    else:
        made = map(generate, batches)
    try:
        for start, (rows, counts) in zip(batches, made):
            with conn.begin():
                for name, batch in rows.items():
                    bulk(conn, *tables[name], batch)
                    ids[name] += len(batch)
            for key, value in counts.items():
                stats[key] += value
            if start // BATCH % 10 == 0 or start + BATCH > n:
                say(f"  seeded {min(start + BATCH - 1, n):,} tickets, {ids['events']:,} events, "
                    f"{ids['clocks']:,} clocks ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _GENERATE = None
    loaded = time.monotonic()
    finish(conn, tables, deferred, counters)
    say(f"  built {len(deferred)} indexes and the search index in {time.monotonic() - loaded:.1f} s", flush=True)
    conn.close()
    if vacuum and db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
            # Index-only scans (the desk's counts) skip the table only on pages marked all-visible.
            seen = c.exec_driver_sql("SELECT relname, relallvisible, relpages FROM pg_class WHERE relname IN "
                                     "('tickets', 'feedbacks', 'clocks') ORDER BY relname").all()
            say("  all-visible pages after VACUUM: " + ", ".join(f"{name} {v:,}/{m:,}" for name, v, m in seen))
    elif vacuum and sqlite:
        with db.engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
    return {**stats, **{f"rows_{k}": v for k, v in ids.items()},
            "seconds": round(time.monotonic() - started, 1)}


STATS = ("open", "overdue", "supervised_open", "supervised", "round2", "bounced", "transferred", "rejected",
         "withdrawn", "closed_unconfirmed", "closed_forced", "fed_back", "extended")
_GENERATE = None  # the batch maker of the load under way, for the forked workers


def _generate(start: int):
    return _GENERATE(start)


def year_starts(n: int, per_day: int, at: datetime) -> list[tuple[int, int]]:
    """(first ticket id, its local year) for each year the history covers, ticket tid filed at
    at - (n - tid + 0.5) / per_day days; numbers count from 1 in each year."""
    shift = timedelta(hours=8)  # Asia/Shanghai keeps no daylight saving time

    def year_of(tid):
        return (at - timedelta(days=(n - tid + 0.5) / per_day) + shift).year

    out, tid = [], 1
    while tid <= n:
        year = year_of(tid)
        out.append((tid, year))
        lo, hi = tid, n + 1  # the first id of a later year: year_of(hi) > year
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if year_of(mid) == year else (lo, mid)
        tid = hi
    return out


def _ft(at: datetime) -> str:
    """tickets.audit.format_time, without strftime."""
    return at.isoformat("T", "microseconds") + "Z"
