"""Webhooks: a signed POST over HTTPS to the subscriber's checked address, one log row per try.

Only the standard library: http.client over a socket opened to the address that
`check_url` resolved and checked (so a DNS answer changed since cannot send the
request elsewhere), TLS verifying the URL's host name. Redirects are never followed.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time

from flask import current_app
from flask_babel import force_locale

from ..extensions import db
from ..models import OutboxMessage, WebhookAttempt
from ..services.outbox import PermanentError, TransientError
from ..services.webhooks import AddressRefused, Target, UnresolvedHost, body_bytes, check_url, headers
from ..timeutil import now


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to given addresses, with SNI and certificate check for the URL's host."""

    def __init__(self, target: Target, context: ssl.SSLContext, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._addresses = target.addresses

    def connect(self):
        last: OSError | None = None
        for address in self._addresses:
            try:
                sock = socket.create_connection((address, self.port), self.timeout)
            except OSError as e:
                last = e
                continue
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
            return
        raise last or OSError("no address to connect to")


def _context() -> ssl.SSLContext:
    ca_file = current_app.config.get("WEBHOOK_CA_FILE") or None
    return ssl.create_default_context(cafile=ca_file)


def post(target: Target, body: bytes, hdrs: dict[str, str]) -> int:
    """POST once; the HTTP status (a redirect is returned as it is, never followed)."""
    conn = _PinnedHTTPS(target, _context(), float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS") or 10))
    try:
        conn.request("POST", target.path, body=body, headers=hdrs)
        resp = conn.getresponse()
        resp.read(4096)
        return resp.status
    finally:
        conn.close()


def send(row: OutboxMessage) -> None:
    sub = row.subscriber
    attempt = WebhookAttempt(outbox_id=row.id, subscriber_id=sub.id, at=now())
    db.session.add(attempt)
    started = time.monotonic()
    try:
        if not sub.active:
            attempt.error = "the subscriber is inactive"
            raise PermanentError(attempt.error)
        try:
            target = check_url(sub.url)
        except UnresolvedHost as e:
            attempt.error = str(e)[:500]
            raise TransientError(f"{sub.url}: {attempt.error}") from e
        except AddressRefused as e:
            with force_locale("en"):
                attempt.error = f"refused: {e.message}"
            raise PermanentError(attempt.error) from e
        body = body_bytes(row.event, row.ticket)
        try:
            attempt.status_code = post(target, body, headers(row, sub.secret, body, now()))
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            attempt.error = f"{type(e).__name__}: {e}"[:500]
            raise TransientError(f"{sub.url}: {attempt.error}") from e
        if not 200 <= attempt.status_code < 300:
            raise TransientError(f"{sub.url}: HTTP {attempt.status_code}")
    finally:
        attempt.duration_ms = int((time.monotonic() - started) * 1000)
