"""The tamper-evident record: every way of rewriting it with plain SQL is caught.

Tickets are built through the real services; the tampering is done the way
someone with database access would do it, with plain SQL, and then
`flask audit verify` (the CLI) must exit 1 naming the ticket and the event.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import zlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import DateTime, bindparam, text

from tickets.audit import GENESIS, canonical_json, format_time, verify_all, verify_ticket
from tickets.extensions import db
from tickets.models import Attachment, Event, Ticket
from tickets.services.actions import perform, record_feedback
from tickets.services.common import Upload

from tickets.timeutil import now, set_now

from .conftest import accept, file_request, handle


# --- sample files -------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def make_png(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, red) RGB PNG."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def make_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


# --- helpers --------------------------------------------------------------------------


def sql(statement: str, **params) -> None:
    """Plain SQL, committed: what someone with write access to the database can do."""
    db.session.execute(text(statement), params)
    db.session.commit()


def audit_verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    db.session.expire_all()
    return result


def ev_row(ticket_id: int, seq: int) -> dict:
    return dict(db.session.execute(
        text("SELECT * FROM events WHERE ticket_id = :t AND seq = :s"), {"t": ticket_id, "s": seq}
    ).mappings().one())


def ticket_row(ticket_id: int) -> dict:
    return dict(db.session.execute(text("SELECT * FROM tickets WHERE id = :t"), {"t": ticket_id}).mappings().one())


@pytest.fixture
def built(park, clock):
    """Three tickets through the services: a full loop with rework, one in progress, one just filed."""
    clock(2026, 11, 2, 9)
    png = make_png()
    full = file_request(park, uploads=[Upload("现场照片.png", png)])
    clock(2026, 11, 2, 14)
    accept(park, full)
    clock(2026, 11, 3, 10)
    perform(full, "ask", park.hr_official, text="需要哪些工种？")
    perform(full, "reply", park.firm_user, text="操作工和叉车司机", uploads=[Upload("岗位.pdf", make_pdf())])
    clock(2026, 11, 4, 10)
    handle(park, full)
    clock(2026, 11, 5, 10)
    record_feedback(full, park.firm_user, solved="no", rating="dissatisfied", comment="还是缺人")
    clock(2026, 11, 6, 10)
    handle(park, full)
    clock(2026, 11, 9, 10)
    record_feedback(full, park.firm_user, solved="yes", rating="satisfied", comment="谢谢")
    assert full.state == "fed_back" and full.round == 2

    clock(2026, 11, 3, 11)
    middle = file_request(park, title="融资难", category_id=park.category("financing").id)
    accept(park, middle, lead=park.fin_official)
    perform(middle, "note", park.fin_official, text="已联系银行", visibility="internal")

    clock(2026, 11, 4, 11)
    fresh = file_request(park, user=park.firm_b_user, title="用地")
    db.session.commit()
    return {"full": full, "middle": middle, "fresh": fresh, "png": png}


# --- the untouched record ---------------------------------------------------------------


def test_untouched_record_verifies(app, built):
    full = built["full"]
    assert full.event_count >= 10
    result = audit_verify(app)
    assert result.exit_code == 0, result.output
    assert "3 tickets checked, 0 broken" in result.output
    assert "BROKEN" not in result.output


def test_chain_is_an_hmac_keyed_by_the_environment(app, built):
    """Recompute one link independently: HMAC-SHA256 over the canonical payload with AUDIT_KEY."""
    t = built["full"]
    rows = [ev_row(t.id, s) for s in range(1, t.event_count + 1)]
    prev = GENESIS
    for r in rows:
        assert r["prev_hash"] == prev
        at = r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(str(r["at"]))
        payload = json.dumps({
            "ticket": t.number, "seq": r["seq"], "prev": r["prev_hash"], "actor": r["actor_id"],
            "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "action": r["action"], "from": r["from_state"],
            "to": r["to_state"], "visibility": r["visibility"], "details": json.loads(r["details"]),
        }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        expected = hmac.new(b"test-audit-key", payload.encode("utf-8"), hashlib.sha256).hexdigest()
        assert r["hash"] == expected, r["seq"]
        prev = r["hash"]
    tr = ticket_row(t.id)
    assert (tr["head_hash"], tr["event_count"]) == (prev, len(rows))
    # Someone without the key cannot make a chain that verifies: under another key nothing holds.
    app.config["AUDIT_KEY"] = "some-other-key"
    result = audit_verify(app)
    assert result.exit_code == 1
    assert "3 broken" in result.output


# --- tampering -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, value",
    [
        ("details", None),  # filled in below: the outcome text rewritten
        ("action", "reject"),
        ("to_state", "fed_back"),
        ("visibility", "inspector"),
        ("actor_id", "coordinator"),
    ],
)
def test_edited_event_is_caught(app, built, park, column, value):
    t = built["full"]
    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, action="handle").order_by(Event.seq))
    seq = ev.seq
    if column == "details":
        details = json.loads(ev.details)
        details["what_was_done"] = "什么也没做"
        value = canonical_json(details)
    elif column == "actor_id":
        value = park.coordinator.id
    sql(f"UPDATE events SET {column} = :v WHERE ticket_id = :t AND seq = :s", v=value, t=t.id, s=seq)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event {seq} " in result.output
    assert "content does not match its HMAC" in result.output
    assert "1 broken" in result.output
    # The other tickets are not reported.
    assert built["middle"].number not in result.output


def test_edited_event_time_is_caught(app, built):
    t = built["middle"]
    at = ev_row(t.id, 2)["at"]
    stmt = text("UPDATE events SET at = :at WHERE ticket_id = :t AND seq = 2").bindparams(
        bindparam("at", type_=DateTime))
    db.session.execute(stmt, {"at": datetime(2026, 11, 3, 3, 0, 0, 1), "t": t.id})  # one microsecond
    db.session.commit()
    assert ev_row(t.id, 2)["at"] != at
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event 2 " in result.output


def test_inserted_event_is_caught(app, built):
    t = built["middle"]
    last = ev_row(t.id, t.event_count)
    copy = dict(last)
    copy.pop("id")
    copy.update(seq=t.event_count + 1, prev_hash=last["hash"], hash=hashlib.sha256(b"forged").hexdigest())
    cols = ", ".join(copy)
    sql(f"INSERT INTO events ({cols}) VALUES ({', '.join(':' + c for c in copy)})", **copy)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event {t.event_count + 1} " in result.output


def test_inserted_event_with_the_ticket_head_forged_too_is_caught(app, built):
    """Without the key, even a forger who also moves the ticket's head along is caught."""
    t = built["middle"]
    n = t.event_count
    last = ev_row(t.id, n)
    copy = dict(last)
    copy.pop("id")
    forged = hashlib.sha256(b"forged").hexdigest()
    copy.update(seq=n + 1, prev_hash=last["hash"], hash=forged)
    sql(f"INSERT INTO events ({', '.join(copy)}) VALUES ({', '.join(':' + c for c in copy)})", **copy)
    sql("UPDATE tickets SET event_count = :n, head_hash = :h WHERE id = :t", n=n + 1, h=forged, t=t.id)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event {n + 1} " in result.output


