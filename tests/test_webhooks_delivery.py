"""Webhooks delivered for real: an HTTPS receiver on 127.0.0.1 with a certificate of a CA made
for the test, reached as https://localhost:<port>/hook through the outbox as the worker runs it."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import ssl
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tickets.audit import format_time
from tickets.extensions import db
from tickets.models import OutboxMessage, WebhookAttempt, WebhookSubscriber
from tickets.services.outbox import claim_due, deliver
from tickets.services.webhooks import unix_time, verify_signature
from tickets.timeutil import now, set_now

from .conftest import KNOWN_NOW, file_request

trustme = pytest.importorskip("trustme")


class Receiver:
    """An HTTPS server in a thread: records every request, answers with the next scripted status."""

    def __init__(self, ca: "trustme.CA", statuses=(200,), port: int = 0):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost").configure_cert(ctx)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ca(app, tmp_path):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    app.config.update(WEBHOOK_CA_FILE=str(tmp_path / "ca.pem"), WEBHOOK_ALLOWED_HOSTS=["localhost"],
                      WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT_SECONDS=5, MAIL_DIR=str(tmp_path / "mail"),
                      BASE_URL="https://bihuan.example")
    return ca


@pytest.fixture
def receivers(ca):
    made = []

    def make(statuses=(200,), port=0):
        made.append(Receiver(ca, statuses, port))
        return made[-1]

    yield make
    for r in made:
        r.close()


def subscribe(port: int, events=("file",)) -> WebhookSubscriber:
    sub = WebhookSubscriber(name="ERP", url=f"https://localhost:{port}/hook", secret="k" * 43,
                            events=",".join(events), active=True)
    db.session.add(sub)
    db.session.commit()
    return sub


def run_worker() -> dict[int, str]:
    """What the relay and the deliver tasks do: claim the due rows, deliver each one."""
    return {c.id: deliver(c.id, c.token) for c in claim_due()}


def webhook_row() -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalar(db.select(OutboxMessage).filter_by(channel="webhook"))


def attempts(row) -> list[WebhookAttempt]:
    return list(db.session.scalars(db.select(WebhookAttempt).filter_by(outbox_id=row.id).order_by(WebhookAttempt.id)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ticket_event_arrives_signed(park, receivers):
    rx = receivers()
    sub = subscribe(rx.port)
    t = file_request(park)
    results = run_worker()
    row = webhook_row()
    assert results[row.id] == "sent" and row.status == "sent" and row.attempts == 1
    [req] = rx.requests
    h, body = req["headers"], req["body"]
    assert req["path"] == "/hook"
    assert h["Host"] == f"localhost:{rx.port}" and h["Content-Type"] == "application/json; charset=utf-8"
    assert h["X-Bihuan-Event"] == "file" and h["X-Bihuan-Delivery"] == f"{t.number}-1"
    assert h["X-Bihuan-Timestamp"] == str(unix_time(KNOWN_NOW))
    # The receiver's check, written out as the docs show it, and the service's own.
    mac = hmac.new(sub.secret.encode(), h["X-Bihuan-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(h["X-Bihuan-Signature"], "sha256=" + mac)
    assert verify_signature(sub.secret, body, h["X-Bihuan-Timestamp"], h["X-Bihuan-Signature"],
                            now=unix_time(KNOWN_NOW) + 60)
    assert not verify_signature("another secret", body, h["X-Bihuan-Timestamp"], h["X-Bihuan-Signature"],
                                now=unix_time(KNOWN_NOW))
    data = json.loads(body.decode("utf-8"))
    assert body == json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert data == {
        "id": f"{t.number}-1", "event": "file", "event_label": data["event_label"], "at": format_time(KNOWN_NOW),
        "ticket": {"number": t.number, "firm_credit_code": park.firm_a.credit_code, "category": "labor",
                   "url": f"https://bihuan.example/api/v1/tickets/{t.number}"},
        "from_state": None, "to_state": {"code": "submitted", "label": data["to_state"]["label"]}, "round": 0,
    }
    assert data["event_label"]["en"] == "Request filed" and set(data["event_label"]) == {"zh", "en"}
    assert data["to_state"]["label"]["en"] == "Awaiting acceptance"
    [a] = attempts(row)
    assert (a.status_code, a.error, a.subscriber_id) == (200, "", sub.id)
    assert run_worker() == {} and len(rx.requests) == 1, "delivered once"


def test_a_receiver_failing_twice_gets_it_once_in_the_end(park, receivers, login):
    rx = receivers([500, 500, 200])
    sub = subscribe(rx.port)
    file_request(park)
    row = webhook_row()
    assert run_worker()[row.id] == "retry"
    # Nothing is due before the backoff has passed (30 s, then 60 s: OUTBOX_BACKOFF_SECONDS doubling).
    assert row.id not in run_worker()
    set_now(KNOWN_NOW + timedelta(seconds=30))
    assert run_worker()[row.id] == "retry"
    set_now(KNOWN_NOW + timedelta(seconds=30 + 59))
    assert row.id not in run_worker()
    set_now(KNOWN_NOW + timedelta(seconds=30 + 60))
    assert run_worker()[row.id] == "sent"
    row = webhook_row()
    assert row.status == "sent" and row.attempts == 3
    assert len(rx.requests) == 3
    assert len({r["body"] for r in rx.requests}) == 1
    assert {r["headers"]["X-Bihuan-Delivery"] for r in rx.requests} == {f"{row.ticket.number}-1"}
    # Each try is signed at its own time.
    assert [int(r["headers"]["X-Bihuan-Timestamp"]) - unix_time(KNOWN_NOW) for r in rx.requests] == [0, 30, 90]
    assert [a.status_code for a in attempts(row)] == [500, 500, 200]
    page = login(park.admin).get(f"/admin/webhooks/{sub.id}/deliveries").get_data(as_text=True)
    shown = re.search(rf'<tr data-outbox="{row.id}" data-status="sent">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'data-status-code="(\d*)"', shown) == ["500", "500", "200"]
    assert "HTTP 500" in shown and "HTTP 200" in shown
    listing = login(park.admin).get("/admin/webhooks").get_data(as_text=True)
    assert re.search(r'data-testid="sent">1<', listing)


def test_a_receiver_down_fails_then_the_replay_button_delivers(app, park, receivers, login):
    port = free_port()
    sub = subscribe(port)
    file_request(park)
    row = webhook_row()
    at, tries, times = KNOWN_NOW, 0, []
    while True:
        tries += 1
        times.append(now())
        result = run_worker().get(row.id)
        if result != "retry":
            break
        at = webhook_row().next_attempt_at
        set_now(at)
    row = webhook_row()
    assert (result, row.status, row.attempts) == ("failed", "failed", tries)
    # Tried for a day (OUTBOX_RETRY_SECONDS) from the first failure, and not a try longer; the waits
    # start at the backoff, double, and never exceed the cap (an hour).
    day = timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"])
    assert day == timedelta(days=1)
    assert times[-1] - times[0] >= day > times[-2] - times[0]
    waits = [b - a for a, b in zip(times, times[1:])]
    assert waits[0] == timedelta(seconds=app.config["OUTBOX_BACKOFF_SECONDS"]) and waits[1] == 2 * waits[0]
    assert all(b >= a for a, b in zip(waits[:-2], waits[1:-1]))
    assert max(waits) == timedelta(hours=1)
    logged = attempts(row)
    assert len(logged) == tries and all(a.status_code is None and "Connection" in a.error for a in logged)

    rx = receivers(port=port)
    client = login(park.admin)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/admin/webhooks/{sub.id}/deliveries").get_data(as_text=True)
    assert 'data-testid="replay"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # Without the form's token the button does nothing.
    assert client.post(f"/admin/webhooks/{sub.id}/deliveries/{row.id}/replay").status_code == 400
    assert webhook_row().status == "failed"
    resp = client.post(f"/admin/webhooks/{sub.id}/deliveries/{row.id}/replay", data={"csrf_token": token})
    assert resp.status_code == 302
    row = webhook_row()
    assert (row.status, row.attempts, row.replay_count, row.replayed_at) == ("pending", 0, 1, now())
    assert run_worker()[row.id] == "sent"
    assert len(rx.requests) == 1 and webhook_row().status == "sent"
    assert [a.status_code for a in attempts(row)] == [None] * tries + [200]
    # A pending delivery is not replayed (it is going anyway); a sent one may be, again.
    resp = client.post(f"/admin/webhooks/{sub.id}/deliveries/{row.id}/replay", data={"csrf_token": token})
    assert webhook_row().status == "pending" and webhook_row().replay_count == 2
    resp = client.post(f"/admin/webhooks/{sub.id}/deliveries/{row.id}/replay", data={"csrf_token": token})
    assert webhook_row().replay_count == 2


def test_a_redirect_is_not_followed(park, receivers):
    rx = receivers([302])
    subscribe(rx.port)
    file_request(park)
    row = webhook_row()
    assert run_worker()[row.id] == "retry"
    assert [r["path"] for r in rx.requests] == ["/hook"]
    assert [a.status_code for a in attempts(webhook_row())] == [302]


def test_a_host_no_longer_allowed_fails_at_once(app, park, receivers):
    rx = receivers()
    subscribe(rx.port)
    file_request(park)
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ["erp.example.com"]
    row = webhook_row()
    assert run_worker()[row.id] == "failed"
    row = webhook_row()
    assert (row.status, row.attempts, rx.requests) == ("failed", 1, [])
    [a] = attempts(row)
    assert a.status_code is None and "not in the operator" in a.error


def test_loopback_is_refused_at_delivery_unless_allowed(app, park, receivers):
    rx = receivers()
    subscribe(rx.port)
    file_request(park)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    row = webhook_row()
    assert run_worker()[row.id] == "failed" and rx.requests == []
    assert "loopback" in attempts(row)[0].error


def test_a_certificate_of_another_ca_is_refused(app, park, receivers, tmp_path):
    rx = receivers()
    subscribe(rx.port)
    file_request(park)
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    app.config["WEBHOOK_CA_FILE"] = str(tmp_path / "other.pem")
    row = webhook_row()
    assert run_worker()[row.id] == "retry" and rx.requests == []
    assert "CERTIFICATE_VERIFY_FAILED" in attempts(row)[0].error


def test_the_checked_address_is_the_one_connected_to(park, receivers, monkeypatch):
    """DNS rebinding: the host is resolved once, and the POST goes to that checked address even
    when a later answer for the same name points elsewhere (here to 127.0.0.2, where nothing listens)."""
    rx = receivers()
    subscribe(rx.port)
    file_request(park)
    real = socket.getaddrinfo
    asked = []

    def rebinding(host, port, *args, **kwargs):
        if host != "localhost":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        answer = "127.0.0.1" if len(asked) == 1 else "127.0.0.2"
        return real(answer, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    row = webhook_row()
    assert run_worker()[row.id] == "sent"
    assert len(rx.requests) == 1 and asked == ["localhost"]
