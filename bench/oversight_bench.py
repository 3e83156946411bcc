#!/usr/bin/env python
"""The inspector's overdue list and the rates dashboard over a real HTTP server, at two table sizes.

    .venv/bin/python bench/oversight_bench.py --sizes 10000,1000000 [--db sqlite|postgres] [--requests 40]

For each size: a fresh database, a small park, and that many tickets of history
(bench/oversight_seed.py: the same activity a day at every size, --per-day, so that
only the years behind the last months differ). Every size's app is then served by
werkzeug on loopback at once, an inspector signs in through /login on each, and one
client thread times, in turns over the sizes, a hello-world route (/__hello,
registered on the bench app only), the desk's overdue tab and the rates dashboard
for the last 30 days by department. Prints the median and p95 of each page, its
ratio to hello-world, and p95(largest size) / p95(smallest size) per page (the
issue's target: 3). A script that prints what it measured, never a timed test.
"""
from __future__ import annotations

import argparse
import json
import math
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

from bench.common import OUT, Park, Stopwatch, add_hello, create_schema, database, load, machine, make_app, versions  # noqa: E402
from bench.oversight_seed import seed  # noqa: E402

PASSWORD = "bench-password"  # bench.common.Park's


class Client:
    """A urllib opener with a cookie jar, signed in on one bench server (CSRF is off in the bench app)."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        if "/login" in self.open("/login", {"username": username, "password": PASSWORD})[0]:
            raise RuntimeError(f"{username} could not sign in")

    def open(self, path: str, form: dict | None = None) -> tuple[str, str]:
        """The final URL (after redirects) and the body; urllib raises on any 4xx or 5xx."""
        data = urllib.parse.urlencode(form).encode() if form else None
        with self.opener.open(self.base + path, data=data, timeout=300) as resp:
            return resp.url, resp.read().decode("utf-8")


def pct(values: list[float], q: float) -> float:
    """Nearest rank: the value at position ceil(q n) of the sorted values."""
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def prepare(size: int, args, stack) -> dict:
    """A fresh database of `size` tickets (kept open by `stack`) and the bench app on it."""
    from tickets.extensions import db

    url = stack.enter_context(database(args.db, f"oversight-{size}.db"))
    app = make_app(url, WTF_CSRF_ENABLED=False)
    add_hello(app)
    print(f"\n== {size:,} tickets ({args.db}: {url.split('@')[-1]}; {versions(url)})", flush=True)
    with app.app_context():
        watch = Stopwatch()
        create_schema()
        stats = seed(size, args.per_day, Park())
        seconds = watch()
        print(f"  seeded in {seconds:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in stats.items()), flush=True)
        db.session.remove()
    return {"size": size, "app": app, "stats": stats, "seed_seconds": round(seconds)}


def pages_of() -> dict:
    from tickets.timeutil import now, to_local

    today = to_local(now()).date()
    return {
        "hello": "/__hello",
        "desk overdue": "/inspect/desk?tab=overdue",
        "rates 30 days by dept": f"/rates/?from={today - timedelta(days=29)}&to={today}&by=department",
    }


def measure(runs: list[dict], args) -> None:
    """Serve every size at once; one client thread asks each page of each size in turns."""
    import logging

    from werkzeug.serving import make_server

    from tickets.extensions import db

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    pages = pages_of()
    servers = []
    try:
        for run in runs:
            server = make_server("127.0.0.1", 0, run["app"], threaded=False)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            run["client"] = client = Client(f"http://127.0.0.1:{server.server_port}", "inspector")
            for path in pages.values():  # warm up: pools, templates, caches
                for _ in range(args.warmup):
                    client.open(path)
            m = re.search(r'data-testid="count">(\d+)<', client.open(pages["desk overdue"])[1])
            print(f"  {run['size']:,}: the overdue tab lists {m[1] if m else '?'} tickets", flush=True)
            run["times"] = {p: [] for p in pages}
        print(f"timing {args.requests} rounds; load average {load()}", flush=True)
        for _ in range(args.requests):  # in turns, so that any noise on the machine falls on every size alike
            for run in runs:
                for page, path in pages.items():
                    t0 = time.perf_counter()
                    run["client"].open(path)
                    run["times"][page].append((time.perf_counter() - t0) * 1000)
        print(f"load average after timing: {load()}", flush=True)
        if args.profile:
            for run in runs:
                with run["app"].app_context():
                    profile(run, pages, db.engine)
    finally:
        for server in servers:
            server.shutdown()
        for run in runs:
            with run["app"].app_context():
                db.session.remove()
                db.engine.dispose()


def report(runs: list[dict], pages: dict) -> list[dict]:
    results = []
    for run in runs:
        times = run["times"]
        hello_med, hello_p95 = statistics.median(times["hello"]), pct(times["hello"], .95)
        result = {"size": run["size"], "seed_seconds": run["seed_seconds"], "stats": run["stats"], "pages": {}}
        print(f"\n{run['size']:,} tickets:")
        print(f"  {'page':24} {'median ms':>10} {'p95 ms':>8} {'median/hello':>13} {'p95/hello p95':>14}")
        for page, values in times.items():
            med, p95 = statistics.median(values), pct(values, .95)
            result["pages"][page] = {"path": pages[page], "median": round(med, 2), "p95": round(p95, 2),
                                     "median_vs_hello": round(med / hello_med, 1),
                                     "p95_vs_hello": round(p95 / hello_p95, 1)}
            print(f"  {page:24} {med:10.1f} {p95:8.1f} {med / hello_med:13.1f} {p95 / hello_p95:14.1f}")
        results.append(result)
    return results


def profile(run: dict, pages: dict, engine) -> None:
    """Three more requests per page with every SQL statement timed: where the time goes."""
    from sqlalchemy import event

    spent, calls = {}, {}

    def before(conn, *_args):
        conn.info["bench_t"] = time.perf_counter()

    def after(conn, _cursor, statement, *_args):
        key = " ".join(statement.split())
        spent[key] = spent.get(key, 0) + time.perf_counter() - conn.info.pop("bench_t")
        calls[key] = calls.get(key, 0) + 1

    for page, path in pages.items():
        if page == "hello":
            continue
        spent.clear(), calls.clear()
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        t0 = time.perf_counter()
        for _ in range(3):
            run["client"].open(path)
        total = (time.perf_counter() - t0) / 3 * 1000
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        print(f"  profile {run['size']:,} {page}: {total:.1f} ms a request, {sum(spent.values()) / 3 * 1000:.1f} "
              f"ms in {sum(calls.values()) // 3} statements; the slowest:")
        for stmt, t in sorted(spent.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {t / 3 * 1000:7.2f} ms x{calls[stmt] // 3}  {stmt[:200]}")


def main() -> int:
    from contextlib import ExitStack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=40, help="timed requests of each page at each size")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=100, help="tickets filed a day (the same at every size)")
    parser.add_argument("--profile", action="store_true", help="then time every SQL statement of each page")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    print(f"activity: {args.per_day} tickets a day at every size; {args.requests} requests a page and size, "
          f"{args.warmup} warm-up", flush=True)
    with ExitStack() as stack:
        runs = [prepare(size, args, stack) for size in sizes]
        measure(runs, args)
    results = report(runs, pages_of())
    small, big = results[0], results[-1]
    if len(results) > 1:
        print(f"\np95 at {big['size']:,} / p95 at {small['size']:,} (target: within 3):")
        for page in small["pages"]:
            ratio = big["pages"][page]["p95"] / small["pages"][page]["p95"]
            med = big["pages"][page]["median"] / small["pages"][page]["median"]
            print(f"  {page:24} {ratio:5.2f}  {'met' if ratio <= 3 else 'MISSED'}   (medians: {med:.2f})")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"oversight-{args.db}-results.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