def test_event_inserted_in_the_middle_is_caught(app, built):
    t = built["full"]
    n = t.event_count
    # Make room at seq 3 by moving every later event up one (highest first, for the unique key).
    for s in range(n, 2, -1):
        sql("UPDATE events SET seq = :new WHERE ticket_id = :t AND seq = :old", new=s + 1, old=s, t=t.id)
    copy = ev_row(t.id, 2)
    copy.pop("id")
    copy.update(seq=3, prev_hash=copy["hash"])
    sql(f"INSERT INTO events ({', '.join(copy)}) VALUES ({', '.join(':' + c for c in copy)})", **copy)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event 3 " in result.output


def test_deleted_middle_event_is_caught(app, built):
    t = built["full"]
    sql("DELETE FROM events WHERE ticket_id = :t AND seq = 4", t=t.id)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event 5 " in result.output
    assert "sequence 5, expected 4" in result.output


def test_deleted_middle_event_with_renumbering_is_caught(app, built):
    t = built["full"]
    n = t.event_count
    sql("DELETE FROM events WHERE ticket_id = :t AND seq = 4", t=t.id)
    for s in range(5, n + 1):
        sql("UPDATE events SET seq = :new WHERE ticket_id = :t AND seq = :old", new=s - 1, old=s, t=t.id)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event 4 " in result.output


