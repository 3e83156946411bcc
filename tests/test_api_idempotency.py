"""An idempotent create retried 10 times at once makes one ticket, on SQLite and on PostgreSQL.

The app is served on a loopback port by a threaded Werkzeug server, and ten threads post the same
request with the same Idempotency-Key through their own sockets, released together by a barrier.
"""
from __future__ import annotations

import http.client
import json
import threading
from datetime import datetime

import pytest

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.models import Ticket
from tickets.reference import ensure_reference_data
from tickets.timeutil import from_local, set_now

from .api_support import token_for
from .conftest import Park, drop_everything

NOW = from_local(datetime(2026, 11, 24, 9, 30))
BODY = {"category": "labor", "title": "招工难", "description": "缺少 30 名操作工", "contact_name": "王经理",
        "contact_phone": "13800138000"}


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    from werkzeug.serving import make_server

    url = f"sqlite:///{tmp_path / 'api.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")

    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path / "uploads")

    set_now(NOW, running=True)
    app = create_app(Cfg)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        park = Park()
        token = token_for(park.firm_user)
        db.session.remove()
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, srv.server_port, token
    finally:
        srv.shutdown()
        thread.join(10)
        srv.server_close()
        with app.app_context():
            db.session.remove()
            drop_everything()
            db.engine.dispose()
        set_now(None)


def post(port, token, key, body=BODY):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/api/v1/tickets", body=json.dumps(body).encode(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                              "Idempotency-Key": key})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read())
    finally:
        conn.close()


def count(app) -> int:
    with app.app_context():
        n = db.session.scalar(db.select(db.func.count()).select_from(Ticket))
        db.session.remove()
        return n


def test_ten_concurrent_retries_make_one_ticket(served):
    app, port, token = served
    barrier = threading.Barrier(10)
    answers = []

    def retry():
        barrier.wait()
        answers.append(post(port, token, "erp-order-20261124-0001"))

    threads = [threading.Thread(target=retry) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(answers) == 10
    assert {status for status, _h, _b in answers} == {201}, answers
    numbers = {body["number"] for _s, _h, body in answers}
    assert len(numbers) == 1
    assert sum(1 for _s, h, _b in answers if h.get("Idempotent-Replayed") == "true") == 9
    assert count(app) == 1
    # A retry later returns the first result too; another key is another request.
    status, headers, body = post(port, token, "erp-order-20261124-0001", {**BODY, "title": "改过的标题"})
    assert (status, body["number"], body["title"]) == (201, numbers.pop(), "招工难")
    assert post(port, token, "erp-order-20261124-0002")[0] == 201
    assert count(app) == 2
