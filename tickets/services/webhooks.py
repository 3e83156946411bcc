"""Webhooks: which events go out, to which address, signed how.

Every new public event is written to the outbox once per active subscriber that
wants it, in the transaction that writes the event (the `before_flush` listener at
the end). Internal and inspector-only events are never sent anywhere. The body is
built at send time from the immutable event, so that a retry and a replay send the
same bytes; only the timestamp, and so the signature, is new on each try.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import format_time
from ..extensions import db
from ..labels import label
from ..models import Event, OutboxMessage, Ticket, WebhookSubscriber
from .. import timeutil

# The event codes a subscriber may want: every one the record writes with visibility
# "public" (tickets/services/actions.py, approvals.py, filing.py). A note is sent only when
# it is public; every other code here is always public.
EVENTS = ("file", "accept", "reject", "withdraw", "clock_started", "ask", "reply", "note", "extension_approved",
          "transfer", "handle", "feedback", "rework", "expire", "force_close")
SIGNATURE_PREFIX = "sha256="


class AddressRefused(Exception):
    """A subscriber's URL may not be called: the message says why, in the reader's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class UnresolvedHost(AddressRefused):
    """The host has no address now: refused at registration, retried at delivery (DNS may be down)."""


# --- where a webhook may go --------------------------------------------------------------


def address_refusal(address: str, allow_private: bool = False):
    """Why `address` (an IP literal) may not be called, or None when it may.

    Loopback, private, link-local and other non-global ranges are refused unless the
    operator allows them (WEBHOOK_ALLOW_PRIVATE); multicast, reserved and unspecified
    addresses always. An IPv4-mapped IPv6 address is judged as the IPv4 one it maps.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    private = ip.is_loopback or ip.is_private or ip.is_link_local
    if ip.is_multicast or ip.is_unspecified or (ip.is_reserved and not private):
        return _l("The address %(ip)s is reserved and cannot receive webhooks.", ip=str(ip))
    if not ip.is_global and not allow_private:
        return _l("The address %(ip)s is a loopback, private or link-local address; webhooks go only to "
                  "public addresses.", ip=str(ip))
    return None


def allowed_hosts() -> set[str]:
    return {h.strip().lower().rstrip(".") for h in current_app.config.get("WEBHOOK_ALLOWED_HOSTS") or [] if h.strip()}


@dataclass(frozen=True)
class Target:
    """A checked URL: its host (for TLS and the Host header), port, path, and the addresses to connect to."""

    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise UnresolvedHost(_l("The host %(host)s does not resolve.", host=host)) from e
    return tuple(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str) -> Target:
    """Check a subscriber URL now (https, no credentials, an allowed host, allowed addresses).

    The host is resolved once here; the caller connects to these addresses and no others,
    so that a DNS answer changed after the check (rebinding) cannot redirect the request.
    """
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port or 443
    except ValueError as e:
        raise AddressRefused(_l("This is not a valid address.")) from e
    if parts.scheme != "https" or not parts.hostname:
        raise AddressRefused(_l("The address must start with https://."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise AddressRefused(_l("The address may not contain a user name or password."))
    host = parts.hostname.lower().rstrip(".")
    if host not in allowed_hosts():
        raise AddressRefused(_l("The host %(host)s is not in the operator's list of webhook hosts "
                                "(WEBHOOK_ALLOWED_HOSTS).", host=host))
    addresses = _resolve(host, port)
    allow_private = bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))
    for address in addresses:
        why = address_refusal(address, allow_private)
        if why is not None:
            raise AddressRefused(why)
    if not addresses:
        raise UnresolvedHost(_l("The host %(host)s does not resolve.", host=host))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(host=host, port=port, path=path, addresses=addresses)


# --- what is sent, and how it is signed ---------------------------------------------------


def delivery_id(ticket_number: str, seq: int) -> str:
    return f"{ticket_number}-{seq}"


def _both(kind: str, code) -> dict | None:
    if code is None:
        return None
    words = {}
    for lang in ("zh", "en"):
        with force_locale(lang):
            words[lang] = label(kind, code)
    return words


def _round(ev: Event) -> int:
    """The ticket's round when the event was written: from the event itself, else from the record before it."""
    details = json.loads(ev.details or "{}")
    if isinstance(details.get("round"), int):
        return details["round"]
    accepted = db.session.scalar(db.select(db.func.count()).select_from(Event).where(
        Event.ticket_id == ev.ticket_id, Event.seq <= ev.seq, Event.action.in_(("accept", "rework"))))
    return int(accepted or 0)