def test_deleted_last_event_alone_is_caught(app, built):
    """The remaining chain is perfectly valid; only the head kept on the ticket catches it."""
    t = built["full"]
    n = t.event_count
    sql("DELETE FROM events WHERE ticket_id = :t AND seq = :s", t=t.id, s=n)
    ticket = db.session.get(Ticket, t.id)
    events = db.session.scalars(db.select(Event).filter_by(ticket_id=t.id).order_by(Event.seq)).all()
    assert len(events) == n - 1
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: head: chain has {n - 1} events" in result.output
    assert f"ticket records {n} " in result.output
    assert [str(b) for b in verify_ticket(ticket)] != []


def test_reordered_events_are_caught(app, built):
    t = built["full"]
    a, b = ev_row(t.id, 3), ev_row(t.id, 4)
    # Swap the seq values of two events through a temporary value (the unique key forbids a direct swap).
    sql("UPDATE events SET seq = -1 WHERE id = :id", id=a["id"])
    sql("UPDATE events SET seq = 3 WHERE id = :id", id=b["id"])
    sql("UPDATE events SET seq = 4 WHERE id = :id", id=a["id"])
    assert ev_row(t.id, 3)["id"] == b["id"]
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event 3 " in result.output


def test_event_moved_to_another_ticket_is_caught(app, built):
    """Moved and re-linked at the end of the other chain, with both tickets' heads fixed up."""
    src, dst = built["full"], built["fresh"]
    n_src, n_dst = src.event_count, dst.event_count
    moved = ev_row(src.id, n_src)
    before = ev_row(src.id, n_src - 1)
    dst_head = ticket_row(dst.id)["head_hash"]
    sql("UPDATE events SET ticket_id = :d, seq = :s, prev_hash = :p WHERE id = :id",
        d=dst.id, s=n_dst + 1, p=dst_head, id=moved["id"])
    sql("UPDATE tickets SET event_count = :n, head_hash = :h WHERE id = :t", n=n_dst + 1, h=moved["hash"], t=dst.id)
    sql("UPDATE tickets SET event_count = :n, head_hash = :h WHERE id = :t", n=n_src - 1, h=before["hash"],
        t=src.id)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    # The source chain is now a valid shorter chain, by design undetectable without a printed
    # digest; the destination is caught because the HMAC covers the ticket number.
    assert f"BROKEN {dst.number}: event {n_dst + 1} " in result.output


def test_event_moved_as_is_to_another_ticket_is_caught(app, built):
    src, dst = built["full"], built["fresh"]
    n_src, n_dst = src.event_count, dst.event_count
    assert n_src > n_dst + 1
    sql("UPDATE events SET ticket_id = :d WHERE ticket_id = :s AND seq = :q", d=dst.id, s=src.id, q=n_src)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {src.number}: head" in result.output
    assert f"BROKEN {dst.number}: event {n_src} " in result.output
    assert "2 broken" in result.output


@pytest.mark.parametrize("field", ["event_count", "head_hash"])
def test_edited_ticket_head_is_caught(app, built, field):
    t = built["middle"]
    value = t.event_count - 1 if field == "event_count" else hashlib.sha256(b"x").hexdigest()
    sql(f"UPDATE tickets SET {field} = :v WHERE id = :t", v=value, t=t.id)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: head" in result.output
    assert built["full"].number not in result.output


def test_broken_chain_is_shown_on_the_ticket_page(app, built, park, login):
    t = built["middle"]
    park.inspector.language = "en"
    db.session.commit()
    client = login(park.inspector)
    page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'class="chain-ok"' in page
    sql("UPDATE events SET details = :d WHERE ticket_id = :t AND seq = 1", d="{}", t=t.id)
    # The page keeps the verdict of the same head a short while (it would otherwise HMAC the whole
    # chain on every view); past that, it reads the chain again and shows the break.
    assert 'class="chain-ok"' in client.get(f"/tickets/{t.number}").get_data(as_text=True)
    set_now(now() + timedelta(seconds=app.config["CHAIN_VERDICT_SECONDS"]))
    page = client.get(f"/tickets/{t.number}").get_data(as_text=True)
    assert 'class="chain-broken"' in page
    assert f"{t.number}: event 1 " in page


