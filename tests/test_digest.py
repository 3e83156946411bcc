"""The daily digest and the audit page.

The digest of a day is recomputed here independently (HMAC-SHA256 with the test key
over the canonical payload, each link chained to the recomputed link before it, then
SHA-256 over the sorted lines "number:seq:hash\\n"), never with tickets.audit or the
digest service. Shanghai is UTC+8: the end of Monday 2 November 2026 in Shanghai is
2026-11-02 16:00 UTC.

The record (events per ticket, in order; A and B filed on Mon 2 Nov, C on Tue 3 Nov):
  A 2026-000001: file 09:00, accept + clock_started 10:00, note 23:59 (all 2 Nov) = 4 by the
                 end of 2 Nov; handle Tue 3 10:00 (5); feedback Wed 4 10:00 (6)
  B 2026-000002: file 2 Nov 11:00 (1); note at Tue 3 Nov 00:00 exactly (2: belongs to 3 Nov)
  C 2026-000003: file Tue 3 Nov 11:00 (1)
Digests kept by the beat task at 01:00 of the next day: 2 Nov (A:4, B:1) and 3 Nov
(A:5, B:2, C:1).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime

import pytest
from sqlalchemy import text

from tickets.extensions import db
from tickets.messages import render
from tickets.models import AuditRun, DailyDigest, OutboxMessage, User
from tickets.services import digest as digest_service
from tickets.services import outbox
from tickets.services.actions import perform, record_feedback

from .conftest import accept, file_request, handle
from .conftest_browser import translator

KEY = b"test-audit-key"
A, B, C = "2026-000001", "2026-000002", "2026-000003"
END_NOV_2 = datetime(2026, 11, 2, 16, 0)  # 24:00 Shanghai, Mon 2 Nov
END_NOV_3 = datetime(2026, 11, 3, 16, 0)


# --- an independent digest ----------------------------------------------------------------


def _at(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _link(number: str, r: dict, prev: str, details: str | None = None) -> str:
    payload = json.dumps({
        "ticket": number, "seq": r["seq"], "prev": prev, "actor": r["actor_id"],
        "at": _at(r["at"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "action": r["action"], "from": r["from_state"],
        "to": r["to_state"], "visibility": r["visibility"], "details": json.loads(details or r["details"]),
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(KEY, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def events_of(number: str) -> list[dict]:
    return [dict(r) for r in db.session.execute(text(
        "SELECT e.* FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.number = :n ORDER BY e.seq"),
        {"n": number}).mappings()]


def expected(end: datetime) -> tuple[str, list[str]]:
    lines = []
    for (number,) in db.session.execute(text("SELECT number FROM tickets")):
        prev, seq = "0" * 64, None
        for r in events_of(number):
            if _at(r["at"]) < end:
                prev, seq = _link(number, r, prev), r["seq"]
        if seq is not None:
            lines.append(f"{number}:{seq}:{prev}\n")
    lines.sort()
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest(), lines


def sql(statement: str, **params) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    db.session.expire_all()
    return result


# --- the record -----------------------------------------------------------------------------


@pytest.fixture
def record(park, clock):
    clock(2026, 11, 2, 9)
    a = file_request(park)
    clock(2026, 11, 2, 10)
    accept(park, a)
    clock(2026, 11, 2, 11)
    b = file_request(park, user=park.firm_b_user, title="融资")
    clock(2026, 11, 2, 23, 59)
    perform(a, "note", park.hr_official, text="晚间已电话联系", visibility="internal")
    clock(2026, 11, 3, 0, 0)
    perform(b, "note", park.coordinator, text="零点登记", visibility="internal")
    clock(2026, 11, 3, 1)
    assert [d.day for d in digest_service.keep_due_digests()] == [date(2026, 11, 2)]
    clock(2026, 11, 3, 10)
    handle(park, a)
    clock(2026, 11, 3, 11)
    file_request(park, title="用地")
    clock(2026, 11, 4, 1)
    assert [d.day for d in digest_service.keep_due_digests()] == [date(2026, 11, 3)]
    clock(2026, 11, 4, 10)
    record_feedback(a, park.firm_user, solved="yes", rating="satisfied", comment="")
    return park


def kept_digest(day: date) -> DailyDigest:
    return db.session.scalar(db.select(DailyDigest).filter_by(day=day))


# --- the digest -----------------------------------------------------------------------------


def test_kept_digest_is_the_digest_of_the_chain_heads_at_the_end_of_the_day(app, record):
    want, lines = expected(END_NOV_2)
    assert [line.rsplit(":", 1)[0] for line in lines] == [f"{A}:4", f"{B}:1"]
    row = kept_digest(date(2026, 11, 2))
    assert (row.digest, row.tickets) == (want, 2)
    want3, lines3 = expected(END_NOV_3)
    assert [line.rsplit(":", 1)[0] for line in lines3] == [f"{A}:5", f"{B}:2", f"{C}:1"]
    row3 = kept_digest(date(2026, 11, 3))
    assert (row3.digest, row3.tickets) == (want3, 3)
    assert digest_service.latest_digest().day == date(2026, 11, 3)


def test_digest_is_stable_and_later_events_do_not_change_it(app, record, clock):
    kept = kept_digest(date(2026, 11, 2)).digest
    # A's feedback (4 Nov) and B's note at 00:00 on 3 Nov came after the day: same digest.
    assert digest_service.compute_digest(date(2026, 11, 2)) == (kept, 2)
    clock(2026, 11, 5, 9)
    file_request(record, title="新诉求")
    result = cli(app, "audit", "digest", "--date", "2026-11-02")
    assert result.exit_code == 0, result.output
    assert f"2026-11-02: matches the kept digest {kept} (2 tickets)" in result.output
    assert cli(app, "audit", "digest", "--date", "2026-11-03").exit_code == 0


def test_plain_sql_rewrite_of_a_past_event_is_reported_for_that_day(app, record):
    # A's clock_started event (seq 3, 2 Nov) gets a later due date.
    details = json.loads(events_of(A)[2]["details"])
    details["due"] = "2026-12-31T16:00:00.000000Z"
    sql("UPDATE events SET details = :d WHERE seq = 3 AND ticket_id = (SELECT id FROM tickets WHERE number = :n)",
        d=json.dumps(details), n=A)
    for day in ("2026-11-02", "2026-11-03"):
        result = cli(app, "audit", "digest", "--date", day)
        assert result.exit_code == 1, result.output
        assert f"MISMATCH {day}" in result.output
    assert cli(app, "audit", "verify").exit_code == 1


def test_rewrite_after_a_day_leaves_that_day_matching(app, record):
    # A's handle event (seq 5) happened on 3 Nov: 2 Nov still matches, 3 Nov does not.
    sql("UPDATE events SET details = :d WHERE seq = 5 AND ticket_id = (SELECT id FROM tickets WHERE number = :n)",
        d='{"outcome":"resolved"}', n=A)
    assert cli(app, "audit", "digest", "--date", "2026-11-02").exit_code == 0
    result = cli(app, "audit", "digest", "--date", "2026-11-03")
    assert result.exit_code == 1 and "MISMATCH 2026-11-03" in result.output


def test_rewrite_by_someone_holding_the_key_passes_verify_but_not_the_digest(app, record):
    """Rewrite A's accept note, re-sign it and every later link with the key, fix the ticket head."""
    rows = events_of(A)
    details = json.loads(rows[1]["details"])
    details["note"] = "按时受理"  # the accept event (seq 2, 2 Nov)
    prev = rows[0]["hash"]
    for r in rows[1:]:
        d = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if r["seq"] == 2 \
            else r["details"]
        h = _link(A, r, prev, d)
        sql("UPDATE events SET details = :d, prev_hash = :p, hash = :h WHERE id = :i", d=d, p=prev, h=h, i=r["id"])
        prev = h
    sql("UPDATE tickets SET head_hash = :h WHERE number = :n", h=prev, n=A)
    verify = cli(app, "audit", "verify")
    assert verify.exit_code == 0, verify.output  # the chain holds: only the digest can tell
    result = cli(app, "audit", "digest", "--date", "2026-11-02")
    assert result.exit_code == 1
    assert "MISMATCH 2026-11-02" in result.output
    assert "the record of 2026-11-02 was rewritten" in result.output


