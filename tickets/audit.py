"""The tamper-evident record: events chained per ticket with an HMAC.

The key (AUDIT_KEY) comes from the environment and is never stored, so someone
who can write to the database cannot produce a valid chain. The ticket keeps
its head hash and event count, so that a deleted last event is caught too.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from .extensions import db
from .models import Event, Ticket
from .timeutil import now

GENESIS = "0" * 64


def canonical_json(value) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same bytes on every database."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_time(at: datetime) -> str:
    """UTC at fixed microsecond precision."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(key: bytes, ticket_number: str, ev: Event) -> str:
    payload = canonical_json(
        {
            "ticket": ticket_number,
            "seq": ev.seq,
            "prev": ev.prev_hash,
            "actor": ev.actor_id,
            "at": format_time(ev.at),
            "action": ev.action,
            "from": ev.from_state,
            "to": ev.to_state,
            "visibility": ev.visibility,
            "details": json.loads(ev.details),
        }
    )
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def _key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode("utf-8")


def append_event(
    ticket: Ticket,
    actor_id: int | None,
    action: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    visibility: str = "internal",
    details: dict | None = None,
) -> Event:
    """Add the next link of the ticket's chain (the caller commits).

    The ticket row is updated with the new head in the same flush, and its
    version column makes two concurrent appends collide instead of forking.
    """
    ev = Event(
        ticket_id=ticket.id,
        seq=ticket.event_count + 1,
        actor_id=actor_id,
        at=now(),
        action=action,
        from_state=from_state,
        to_state=to_state,
        visibility=visibility,
        details=canonical_json(details or {}),
        prev_hash=ticket.head_hash or GENESIS,
    )
    ev.hash = event_hash(_key(), ticket.number, ev)
    ticket.event_count = ev.seq
    ticket.head_hash = ev.hash
    db.session.add(ev)
    return ev


@dataclass
class Break:
    ticket_number: str
    seq: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.seq} (id {self.event_id})" if self.seq is not None else "head"
        return f"{self.ticket_number}: {where}: {self.problem}"


def verify_ticket(ticket: Ticket, events: list[Event] | None = None) -> list[Break]:
    """Every way this ticket's chain fails to hold (empty when it holds)."""
    key = _key()
    if events is None:
        events = db.session.scalars(
            db.select(Event).filter_by(ticket_id=ticket.id).order_by(Event.seq, Event.id)
        ).all()
    breaks: list[Break] = []
    prev = GENESIS
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            breaks.append(Break(ticket.number, ev.seq, ev.id, f"sequence {ev.seq}, expected {expected_seq}"))
            return breaks
        if ev.prev_hash != prev:
            breaks.append(Break(ticket.number, ev.seq, ev.id, "does not link to the previous event"))
            return breaks
        if not hmac.compare_digest(event_hash(key, ticket.number, ev), ev.hash):
            breaks.append(Break(ticket.number, ev.seq, ev.id, "content does not match its HMAC"))
            return breaks
        prev = ev.hash
    if len(events) != ticket.event_count or prev != (ticket.head_hash or GENESIS):
        breaks.append(
            Break(
                ticket.number,
                None,
                None,
                f"chain has {len(events)} events ending {prev[:12]}, ticket records "
                f"{ticket.event_count} ending {(ticket.head_hash or GENESIS)[:12]}",
            )
        )
    return breaks


def verify_all(batch: int = 500) -> tuple[int, list[Break]]:
    """Check every chain, a batch of tickets at a time; returns (tickets checked, breaks)."""
    checked, breaks, last_id = 0, [], 0
    while True:
        tickets = db.session.scalars(
            db.select(Ticket).where(Ticket.id > last_id).order_by(Ticket.id).limit(batch)
        ).all()
        if not tickets:
            return checked, breaks
        ids = [t.id for t in tickets]
        events: dict[int, list[Event]] = {i: [] for i in ids}
        for ev in db.session.scalars(
            db.select(Event).where(Event.ticket_id.in_(ids)).order_by(Event.ticket_id, Event.seq, Event.id)
        ):
            events[ev.ticket_id].append(ev)
        for t in tickets:
            breaks.extend(verify_ticket(t, events[t.id]))
        checked += len(tickets)
        last_id = ids[-1]
        db.session.expunge_all()
