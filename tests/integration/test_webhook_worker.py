"""A webhook end to end through the real processes: the relay publishes to Redis, the Celery
worker process delivers to an HTTPS receiver on loopback, signed with the subscriber's secret."""
from __future__ import annotations

import json

import pytest

from tests.test_webhooks_delivery import Receiver

from .conftest import wait_for
from .test_delivery import file_request

trustme = pytest.importorskip("trustme")


def test_the_worker_delivers_a_signed_webhook_once(delivery, tmp_path):
    from tickets.models import OutboxMessage, WebhookAttempt, WebhookSubscriber
    from tickets.services.webhooks import unix_time, verify_signature
    from tickets.timeutil import now

    d = delivery
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    # The worker reads its webhook settings from the environment, as in production.
    d.worker.restart(WEBHOOK_ALLOWED_HOSTS="localhost", WEBHOOK_ALLOW_PRIVATE="true",
                     WEBHOOK_CA_FILE=str(tmp_path / "ca.pem"), WEBHOOK_TIMEOUT_SECONDS="5")
    rx = Receiver(ca, [503, 200])
    try:
        sub = WebhookSubscriber(name="ERP", url=f"https://localhost:{rx.port}/hook", secret="w" * 43,
                                events="file,accept")
        d.db.session.add(sub)
        d.db.session.commit()
        ticket = file_request(d, title="网络钩子")
        [row] = d.rows(channel="webhook")

        def relayed_until_sent():
            d.relay()
            return d.rows(OutboxMessage.id == row.id)[0].status == "sent"

        wait_for(relayed_until_sent, 40, "the webhook to be delivered", interval=0.3)
        assert len(rx.requests) == 2
        first, last = rx.requests
        assert first["body"] == last["body"]
        h = last["headers"]
        assert h["X-Bihuan-Delivery"] == f"{ticket.number}-1" and h["X-Bihuan-Event"] == "file"
        assert verify_signature(sub.secret, last["body"], h["X-Bihuan-Timestamp"], h["X-Bihuan-Signature"],
                                now=unix_time(now()))
        assert json.loads(last["body"])["ticket"]["number"] == ticket.number
        statuses = d.db.session.scalars(d.db.select(WebhookAttempt.status_code).filter_by(outbox_id=row.id)
                                        .order_by(WebhookAttempt.id)).all()
        assert statuses == [503, 200]
        d.relay()  # a delivered row is never handed out again
        assert len(rx.requests) == 2
    finally:
        rx.close()