def test_day_without_a_kept_digest_exits_2(app, record):
    result = cli(app, "audit", "digest", "--date", "2026-11-10")
    assert result.exit_code == 2
    assert "2026-11-10: no digest kept" in result.output
    assert cli(app, "audit", "digest", "--date", "2026-13-01").exit_code == 2  # click's usage error


def test_digest_is_mailed_to_the_inspectors_once(app, record, clock):
    inspector = record.inspector.id
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(kind="digest").order_by(OutboxMessage.id)).all()
    assert sorted((r.key, r.channel, r.user_id) for r in rows) == [
        ("digest:2026-11-02:u%d" % inspector, "email", inspector), ("digest:2026-11-02:u%d" % inspector, "inapp", inspector),
        ("digest:2026-11-03:u%d" % inspector, "email", inspector), ("digest:2026-11-03:u%d" % inspector, "inapp", inspector)]
    assert kept_digest(date(2026, 11, 2)).mailed_at == datetime(2026, 11, 2, 17, 0)  # 01:00 on 3 Nov, Shanghai
    clock(2026, 11, 4, 2)
    assert digest_service.keep_due_digests() == []  # hourly and idempotent
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id)).filter_by(kind="digest")) == 4
    inapp = next(r for r in rows if r.channel == "inapp" and r.key.startswith("digest:2026-11-02"))
    assert outbox.deliver(inapp.id) == "sent"
    subject, _ = render("digest", inapp.params, "en")
    assert subject == f"Record digest of 2026-11-02: {kept_digest(date(2026, 11, 2)).digest}"


