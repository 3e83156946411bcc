#!/usr/bin/env python
"""The API's calls over a real HTTP server, at 10,000 and 1,000,000 tickets.

    .venv/bin/python bench/api_bench.py --sizes 10000,1000000 [--db sqlite|postgres] [--requests 40]

For each size: a fresh database with the history of bench/oversight_seed.py (the same activity a day
at every size), a coordinator's and a firm's API token. Every size's app is served by werkzeug on
loopback at once, and one client thread times, in turns over the sizes, a hello-world route and the
API's calls: the first page of the list (50), the list filtered by state, the changes of the last
day (`updated_since`, what a platform's sync asks every few minutes), the second page by cursor, a
firm's own list, and one request with its timeline. Prints the median and p95 of each call, its
ratio to hello-world, and p95(largest size) / p95(smallest size) per call. A script that prints
what it measured, never a timed test.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, load, machine  # noqa: E402
from bench.oversight_bench import pct, prepare  # noqa: E402


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def get(self, path: str) -> dict:
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=300) as resp:
            body = resp.read()
        return json.loads(body) if body[:1] in (b"{", b"[") else {}


def tokens_of(run: dict) -> None:
    from tickets.extensions import db
    from tickets.models import Ticket, User
    from tickets.services import tokens
    from tickets.timeutil import now

    with run["app"].app_context():
        coord = db.session.scalar(db.select(User).filter_by(username="coord"))
        firm = db.session.scalar(db.select(User).filter_by(username="firm1"))
        run["tokens"] = {"coordinator": tokens.create_personal(coord, "bench", ["read"], 0)[1],
                         "firm": tokens.create_personal(firm, "bench", ["read"], 0)[1]}
        run["number"] = db.session.scalar(db.select(Ticket.number).order_by(Ticket.id.desc()).limit(1))
        run["since"] = urllib.parse.quote((now() - timedelta(days=1)).isoformat() + "Z")
        db.session.remove()


def calls_of(run: dict) -> dict:
    return {
        "hello": ("coordinator", "/__hello"),
        "list 50": ("coordinator", "/api/v1/tickets?limit=50"),
        "list accepted": ("coordinator", "/api/v1/tickets?state=accepted&limit=50"),
        "changes of a day": ("coordinator", f"/api/v1/tickets?updated_since={run['since']}&limit=50"),
        "second page": ("coordinator", "/api/v1/tickets?limit=50&cursor=" + run["cursor"]),
        "firm's list": ("firm", "/api/v1/tickets?limit=50"),
        "one request": ("coordinator", f"/api/v1/tickets/{run['number']}"),
    }


def measure(runs: list[dict], args) -> None:
    import logging

    from werkzeug.serving import make_server

    from tickets.extensions import db

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    servers = []
    try:
        for run in runs:
            server = make_server("127.0.0.1", 0, run["app"], threaded=False)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            base = f"http://127.0.0.1:{server.server_port}"
            tokens_of(run)
            run["clients"] = {role: Api(base, t) for role, t in run["tokens"].items()}
            run["cursor"] = run["clients"]["coordinator"].get("/api/v1/tickets?limit=50")["next_cursor"]
            calls = calls_of(run)
            for role, path in calls.values():
                for _ in range(args.warmup):
                    run["clients"][role].get(path)
            seen = run["clients"]["coordinator"].get(calls["changes of a day"][1])
            print(f"  {run['size']:,}: {len(seen.get('items', []))} requests changed in the last day (first page)",
                  flush=True)
            run["times"] = {name: [] for name in calls}
        print(f"timing {args.requests} rounds; load average {load()}", flush=True)
        for _ in range(args.requests):
            for run in runs:
                for name, (role, path) in calls_of(run).items():
                    t0 = time.perf_counter()
                    run["clients"][role].get(path)
                    run["times"][name].append((time.perf_counter() - t0) * 1000)
        print(f"load average after timing: {load()}", flush=True)
    finally:
        for server in servers:
            server.shutdown()
        for run in runs:
            with run["app"].app_context():
                db.session.remove()
                db.engine.dispose()


def main() -> int:
    from contextlib import ExitStack

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=100)
    args = parser.parse_args()
    args.profile = False
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    with ExitStack() as stack:
        runs = [prepare(size, args, stack) for size in sizes]
        measure(runs, args)
    results = []
    for run in runs:
        hello_med, hello_p95 = statistics.median(run["times"]["hello"]), pct(run["times"]["hello"], .95)
        result = {"size": run["size"], "calls": {}}
        print(f"\n{run['size']:,} tickets:")
        print(f"  {'call':18} {'median ms':>10} {'p95 ms':>8} {'median/hello':>13} {'p95/hello p95':>14}")
        for name, values in run["times"].items():
            med, p95 = statistics.median(values), pct(values, .95)
            result["calls"][name] = {"median": round(med, 2), "p95": round(p95, 2)}
            print(f"  {name:18} {med:10.1f} {p95:8.1f} {med / hello_med:13.1f} {p95 / hello_p95:14.1f}")
        results.append(result)
    if len(results) > 1:
        small, big = results[0], results[-1]
        print(f"\np95 at {big['size']:,} / p95 at {small['size']:,}:")
        for name in small["calls"]:
            print(f"  {name:18} {big['calls'][name]['p95'] / small['calls'][name]['p95']:5.2f}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"api-{args.db}-results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
