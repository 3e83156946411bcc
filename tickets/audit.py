"""The tamper-evident record: events chained per ticket with an HMAC.

The key (AUDIT_KEY) comes from the environment and is never stored, so someone
who can write to the database cannot produce a valid chain. The ticket keeps
its head hash and event count, so that a deleted last event is caught too.

Keys are rotated by segments: each event stores the id of the key that signed
it (a fingerprint, never the key). After a rotation the environment holds the
new key and the retired ones (AUDIT_KEYS_RETIRED); each chain's first event
under the new key is a `key_rotated` event whose prev hash is the old head, so
the new key vouches for the whole old segment and old events still verify with
the key that signed them. A chain may change key only by such an event, never
back to a key it rotated away from, and must end under the current key.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .audit_files import check_attachments
from .extensions import db
from .models import Event, Ticket
from .timeutil import now

GENESIS = "0" * 64
ROTATED = "key_rotated"
# The key id is an HMAC of this fixed label: it names a key without revealing it.
_KEY_ID_LABEL = b"bihuan audit key id"


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


def key_id(key: str | bytes) -> str:
    """A short public name of a key (16 hex digits); the same for the same key everywhere."""
    raw = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(raw, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The key that signs (AUDIT_KEY) and every key that verifies, by key id."""

    current_id: str
    keys: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]


def keyring() -> Keyring:
    cfg = current_app.config
    keys = {key_id(k): k.encode("utf-8") for k in cfg.get("AUDIT_KEYS_RETIRED") or []}
    current = cfg["AUDIT_KEY"].encode("utf-8")
    keys[key_id(current)] = current
    return Keyring(key_id(current), keys)


class UnknownKey(RuntimeError):
    """A chain ends under a key this process does not hold: it must not sign after it."""


def _head_key_id(ticket: Ticket) -> str | None:
    """The key id of the ticket's last stored event; None when it has none yet, or the last one
    was added in this transaction (by this process, so under its current key)."""
    if not ticket.event_count:
        return None
    # No autoflush: a service's pending rows are flushed when it says so, not by this lookup.
    with db.session.no_autoflush:
        return db.session.scalar(db.select(Event.key_id).where(Event.ticket_id == ticket.id,
                                                               Event.seq == ticket.event_count))


def rotate_if_needed(ticket: Ticket, ring: Keyring | None = None) -> Event | None:
    """Start the chain's segment under the current key if its head is signed with a retired one.

    Called before every append (and before attachments take the next seq), so that the
    window between a new AUDIT_KEY and `flask audit rotate-key` leaves every chain valid.
    """
    ring = ring or keyring()
    head = _head_key_id(ticket)
    if head is None or head == ring.current_id:
        return None
    if head not in ring.keys:
        raise UnknownKey(f"ticket {ticket.number} ends under key {head}, which is neither AUDIT_KEY nor in "
                         f"AUDIT_KEYS_RETIRED: this process cannot continue its chain")
    return _append(ticket, ring, None, ROTATED, None, None, "internal",
                   {"from_key": head, "to_key": ring.current_id})


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
    ring = keyring()
    rotate_if_needed(ticket, ring)
    return _append(ticket, ring, actor_id, action, from_state, to_state, visibility, details)


def _append(ticket: Ticket, ring: Keyring, actor_id: int | None, action: str, from_state: str | None,
            to_state: str | None, visibility: str, details: dict | None) -> Event:
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
        key_id=ring.current_id,
    )
    ev.hash = event_hash(ring.current, ticket.number, ev)
    ticket.event_count = ev.seq
    ticket.head_hash = ev.hash
    ticket.updated_at = ev.at
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


def _key_change(ev: Event, prev_key: str | None, rotated_out: set[str]) -> str | None:
    """What is wrong with the key of `ev`, after an event under `prev_key` (None: it is the first)."""
    rotation = ev.action == ROTATED
    if prev_key is None:
        return "a chain cannot start with key_rotated" if rotation else None
    if ev.key_id in rotated_out:
        return f"signed with key {ev.key_id} after that key was rotated out"
    if ev.key_id == prev_key:
        return "key_rotated event does not change the key" if rotation else None
    if not rotation:
        return f"key changes from {prev_key} to {ev.key_id} without a key_rotated event"
    named = json.loads(ev.details)
    if named.get("from_key") != prev_key or named.get("to_key") != ev.key_id:
        return "key_rotated event names other keys than the ones it links"
    return None


def shown_verdict(ticket: Ticket) -> list[Break]:
    """The chain's verdict for the ticket page: verified once per head, then kept a short while.

    A staff view of a ticket would otherwise read and HMAC its whole chain on every view. The
    verdict is kept in this process (never in the database, which someone altering the record
    could write) for the same head hash, event count, events in the table and current key, at most
    CHAIN_VERDICT_SECONDS (300); any new or deleted event verifies again at once. The daily
    verification (digest.verify_step) and `flask audit verify` read every chain regardless.
    """
    ring = keyring()
    ttl = current_app.config.get("CHAIN_VERDICT_SECONDS", 300)
    cache = current_app.extensions.setdefault("chain_verdicts", {})
    # What the ticket says of its chain and what the events table holds (one index-only read),
    # so that a deleted or added event is verified again at once; a rewritten one, once the verdict ends.
    held = db.session.execute(db.select(func.count(), func.max(Event.id)).where(Event.ticket_id == ticket.id)).one()
    key = (ticket.id, ticket.head_hash, ticket.event_count, tuple(held), ring.current_id)
    at = now()
    kept = cache.get(key)
    if kept is not None and (at - kept[0]).total_seconds() < ttl:
        return kept[1]
    breaks = verify_ticket(ticket, ring=ring)
    if len(cache) >= 10_000:  # a bound, not an LRU: the oldest half goes
        for old in list(cache)[:5_000]:
            del cache[old]
    cache.pop(key, None)
    cache[key] = (at, breaks)
    return breaks