def test_a_day_is_digested_ten_minutes_after_its_midnight(app, record, clock):
    clock(2026, 11, 5, 0, 5)
    assert digest_service.keep_due_digests() == []
    clock(2026, 11, 5, 0, 10)
    assert [d.day for d in digest_service.keep_due_digests()] == [date(2026, 11, 4)]


def test_missed_days_are_filled_in_by_the_hourly_task(app, record, clock):
    clock(2026, 11, 7, 3)
    from worker.tasks import compute_daily_digest

    # .run: the task body in this app context (a Celery app bound elsewhere must not matter)
    assert compute_daily_digest.run() == ["2026-11-04", "2026-11-05", "2026-11-06"]
    assert compute_daily_digest.run() == []
    assert kept_digest(date(2026, 11, 6)).tickets == 3


# --- the audit page ---------------------------------------------------------------------------


def test_cli_verify_is_kept_as_the_last_run(app, record, client, login):
    inspector_id = record.inspector.id
    assert cli(app, "audit", "verify").exit_code == 0  # verify_all leaves the park's rows detached
    run = digest_service.last_run()
    assert (run.source, run.tickets_checked, run.broken_count) == ("cli", 3, 0)
    login(db.session.get(User, inspector_id))
    html = client.get("/inspect/audit").get_data(as_text=True)
    assert 'data-testid="checked">3' in html
    assert 'data-testid="status"><span class="chain-ok">' in html
    assert 'data-day="2026-11-03"' in html and kept_digest(date(2026, 11, 3)).digest in html
    # In plain words: what the check does, what "intact" means and what to do if not; no command line.
    assert 'data-testid="audit-what"' in html and 'data-testid="audit-meaning"' in html
    zh = translator("zh")  # the inspector reads Chinese
    assert zh("started by the system administrator") in html
    assert zh("started by the system administrator") != "started by the system administrator"
    assert "命令行" not in html and "flask --app" not in html
    for command in ("flask", "--app", "--date", "HMAC", "command line"):
        assert command not in html, command


def test_run_now_links_to_the_broken_event(app, record, client, login):
    sql("UPDATE events SET details = :d WHERE seq = 3 AND ticket_id = (SELECT id FROM tickets WHERE number = :n)",
        d='{"due":"later"}', n=A)
    login(record.inspector)
    resp = client.post("/inspect/audit/run")
    assert resp.status_code == 302
    run = digest_service.last_run()
    assert (run.source, run.tickets_checked, run.broken_count) == ("page", 3, 1)
    html = client.get("/inspect/audit").get_data(as_text=True)
    assert f'href="/tickets/{A}#event-3"' in html
    page = client.get(f"/tickets/{A}").get_data(as_text=True)
    assert 'id="event-3"' in page


def test_run_now_is_queued_for_a_large_record(app, record, client, login):
    app.config["AUDIT_INLINE_LIMIT"] = 2
    login(record.inspector)
    client.post("/inspect/audit/run")
    client.post("/inspect/audit/run")  # a second click while queued adds nothing
    runs = db.session.scalars(db.select(AuditRun).order_by(AuditRun.id)).all()
    assert [(r.source, r.status) for r in runs] == [("request", "requested")]
    assert 'data-testid="pending"' in client.get("/inspect/audit").get_data(as_text=True)
    from worker.tasks import verify_record

    # .run: the task body in this app context (a Celery app bound elsewhere must not matter)
    assert verify_record.run() == runs[0].id
    db.session.expire_all()
    run = db.session.get(AuditRun, runs[0].id)
    assert (run.status, run.tickets_checked, run.broken_count) == ("done", 3, 0)


def test_daily_verification_runs_once_a_day_after_two(app, record, clock):
    clock(2026, 11, 5, 1, 30)
    assert digest_service.verify_if_due() is None  # before 02:00
    clock(2026, 11, 5, 2, 5)
    run = digest_service.verify_if_due()
    assert (run.source, run.tickets_checked) == ("beat", 3)
    clock(2026, 11, 5, 2, 6)
    assert digest_service.verify_if_due() is None
    clock(2026, 11, 6, 2, 1)
    assert digest_service.verify_if_due().source == "beat"


def test_audit_page_permissions(app, record, client, login):
    login(record.firm_user)
    assert client.get("/inspect/audit").status_code == 403
    login(record.hr_official)
    assert client.get("/inspect/audit").status_code == 403
    assert client.post("/inspect/audit/run").status_code == 403
    login(record.leader)
    html = client.get("/inspect/audit").get_data(as_text=True)
    assert 'data-testid="run-now"' not in html
    assert client.post("/inspect/audit/run").status_code == 403
    assert db.session.scalar(db.select(db.func.count(AuditRun.id))) == 0
