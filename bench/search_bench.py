#!/usr/bin/env python
"""The queue's search over a real HTTP server, at 10,000 and 1,000,000 tickets.

    .venv/bin/python bench/search_bench.py --sizes 10000,1000000 [--db sqlite|postgres] [--requests 20]

For each size: a fresh database, a small park (bench/common.py) whose 20 firms have Chinese
names, and that many tickets inserted in bulk (executemany on SQLite, COPY on PostgreSQL;
never the services). Titles and descriptions are drawn from a pool of Chinese phrases; the
words are segmented by tickets/segment.py exactly as the app does (once per distinct text,
then joined to each ticket's number words), and the index is the app's own: the FTS5 table
kept by its triggers on SQLite, the GIN index (built after the load) on PostgreSQL. 1% of the
tickets are open (accepted, led by their department's official), the rest closed.

The size's app is served by werkzeug on loopback; a coordinator (all tickets) and an official
(their department) sign in, and one client thread times, in turns, a hello-world route and
the queue with each search: a common word (in about 2% of the tickets), a rare word (in
10 tickets at every size), part of a number, a firm name, and the official's department
searched for the common word. Prints median and p95 per request and the ratio to
hello-world. A script that prints what it measured, never a timed test.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, Park, Stopwatch, add_hello, create_schema, database, load, machine, make_app, versions  # noqa: E402
from bench.oversight_bench import Client, pct  # noqa: E402
from bench.oversight_seed import T_COLS, bulk, stamp_for  # noqa: E402

BATCH = 20_000
FIRM_NAMES = ("恒达机械", "新安化工", "瑞丰纺织", "华联电子", "永盛新材料", "金鹰汽配", "东方精工", "宏图光电",
              "天成食品", "万通物流", "博远医药", "中科智造", "远大环保", "海川电气", "锦绣服饰", "明珠塑业",
              "鼎盛建材", "绿源农业", "卓越软件", "星河包装")
SUBJECTS = ("招工", "融资", "贷款", "用地", "用电", "用水", "环评", "消防验收", "厂房租赁", "人才公寓", "技改补贴",
            "出口退税", "物流运输", "子女入学", "道路施工", "污水排放", "天然气供应", "网络宽带", "安全生产", "产品认证")
PROBLEMS = ("缺口较大", "审批较慢", "手续复杂", "资金紧张", "供应不足", "政策不清", "费用偏高", "进度滞后",
            "需要协调", "急需解决")
DETAILS = ("企业近期订单增加，生产线需要扩充", "目前相关材料已经提交多次仍未办结", "希望园区帮助对接相关部门",
           "影响了正常生产经营", "申请给予政策支持", "请尽快安排人员上门了解情况", "已与供应商多次沟通未果",
           "新项目投产在即，时间紧迫", "工人宿舍不足，员工流失严重", "银行要求追加抵押物")
COMMON_WORD = "用工"  # put in 2% of the tickets, on top of what the phrases give
RARE_WORD = "氢燃料电池"  # in exactly 10 tickets at every size


def texts(rng: random.Random, count: int = 4000) -> list[tuple[str, str, str]]:
    """A pool of (title, description, their segmented words) to draw the tickets from."""
    from tickets.segment import index_text

    pool = []
    for _ in range(count):
        title = rng.choice(SUBJECTS) + rng.choice(PROBLEMS)
        description = "，".join(rng.sample(DETAILS, 3)) + "。"
        pool.append((title, description, index_text("", title, description)))
    return pool


def seed(n: int, park: Park) -> dict:
    """n tickets in bulk, 1% open; returns counts."""
    from tickets.extensions import db
    from tickets.models import NO_DUE, Firm, Ticket
    from tickets.segment import index_text, number_words
    from tickets.timeutil import now

    rng = random.Random(20261202)
    for firm, name in zip(park.firms, FIRM_NAMES):
        db.session.get(Firm, firm.id).name = f"浙江{name}有限公司"
    db.session.commit()
    pool = texts(rng)
    rare = index_text("", RARE_WORD, "")
    cats = [(c.id, c.department_id) for c in park.categories]
    firms = list(zip((f.id for f in park.firms), (u.id for u in park.firm_users)))
    official = {dept: user.id for dept, user in park.officials.items()}
    at = now()
    conn = db.engine.connect()
    stamp = stamp_for(conn.dialect.name)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP INDEX ix_tickets_search")
        conn.commit()
    counts = {"tickets": n, "open": 0, "common word": 0, "rare word": 0}
    rare_every = max(n // 10, 1)
    rows = []
    for tid in range(1, n + 1):
        created = at - timedelta(minutes=(n - tid) * 5)
        year = 2026 - (n - tid) // 200_000
        number = f"{year}-{tid % 200_000 + 1:06d}"
        title, description, words = pool[rng.randrange(len(pool))]
        if tid % 50 == 7:
            title, description = COMMON_WORD + title, description
            words = f"{COMMON_WORD} {words}"
            counts["common word"] += 1
        if tid % rare_every == 3 and counts["rare word"] < 10:
            description += RARE_WORD
            words = f"{words} {rare}"
            counts["rare word"] += 1
        cat_id, dept = cats[tid % len(cats)]
        firm_id, submitter = firms[tid % len(firms)]
        is_open = tid % 100 == 0
        counts["open"] += is_open
        due = created + timedelta(days=7)
        rows.append((
            tid, number, firm_id, submitter, "web", cat_id, title, description, "normal", "联系人", "13800138000",
            "accepted" if is_open else "fed_back", official[dept], dept, 1, None, stamp(created),
            None if is_open else stamp(created + timedelta(days=5)), 0, 0,
            "handle" if is_open else None, stamp(due - timedelta(days=1)) if is_open else None,
            stamp(due) if is_open else None, stamp(due + timedelta(days=4)) if is_open else None,
            stamp(due if is_open else NO_DUE), None if is_open else "yes", None if is_open else "satisfied",
            None, "", 0, 1, " ".join(number_words(number)) + " " + words))
        if len(rows) == BATCH or tid == n:
            with conn.begin():
                bulk(conn, Ticket.__table__, T_COLS, rows)
            rows = []
    with conn.begin():
        if conn.dialect.name == "postgresql":
            from tickets.models.search import POSTGRES_CREATE

            for sql in POSTGRES_CREATE:
                conn.exec_driver_sql(sql)
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    conn.close()
    return counts


def pages_of() -> dict:
    def queue(scope: str, q: str) -> str:
        return "/desk/tickets?" + urllib.parse.urlencode({"scope": scope, "state": "all", "q": q})

    return {
        "hello": ("coordinator", "/__hello"),
        "all, no search": ("coordinator", "/desk/tickets?scope=all&state=all"),
        f"common word {COMMON_WORD}": ("coordinator", queue("all", COMMON_WORD)),
        f"rare word {RARE_WORD}": ("coordinator", queue("all", RARE_WORD)),
        "part of a number 001234": ("coordinator", queue("all", "001234")),
        "firm name 恒达": ("coordinator", queue("all", "恒达")),
        "words 招工 缺口": ("coordinator", queue("all", "招工 缺口")),
        f"official's dept {COMMON_WORD}": ("official", queue("department", COMMON_WORD)),
    }


def run_size(size: int, args) -> dict:
    import logging

    from werkzeug.serving import make_server

    from tickets.extensions import db

    with database(args.db, f"search-{size}.db") as url:
        app = make_app(url, WTF_CSRF_ENABLED=False)
        add_hello(app)
        print(f"\n== {size:,} tickets ({args.db}; {versions(url)})", flush=True)
        with app.app_context():
            watch = Stopwatch()
            create_schema()
            park = Park(firms=len(FIRM_NAMES))
            # The department of the category the common word's tickets fall in (seed: tid % 50 == 7).
            official = park.officials[park.categories[7 % len(park.categories)].department_id].username
            stats = seed(size, park)
            seconds = watch()
            print(f"  seeded in {seconds:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in stats.items()), flush=True)
            db.session.remove()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = make_server("127.0.0.1", 0, app, threaded=False)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            base = f"http://127.0.0.1:{server.server_port}"
            clients = {"coordinator": Client(base, "coord"), "official": Client(base, official)}
            pages = pages_of()
            for who, path in pages.values():  # warm up: pools, templates, caches, jieba's dictionary
                for _ in range(args.warmup):
                    clients[who].open(path)
            found = {}
            for page, (who, path) in pages.items():
                body = clients[who].open(path)[1]
                m = body.split('data-testid="total">', 1)
                found[page] = "".join(ch for ch in m[1].split("<", 1)[0] if ch.isdigit()) if len(m) > 1 else "-"
            times = {p: [] for p in pages}
            print(f"  timing {args.requests} rounds; load average {load()}", flush=True)
            for _ in range(args.requests):
                for page, (who, path) in pages.items():
                    t0 = time.perf_counter()
                    clients[who].open(path)
                    times[page].append((time.perf_counter() - t0) * 1000)
        finally:
            server.shutdown()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    hello = statistics.median(times["hello"])
    result = {"size": size, "seed_seconds": round(seconds), "stats": stats, "pages": {}}
    print(f"  {'request':30} {'found':>8} {'median ms':>10} {'p95 ms':>8} {'median/hello':>13}")
    for page, values in times.items():
        med, p95 = statistics.median(values), pct(values, .95)
        result["pages"][page] = {"path": pages[page][1], "found": found[page], "median": round(med, 2),
                                 "p95": round(p95, 2), "median_vs_hello": round(med / hello, 1)}
        print(f"  {page:30} {found[page]:>8} {med:10.1f} {p95:8.1f} {med / hello:13.1f}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=20, help="timed requests of each search at each size")
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    results = [run_size(int(s.replace("_", "")), args) for s in args.sizes.split(",")]
    if len(results) > 1:
        small, big = results[0], results[-1]
        print(f"\nmedian at {big['size']:,} / median at {small['size']:,}:")
        for page in small["pages"]:
            print(f"  {page:30} {big['pages'][page]['median'] / small['pages'][page]['median']:6.2f}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"search-{args.db}-results.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