def verify_ticket(ticket: Ticket, events: list[Event] | None = None, ring: Keyring | None = None) -> list[Break]:
    """Every way this ticket's chain fails to hold (empty when it holds)."""
    ring = ring or keyring()
    if events is None:
        events = db.session.scalars(
            db.select(Event).filter_by(ticket_id=ticket.id).order_by(Event.seq, Event.id)
        ).all()
    breaks: list[Break] = []
    prev, prev_key, rotated_out = GENESIS, None, set()
    for expected_seq, ev in enumerate(events, start=1):
        def broken(problem: str) -> list[Break]:
            return [Break(ticket.number, ev.seq, ev.id, problem)]

        if ev.seq != expected_seq:
            return broken(f"sequence {ev.seq}, expected {expected_seq}")
        if ev.prev_hash != prev:
            return broken("does not link to the previous event")
        key = ring.keys.get(ev.key_id)
        if key is None:
            return broken(f"signed with an unknown key (key id {ev.key_id})")
        if not hmac.compare_digest(event_hash(key, ticket.number, ev), ev.hash):
            return broken("content does not match its HMAC")
        problem = _key_change(ev, prev_key, rotated_out)
        if problem:
            return broken(problem)
        if prev_key is not None and ev.key_id != prev_key:
            rotated_out.add(prev_key)
        prev, prev_key = ev.hash, ev.key_id
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
    elif prev_key is not None and prev_key != ring.current_id:
        # A retired key may be known to others (that is why it was retired): a chain still
        # ending under it could have been cut back and extended by them.
        breaks.append(Break(ticket.number, None, None, f"ends under the retired key {prev_key}, not the current "
                                                       f"{ring.current_id}: run flask --app wsgi audit rotate-key"))
    return breaks


def verify_batch(after_id: int, limit: int, ring: Keyring | None = None) -> tuple[int, list[Break], int | None]:
    """Check the chains and attachment files of up to `limit` tickets with an id above `after_id`.

    Returns (tickets checked, breaks, the last ticket id checked; None when there was none).
    """
    ring = ring or keyring()
    tickets = db.session.scalars(
        db.select(Ticket).where(Ticket.id > after_id).order_by(Ticket.id).limit(limit)
    ).all()
    if not tickets:
        return 0, [], None
    ids = [t.id for t in tickets]
    events: dict[int, list[Event]] = {i: [] for i in ids}
    for ev in db.session.scalars(
        db.select(Event).where(Event.ticket_id.in_(ids)).order_by(Event.ticket_id, Event.seq, Event.id)
    ):
        events[ev.ticket_id].append(ev)
    breaks: list[Break] = []
    for t in tickets:
        breaks.extend(verify_ticket(t, events[t.id], ring))
    breaks.extend(Break(*problem) for problem in check_attachments({t.id: t.number for t in tickets}, events))
    last_id = ids[-1]
    db.session.expunge_all()
    return len(ids), breaks, last_id


def verify_all(batch: int = 500) -> tuple[int, list[Break]]:
    """Check every chain and attachment file, a batch of tickets at a time; returns (tickets checked, breaks)."""
    checked, breaks, last_id = 0, [], 0
    ring = keyring()
    while True:
        n, found, last = verify_batch(last_id, batch, ring)
        if last is None:
            return checked, breaks
        checked, last_id = checked + n, last
        breaks.extend(found)


def rotate_all(batch: int = 500) -> tuple[int, list[str]]:
    """Append key_rotated to every chain still ending under a retired key (idempotent).

    Returns (chains rotated, numbers of the tickets ending under a key nobody here holds).
    """
    ring = keyring()
    rotated, unknown, last_id = 0, [], 0
    while True:
        heads = db.session.execute(
            db.select(Ticket.id, Ticket.number, Event.key_id)
            .join(Event, and_(Event.ticket_id == Ticket.id, Event.seq == Ticket.event_count))
            .where(Ticket.id > last_id, Event.key_id != ring.current_id).order_by(Ticket.id).limit(batch)).all()
        if not heads:
            return rotated, unknown
        try:
            done = sum(rotate_if_needed(db.session.get(Ticket, tid), ring) is not None
                       for tid, _number, head in heads if head in ring.keys)
            db.session.commit()
        except (StaleDataError, IntegrityError):  # a ticket got an event meanwhile: the same batch again
            db.session.rollback()
            continue
        rotated += done
        unknown += [number for _tid, number, head in heads if head not in ring.keys]
        last_id = heads[-1][0]
        db.session.expunge_all()
