"""Rotating AUDIT_KEY: a new segment per chain, recorded as an event; old chains still verify.

The rotation is done as an operator does it: AUDIT_KEY becomes a new key and the old one
moves to AUDIT_KEYS_RETIRED, then `flask audit rotate-key`. Forgeries are written with
plain SQL and an HMAC computed here, independently of tickets.audit.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime
from typing import NamedTuple

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from config import TestingConfig
from tickets import create_app
from tickets.audit import canonical_json, key_id
from tickets.extensions import db
from tickets.models import Attachment, Event, Ticket, User
from tickets.services import digest as digest_service
from tickets.services.actions import perform
from tickets.services.common import Upload

from .conftest import accept, file_request
from .test_audit_chain import make_pdf

OLD, NEW = "test-audit-key", "the-new-audit-key-0123456789"


def independent_hash(key: str, number: str, row: dict, prev: str) -> str:
    at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(str(row["at"]))
    payload = json.dumps({
        "ticket": number, "seq": row["seq"], "prev": prev, "actor": row["actor_id"],
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "action": row["action"], "from": row["from_state"],
        "to": row["to_state"], "visibility": row["visibility"], "details": json.loads(row["details"]),
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def rows_of(ticket_id: int) -> list[dict]:
    return [dict(r) for r in db.session.execute(
        text("SELECT * FROM events WHERE ticket_id = :t ORDER BY seq"), {"t": ticket_id}).mappings()]


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    db.session.expire_all()
    return result


def switch_keys(app, current: str, *retired: str) -> None:
    app.config["AUDIT_KEY"], app.config["AUDIT_KEYS_RETIRED"] = current, list(retired)


class T(NamedTuple):
    """A ticket by id and number: the CLI commands leave ORM rows detached."""

    id: int
    number: str


def forge(ticket: T, key: str, action: str, details: dict, key_name: str | None = None) -> None:
    """Append an event with plain SQL, signed with `key`, and move the ticket's head along."""
    db.session.expire_all()
    t = db.session.get(Ticket, ticket.id)
    row = {"ticket_id": t.id, "seq": t.event_count + 1, "actor_id": None, "at": datetime(2026, 11, 20, 1, 0),
           "action": action, "from_state": None, "to_state": None, "visibility": "internal",
           "details": canonical_json(details), "prev_hash": t.head_hash, "key_id": key_name or key_id(key)}
    row["hash"] = independent_hash(key, t.number, row, t.head_hash)
    db.session.execute(text(f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"),
                       row)
    db.session.execute(text("UPDATE tickets SET event_count = :n, head_hash = :h WHERE id = :t"),
                       {"n": row["seq"], "h": row["hash"], "t": t.id})
    db.session.commit()


@pytest.fixture
def two(park, clock):
    clock(2026, 11, 2, 9)
    a = file_request(park)
    clock(2026, 11, 2, 10)
    accept(park, a)
    b = file_request(park, user=park.firm_b_user, title="融资")
    db.session.commit()
    return T(a.id, a.number), T(b.id, b.number)


def test_key_id_names_a_key_without_revealing_it():
    assert key_id(OLD) == key_id(OLD.encode()) and len(key_id(OLD)) == 16
    assert key_id(OLD) != key_id(NEW)
    assert key_id(OLD) == hmac.new(OLD.encode(), b"bihuan audit key id", hashlib.sha256).hexdigest()[:16]


def test_rotation_starts_a_new_segment_and_both_verify(app, two, park, clock):
    a, b = two
    official_id = park.hr_official.id  # the CLI leaves the park's rows detached
    old_heads = {t.id: (db.session.get(Ticket, t.id).event_count, db.session.get(Ticket, t.id).head_hash)
                 for t in (a, b)}
    switch_keys(app, NEW, OLD)
    # Before rotate-key the chains end under the retired key: reported, with what to do.
    result = cli(app, "audit", "verify")
    assert result.exit_code == 1 and "2 broken" in result.output
    assert f"ends under the retired key {key_id(OLD)}" in result.output and "audit rotate-key" in result.output

    clock(2026, 11, 3, 9)
    result = cli(app, "audit", "rotate-key")
    assert result.exit_code == 0, result.output
    assert f"2 chains rotated to key {key_id(NEW)}, 0 under an unknown key" in result.output
    assert cli(app, "audit", "rotate-key").output.startswith("0 chains rotated")  # idempotent

    for t in (a, b):
        count, head = old_heads[t.id]
        rows = rows_of(t.id)
        assert [r["key_id"] for r in rows] == [key_id(OLD)] * count + [key_id(NEW)]
        rotated = rows[-1]
        assert (rotated["action"], rotated["prev_hash"], rotated["actor_id"]) == ("key_rotated", head, None)
        assert json.loads(rotated["details"]) == {"from_key": key_id(OLD), "to_key": key_id(NEW)}
        prev = "0" * 64
        for r in rows:  # each event verifies with the key it names, and only with that one
            key = OLD if r["key_id"] == key_id(OLD) else NEW
            assert r["prev_hash"] == prev and r["hash"] == independent_hash(key, t.number, r, prev)
            prev = r["hash"]
    assert cli(app, "audit", "verify").exit_code == 0

    perform(db.session.get(Ticket, a.id), "note", db.session.get(User, official_id), text="轮换之后",
            visibility="internal")
    assert rows_of(a.id)[-1]["key_id"] == key_id(NEW)
    result = cli(app, "audit", "verify")
    assert result.exit_code == 0 and "2 tickets checked, 0 broken" in result.output

    # Without the retired key the old segment cannot be checked.
    switch_keys(app, NEW)
    result = cli(app, "audit", "verify")
    assert result.exit_code == 1 and f"signed with an unknown key (key id {key_id(OLD)})" in result.output


def test_a_chain_touched_before_rotate_key_rotates_itself_first(app, two, park):
    a, _b = two
    n = db.session.get(Ticket, a.id).event_count
    switch_keys(app, NEW, OLD)
    perform(db.session.get(Ticket, a.id), "note", park.hr_official, text="附件", visibility="internal", uploads=[Upload("说明.pdf", make_pdf())])
    rows = rows_of(a.id)
    assert [r["action"] for r in rows[n:]] == ["key_rotated", "note"]
    att = db.session.scalar(db.select(Attachment).filter_by(ticket_id=a.id))
    assert att.event_seq == n + 2  # the attachment belongs to the note, not to the rotation
    result = cli(app, "audit", "verify")
    assert result.exit_code == 1 and a.number not in result.output  # only the untouched ticket waits
    assert cli(app, "audit", "rotate-key").output.startswith("1 chains rotated")


def test_rotated_event_is_on_the_record_for_staff_not_for_the_firm(app, two, park, login):
    a, _b = two
    number, inspector_id, firm_user_id = a.number, park.inspector.id, park.firm_user.id
    switch_keys(app, NEW, OLD)
    assert cli(app, "audit", "rotate-key").exit_code == 0
    inspector = db.session.get(User, inspector_id)
    inspector.language = "en"
    db.session.commit()
    page = login(inspector).get(f"/tickets/{number}").get_data(as_text=True)
    assert "The record’s key was changed" in page and key_id(NEW) in page and 'class="chain-ok"' in page
    page = login(db.session.get(User, firm_user_id)).get(f"/tickets/{number}").get_data(as_text=True)
    assert key_id(NEW) not in page


# --- forged segments ----------------------------------------------------------------------


@pytest.fixture
def rotated(app, two):
    switch_keys(app, NEW, OLD)
    assert cli(app, "audit", "rotate-key").exit_code == 0
    return two[0]


def verify_says(app, ticket: T, problem: str, broken: int = 1) -> None:
    result = cli(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"BROKEN {ticket.number}: " in result.output and problem in result.output, result.output
    assert f"{broken} broken" in result.output


def test_retired_key_signing_after_its_rotation_is_caught(app, rotated):
    """Whoever learnt the retired key cannot go on writing the chain with it."""
    forge(rotated, OLD, "note", {"text": "伪造"})
    verify_says(app, rotated, f"signed with key {key_id(OLD)} after that key was rotated out")


def test_retired_key_rotating_back_to_itself_is_caught(app, rotated):
    forge(rotated, OLD, "key_rotated", {"from_key": key_id(NEW), "to_key": key_id(OLD)})
    verify_says(app, rotated, "after that key was rotated out")


def test_chain_cut_back_before_the_rotation_and_extended_with_the_retired_key_is_caught(app, rotated):
    rows = rows_of(rotated.id)
    db.session.execute(text("DELETE FROM events WHERE ticket_id = :t AND seq = :s"),
                       {"t": rotated.id, "s": rows[-1]["seq"]})
    db.session.execute(text("UPDATE tickets SET event_count = :n, head_hash = :h WHERE id = :t"),
                       {"n": rows[-2]["seq"], "h": rows[-2]["hash"], "t": rotated.id})
    db.session.commit()
    forge(rotated, OLD, "force_close", {"reason": "伪造"})
    verify_says(app, rotated, f"ends under the retired key {key_id(OLD)}")


def test_key_change_without_a_rotation_event_is_caught(app, two):
    a, _b = two
    switch_keys(app, NEW, OLD)
    forge(a, NEW, "note", {"text": "新钥匙，没有轮换事件"})
    # (the other ticket, untouched, waits for rotate-key)
    verify_says(app, a, f"key changes from {key_id(OLD)} to {key_id(NEW)} without a key_rotated event", broken=2)


def test_rotation_event_naming_other_keys_is_caught(app, two):
    a, _b = two
    switch_keys(app, NEW, OLD)
    forge(a, NEW, "key_rotated", {"from_key": "0" * 16, "to_key": key_id(NEW)})
    verify_says(app, a, "key_rotated event names other keys than the ones it links", broken=2)


def test_unknown_key_id_is_caught(app, rotated):
    forge(rotated, "a-key-nobody-configured-0123", "note", {"text": "?"})
    verify_says(app, rotated, "signed with an unknown key (key id ")


def test_rotate_key_reports_a_chain_under_an_unknown_key(app, rotated):
    forge(rotated, "a-key-nobody-configured-0123", "note", {"text": "?"})
    result = cli(app, "audit", "rotate-key")
    assert result.exit_code == 1 and f"UNKNOWN KEY {rotated.number}" in result.output


# --- the digest and the migration -----------------------------------------------------------


def test_digest_kept_before_a_rotation_still_matches_with_the_retired_key(app, two, clock):
    clock(2026, 11, 3, 1)
    assert [d.day for d in digest_service.keep_due_digests()] == [date(2026, 11, 2)]
    switch_keys(app, NEW, OLD)
    assert cli(app, "audit", "rotate-key").exit_code == 0
    assert digest_service.check_digest(date(2026, 11, 2))[0] == "match"
    switch_keys(app, NEW)
    assert digest_service.check_digest(date(2026, 11, 2))[0] == "mismatch"


def test_migration_gives_existing_events_the_current_key_id(tmp_path):
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'old.db'}"

    app = create_app(Cfg)
    with app.app_context():
        upgrade(revision="c3measures0001")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.execute(text("INSERT INTO events (ticket_id, seq, at, action, visibility, details, prev_hash, hash) "
                              "VALUES (1, 1, '2026-11-02 01:00:00', 'file', 'public', '{}', :g, :g)"), {"g": "0" * 64})
        upgrade(revision="e5auditkeys0001")
        assert db.session.scalar(db.select(Event.key_id)) == key_id(TestingConfig.AUDIT_KEY)
        db.session.remove()