def test_a_deleted_event_is_shown_on_the_ticket_page_at_once(app, built, park, login):
    """The verdict is kept for the events the table holds: one fewer is verified again at once."""
    t = built["middle"]
    client = login(park.inspector)
    assert 'class="chain-ok"' in client.get(f"/tickets/{t.number}").get_data(as_text=True)
    sql("DELETE FROM events WHERE ticket_id = :t AND seq = :s", t=t.id, s=t.event_count)
    assert 'class="chain-broken"' in client.get(f"/tickets/{t.number}").get_data(as_text=True)


# --- canonical serialization and time format ----------------------------------------------


def test_canonical_json_is_stable():
    a = {"b": 1, "a": "中文 “引号”", "c": [1, {"z": 2, "y": None}], "d": True}
    b = {"d": True, "c": [1, {"y": None, "z": 2}], "a": "中文 “引号”", "b": 1}
    expected = '{"a":"中文 “引号”","b":1,"c":[1,{"y":null,"z":2}],"d":true}'
    assert canonical_json(a) == expected
    assert canonical_json(b) == expected
    assert canonical_json({}) == "{}"
    # Non-ASCII is kept as UTF-8, not \u escapes, and the bytes are UTF-8.
    assert "\\u" not in canonical_json({"x": "甲公司"})
    assert canonical_json({"x": "甲公司"}).encode("utf-8") == '{"x":"甲公司"}'.encode("utf-8")


def test_format_time_has_microsecond_precision_and_z():
    assert format_time(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"
    assert format_time(datetime(2026, 12, 31, 23, 59, 59, 7)) == "2026-12-31T23:59:59.000007Z"
    assert format_time(datetime(2026, 6, 1, 0, 0, 0, 123456)) == "2026-06-01T00:00:00.123456Z"


# --- attachments in the record ---------------------------------------------------------------


def test_attachment_sha256_is_in_the_event_that_added_it(app, built):
    t, png = built["full"], built["png"]
    digest = hashlib.sha256(png).hexdigest()
    att = db.session.scalar(db.select(Attachment).filter_by(ticket_id=t.id, content_type="image/png"))
    assert att.sha256 == digest and att.size == len(png)
    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, seq=att.event_seq))
    assert ev.action == "file"
    assert json.loads(ev.details)["attachments"] == [{"name": "现场照片.png", "sha256": digest, "size": len(png)}]
    # The stored bytes are the uploaded bytes.
    with open(os.path.join(app.config["UPLOAD_DIR"], att.stored_name), "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == digest

    # The PDF came with the firm's reply: its hash is in the reply event.
    pdf = db.session.scalar(db.select(Attachment).filter_by(ticket_id=t.id, content_type="application/pdf"))
    reply = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, seq=pdf.event_seq))
    assert reply.action == "reply"
    assert json.loads(reply.details)["attachments"][0]["sha256"] == hashlib.sha256(make_pdf()).hexdigest()


def test_swapping_an_attachment_hash_in_the_event_is_caught(app, built):
    t, png = built["full"], built["png"]
    ev = db.session.scalar(db.select(Event).filter_by(ticket_id=t.id, action="file"))
    details = json.loads(ev.details)
    details["attachments"][0]["sha256"] = hashlib.sha256(png + b"x").hexdigest()
    sql("UPDATE events SET details = :d WHERE id = :id", d=canonical_json(details), id=ev.id)
    result = audit_verify(app)
    assert result.exit_code == 1
    assert f"BROKEN {t.number}: event 1 " in result.output


def test_verify_all_counts_every_ticket(app, built):
    checked, breaks = verify_all(batch=2)  # more tickets than one batch
    assert checked == 3 and breaks == []