def _state(code: str | None) -> dict | None:
    return None if code is None else {"code": code, "label": _both("state", code)}


def payload(ev: Event, ticket: Ticket) -> dict:
    """The body of a delivery, from the event (which never changes) and the ticket's fixed facts."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return {
        "id": delivery_id(ticket.number, ev.seq),
        "event": ev.action,
        "event_label": _both("event", ev.action),
        "at": format_time(ev.at),
        "ticket": {"number": ticket.number, "firm_credit_code": ticket.firm.credit_code,
                   "category": ticket.category.code, "url": f"{base}/api/v1/tickets/{ticket.number}"},
        "from_state": _state(ev.from_state),
        "to_state": _state(ev.to_state),
        "round": _round(ev),
    }


def body_bytes(ev: Event, ticket: Ticket) -> bytes:
    return json.dumps(payload(ev, ticket), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def unix_time(at: datetime) -> int:
    return int(at.replace(tzinfo=timezone.utc).timestamp())


def sign(secret: str, body: bytes, timestamp: int | str) -> str:
    """The X-Bihuan-Signature value: HMAC-SHA256 over "<timestamp>." and the body."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify_signature(secret: str, body: bytes, timestamp: str | int, signature: str,
                     tolerance_seconds: int = 300, now: int | None = None) -> bool:
    """What a receiver checks: the signature matches, and the timestamp is at most `tolerance_seconds` off."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = unix_time(timeutil.now()) if now is None else int(now)
    if abs(current - ts) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, body, ts), str(signature or ""))


def headers(row: OutboxMessage, secret: str, body: bytes, at: datetime) -> dict[str, str]:
    ts = unix_time(at)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Bihuan-Webhooks/1",
        "X-Bihuan-Event": row.event.action,
        "X-Bihuan-Delivery": delivery_id(row.ticket.number, row.event.seq),
        "X-Bihuan-Timestamp": str(ts),
        "X-Bihuan-Signature": sign(secret, body, ts),
    }


# --- the rows, written with the event -----------------------------------------------------


@sa_event.listens_for(Session, "before_flush")
def _queue_deliveries(session, flush_context, instances) -> None:
    """One outbox row per active subscriber that wants each new public event, in the event's flush."""
    events = [obj for obj in session.new if isinstance(obj, Event) and obj.visibility == "public"]
    if not events:
        return
    subscribers = session.scalars(
        select(WebhookSubscriber).where(WebhookSubscriber.active.is_(True)).order_by(WebhookSubscriber.id)).all()
    if not subscribers:
        return
    from ..models import ServiceFirm

    scoped = {sub.service_id for sub in subscribers if sub.service_id is not None}
    served: dict[int, set[int]] = {s: set() for s in scoped}
    if scoped:
        for user_id, firm_id in session.execute(select(ServiceFirm.user_id, ServiceFirm.firm_id)
                                                .where(ServiceFirm.user_id.in_(scoped))):
            served[user_id].add(firm_id)
    for ev in events:
        ticket = session.get(Ticket, ev.ticket_id)
        for sub in subscribers:
            if sub.service_id is not None and ticket.firm_id not in served[sub.service_id]:
                continue  # another firm than the integration's own
            if sub.wants(ev.action):
                # The relationship (not event_id) makes the flush insert the event first.
                session.add(OutboxMessage(key=f"{ticket.number}:{ev.seq}:s{sub.id}", channel="webhook",
                                          user_id=None, subscriber_id=sub.id, event=ev, ticket_id=ticket.id,
                                          kind="webhook", params="{}", created_at=timeutil.now(),
                                          next_attempt_at=timeutil.now()))
