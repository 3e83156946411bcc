"""Delivery of notifications against real processes: Redis, a Celery worker, an SMTP server.

The relay is driven from the test (the real `relay_outbox` code, publishing to the
real Redis); the deliveries run in the separate worker process, which shares the
SQLite file with the test app. See tests/integration/conftest.py for the processes.
"""
from __future__ import annotations

import os
import re
import signal
from datetime import timedelta

import pytest
from babel.messages.pofile import read_po

from tickets.forms_common import new_form_token

from .conftest import BACKOFF_SECONDS, BASE_URL, MAX_ATTEMPTS, ROOT, wait_for

def file_request(d, title="招工难", by="firm_user"):
    """File a request through the service as the firm user; returns the ticket."""
    from tickets.models import Category
    from tickets.services.filing import file_ticket

    user = d.user(by)
    labor = d.db.session.scalar(d.db.select(Category).filter_by(code="labor"))
    return file_ticket(user, firm_id=user.firm_id, category_id=labor.id, title=title,
                       description="缺少 30 名操作工", urgency="normal", contact_name="王经理",
                       contact_phone="13800138000")


def coordinator_ids(d) -> set[int]:
    from tickets.services.notify import users_with_role

    return {u.id for u in users_with_role("coordinator")}


def message_id(row) -> str:
    return f"<{row.key.replace(':', '.')}@bihuan>"


# --------------------------------------------------------------------------- 1. Redis down

def test_redis_down_filing_succeeds_and_every_notification_arrives_once(delivery):
    from tickets.models import Category, OutboxMessage, Ticket
    from worker.tasks import deliver

    d = delivery
    client = d.login(d.app.test_client(), "firm_user")
    labor = d.db.session.scalar(d.db.select(Category).filter_by(code="labor"))
    # Pages never talk to Redis (only a sign-in does, for its throttle): with Redis up, a page
    # view opens no connection to it, so Redis being down cannot slow one. Counted by Redis itself.
    probe = d.redis.client()
    before = probe.info("stats")["total_connections_received"]
    assert client.get("/firm/requests").status_code == 200
    assert probe.info("stats")["total_connections_received"] == before
    probe.close()
    d.redis.stop()
    assert not d.redis.ping()

    # Filing never publishes: the request commits the ticket and its outbox rows, nothing more.
    resp = client.post("/firm/requests/new", data={
        "category_id": str(labor.id), "title": "Redis 停了也要受理", "description": "缺少 30 名操作工",
        "urgency": "normal", "contact_name": "王经理", "contact_phone": "13800138000",
        "form_token": new_form_token()})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    number = resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    d.db.session.rollback()
    ticket = d.db.session.scalar(d.db.select(Ticket).filter_by(number=number))
    assert ticket is not None and ticket.state == "submitted"
    assert client.get(f"/tickets/{number}").status_code == 200

    coordinators = coordinator_ids(d)
    assert coordinators
    rows = d.rows(ticket_id=ticket.id)
    assert {(r.user_id, r.channel) for r in rows} == {(u, c) for u in coordinators for c in ("inapp", "email")}
    assert all(r.status == "pending" and r.published_at is None and r.kind == "filed" for r in rows)
    ids = [r.id for r in rows]

    # The relay cannot publish: a failure after the bounded publish retries (a finite
    # task_publish_retry_policy, config.py), and the rows are given back.
    assert d.app.config["CELERY"]["task_publish_retry_policy"]["max_retries"] <= 5
    with pytest.raises(Exception):
        d.relay()
    rows = d.rows(OutboxMessage.id.in_(ids))
    assert all(r.status == "pending" and r.published_at is None and r.attempts == 0 for r in rows), \
        [(r.status, r.published_at) for r in rows]
    assert d.notifications(ticket_id=ticket.id) == []
    assert d.smtp.messages() == []

    # Redis is back (empty: it kept nothing); the next relay hands every row to the worker.
    d.redis.start()
    assert d.relay() == len(ids)
    rows = d.wait_done(ids, timeout=60)
    assert all(r.status == "sent" and r.attempts == 1 and r.sent_at is not None for r in rows)
    for uid in coordinators:
        inapp = next(r for r in rows if r.user_id == uid and r.channel == "inapp")
        notes = d.notifications(user_id=uid, ticket_id=ticket.id)
        assert [n.key for n in notes] == [inapp.key]
        mails = d.smtp.messages(to=d.user(uid).email)
        assert len(mails) == 1 and mails[0]["Message-ID"] == message_id(inapp)

    # Relaying again publishes nothing; duplicate messages for the same rows change nothing.
    assert d.relay() == 0
    task_ids = [deliver.delay(i).id for i in ids for _ in range(2)]
    for task_id in task_ids:
        assert "'skipped'" in d.wait_task(task_id)
    # Even a row delivered again (its 'sent' mark lost) creates no second in-app notification.
    inapp_ids = [r.id for r in rows if r.channel == "inapp"]
    d.db.session.execute(d.db.update(OutboxMessage).where(OutboxMessage.id.in_(inapp_ids))
                         .values(status="pending", published_at=None, sent_at=None))
    d.db.session.commit()
    assert d.relay() == len(inapp_ids)
    d.wait_done(inapp_ids)
    for uid in coordinators:
        assert len(d.notifications(user_id=uid, ticket_id=ticket.id)) == 1
    assert len(d.smtp.messages()) == len(coordinators)


# --------------------------------------------------------------------------- 2. SIGKILL mid-delivery

DELAY_LINE = re.compile(r"delivery test delay: outbox (\d+) sent on (\w+), pid (\d+)")


def test_pool_process_killed_mid_delivery_is_redelivered_without_duplicates(delivery):
    d = delivery
    # A worker whose deliveries pause between sending and recording: the window to kill it in.
    d.worker.restart(DELIVERY_TEST_DELAY_SECONDS="3")
    try:
        ticket = file_request(d, title="杀掉工作进程")
        rows = d.rows(ticket_id=ticket.id)
        ids = {r.id for r in rows}
        assert {r.channel for r in rows} == {"inapp", "email"}
        assert d.relay() == len(ids)

        killed: dict[int, int] = {}  # outbox id -> pid killed while delivering it

        def kill_each_first_delivery():
            for m in DELAY_LINE.finditer(d.worker.log()):
                row_id, pid = int(m.group(1)), int(m.group(3))
                if row_id in ids and row_id not in killed:
                    assert pid in d.worker.pool_pids(), (pid, d.worker.pool_pids())
                    os.kill(pid, signal.SIGKILL)
                    killed[row_id] = pid
            return set(killed) == ids

        wait_for(kill_each_first_delivery, 40, "each row's first delivery to be killed", interval=0.05)
        rows = d.wait_done(list(ids), timeout=60)
        log = d.worker.log()
        assert "WorkerLostError" in log or "signal 9" in log, log[-3000:]
        # Each row was delivered again after its kill, by a new pool process.
        for row_id, pid in killed.items():
            pids = [int(m.group(3)) for m in DELAY_LINE.finditer(log) if int(m.group(1)) == row_id]
            assert len(pids) >= 2 and pids[-1] != pid, pids
        assert all(r.status == "sent" and r.attempts == 1 for r in rows), \
            [(r.id, r.status, r.attempts, r.last_error) for r in rows]

        inapp = next(r for r in rows if r.channel == "inapp")
        assert [n.key for n in d.notifications(ticket_id=ticket.id)] == [inapp.key]
        mail_row = next(r for r in rows if r.channel == "email")
        mails = d.smtp.messages(to=mail_row.user.email)
        # Sent, killed before recording, sent again: a duplicate, recognisable by its Message-ID.
        assert len(mails) == 2
        assert {m["Message-ID"] for m in mails} == {message_id(mail_row)}
    finally:
        d.worker.restart()


# --------------------------------------------------------------------------- 3. SMTP down

def test_smtp_down_retries_with_backoff_fails_shows_admin_and_retry_delivers(delivery):
    from tickets.models import OutboxMessage

    d = delivery
    d.smtp.stop()
    ticket = file_request(d, title="邮件服务器停了")
    rows = d.rows(ticket_id=ticket.id)
    mail_row = next(r for r in rows if r.channel == "email")
    inapp_row = next(r for r in rows if r.channel == "inapp")

    seen: list[tuple[int, object]] = []  # (attempts, next_attempt_at) after each failed attempt

    def relay_until_failed():
        d.relay()
        row = d.rows(OutboxMessage.id == mail_row.id)[0]
        if row.attempts and (not seen or seen[-1][0] != row.attempts):
            seen.append((row.attempts, row.next_attempt_at))
        return row if row.status == "failed" else None

    failed = wait_for(relay_until_failed, 40, "the e-mail to be marked failed", interval=0.2)
    assert failed.attempts == MAX_ATTEMPTS
    assert "SMTP" in failed.last_error and str(d.smtp.port) in failed.last_error
    assert [a for a, _ in seen] == list(range(1, MAX_ATTEMPTS + 1))
    # The first retry waits the backoff, the second twice as long: next_attempt_at moves later each time.
    times = [t for _, t in seen[:-1]]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert times[1] - times[0] >= timedelta(seconds=2 * BACKOFF_SECONDS * 0.95)
    assert d.rows(OutboxMessage.id == inapp_row.id)[0].status == "sent"
    assert d.smtp.messages() == []

    # The admin sees it on the worker page.
    client = d.login(d.app.test_client(), "admin")
    page = client.get("/admin/worker")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    failed_table = html.split('data-testid="failed"', 1)
    assert len(failed_table) == 2, "no failed deliveries listed"
    listed = failed_table[1].split("</table>", 1)[0]
    assert ticket.number in listed and d.user("coordinator").name in listed
    assert f'name="id" value="{mail_row.id}"' in listed
    # ... and an official may not.
    official = d.login(d.app.test_client(), "hr_official")
    assert official.get("/admin/worker").status_code == 403
    assert official.post("/admin/worker/retry", data={"id": str(mail_row.id)}).status_code == 403

    # SMTP up again; the retry button puts the row back in the queue; the relay delivers it.
    d.smtp.start()
    resp = client.post("/admin/worker/retry", data={"id": str(mail_row.id)})
    assert resp.status_code == 302
    row = d.rows(OutboxMessage.id == mail_row.id)[0]
    # Queued again with its history: the attempts stay, and the retry is a line of it, by the admin.
    assert row.status == "pending" and row.attempts == MAX_ATTEMPTS and row.retry_until is None
    assert [a.outcome for a in row.attempt_log] == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed", "requeued"]
    assert row.attempt_log[-1].user_id == d.user("admin").id
    assert all("SMTP" in a.error for a in row.attempt_log[:-1])
    assert d.relay() == 1
    row = d.wait_done([mail_row.id])[0]
    assert row.status == "sent" and row.attempts == MAX_ATTEMPTS + 1 and row.last_error == ""
    assert [a.outcome for a in row.attempt_log][-2:] == ["requeued", "sent"]
    mails = d.smtp.messages(to=d.user("coordinator").email)
    assert len(mails) == 1 and mails[0]["Message-ID"] == message_id(row)
    assert 'data-testid="failed"' not in client.get("/admin/worker").get_data(as_text=True)


# --------------------------------------------------------------------------- 4. the e-mail itself

def zh_translation(msgid: str) -> str | None:
    """The zh catalogue's translation of msgid, if it has a finished one."""
    po = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return None
    with open(po, "rb") as f:
        catalog = read_po(f)
    message = catalog.get(msgid)
    if message is None or not message.string or message.fuzzy:
        return None
    return message.string


def test_email_recipient_language_subject_link_parts_and_escaped_title(delivery):
    d = delivery
    en, zh = d.user("coordinator"), d.user("coord2")
    en.language, zh.language = "en", "zh"
    zh.active = True
    d.db.session.commit()
    title = "招工 <b>HTML</b> & 更多"
    ticket = file_request(d, title=title)
    rows = d.rows(ticket_id=ticket.id)
    assert {(r.user_id, r.channel) for r in rows} == {(u.id, c) for u in (en, zh) for c in ("inapp", "email")}
    assert d.relay() == 4
    rows = d.wait_done([r.id for r in rows])
    assert all(r.status == "sent" for r in rows)

    firm = ticket.firm.name
    link = f"{BASE_URL}/tickets/{ticket.number}"
    zh_subject = zh_translation("New request %(number)s from %(firm)s")
    expected = {
        en: (f"New request {ticket.number} from {firm}", "en"),
        zh: ((zh_subject % {"number": ticket.number, "firm": firm}) if zh_subject
             else f"New request {ticket.number} from {firm}", "zh-CN"),
    }
    assert len(d.smtp.messages()) == 2
    for user, (subject, language) in expected.items():
        mails = d.smtp.messages(to=user.email)
        assert len(mails) == 1, [m["To"] for m in d.smtp.messages()]
        mail = mails[0]
        row = next(r for r in rows if r.user_id == user.id and r.channel == "email")
        assert mail["To"] == user.email
        assert mail["Subject"] == subject
        assert mail["Content-Language"] == language
        assert mail["Message-ID"] == message_id(row)
        assert mail.get_content_type() == "multipart/alternative"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert link in text and f'href="{link}"' in html
        assert subject in text
        # The title: as typed in the plain text, escaped in the HTML.
        assert title in text
        assert "招工 &lt;b&gt;HTML&lt;/b&gt; &amp; 更多" in html
        assert "<b>HTML</b>" not in html
    # The two languages differ at least in the footer once the zh catalogue translates it.
    footer = "Bihuan, the enterprise request closed loop. You receive this because you take part in this request."
    if zh_translation(footer):
        assert zh_translation(footer) in d.smtp.messages(to=zh.email)[0].get_body(("plain",)).get_content()
    if not zh_subject:
        import warnings

        warnings.warn("translations/zh lacks 'New request %(number)s from %(firm)s': "
                      "the zh subject was checked against the English fallback")


# --------------------------------------------------------------------------- 5. stale reminder

def test_extension_granted_after_reminder_queued_makes_it_a_no_op(delivery):
    from tickets.models import Clock, ReminderStep, Ticket
    from tickets.services.actions import perform
    from tickets.services.sweep import sweep
    from tickets.timeutil import set_now

    d = delivery
    ticket = file_request(d, title="延期之后的提醒")
    lead = d.user("hr_official")
    perform(ticket, "accept", d.user("coordinator"), lead_id=lead.id, department_id=lead.department_id)
    clock = d.db.session.scalar(d.db.select(Clock).filter_by(ticket_id=ticket.id, kind="handle", stopped_at=None))
    assert clock is not None and clock.deadline_version == 1

    # The handle clock turns yellow: the sweep (in the test process, frozen clock) raises the step.
    set_now(clock.yellow_at + timedelta(minutes=1))
    counts = sweep()
    assert counts.get("handle.yellow.raised") == 1, counts
    step = d.db.session.scalar(d.db.select(ReminderStep).filter_by(clock_id=clock.id, level="yellow"))
    step_rows = d.rows(step_id=step.id)
    assert {(r.user_id, r.channel) for r in step_rows} == {(lead.id, "inapp"), (lead.id, "email")}

    # Before it is delivered, the lead asks for more time and the head approves it.
    ticket = d.db.session.get(Ticket, ticket.id)
    perform(ticket, "request_extension", lead, days=5, reason="需要协调外省劳务", public_reason="需要更多时间")
    ticket = d.db.session.get(Ticket, ticket.id)
    perform(ticket, "decide_extension", d.user("hr_head"), decision="approve", comment="同意")
    d.db.session.rollback()
    clock = d.db.session.get(Clock, clock.id)
    assert clock.deadline_version == 2

    ids = [r.id for r in d.rows(ticket_id=ticket.id)]
    assert d.relay() == len(ids)
    rows = d.wait_done(ids)
    stale = [r for r in rows if r.step_id == step.id]
    assert [r.status for r in stale] == ["void", "void"], [(r.status, r.last_error) for r in stale]
    assert all(r.attempts == 0 and r.sent_at is None for r in stale)
    assert all(r.status == "sent" for r in rows if r.step_id != step.id)
    # Nothing reached the lead about the old deadline; the extension's own notice did.
    lead_keys = {n.key for n in d.notifications(user_id=lead.id)}
    assert not {r.key for r in stale} & lead_keys
    decided = [r for r in rows if r.kind == "extension_decided" and r.user_id == lead.id and r.channel == "inapp"]
    assert decided and decided[0].key in lead_keys
    stale_ids = {message_id(r) for r in stale}
    assert not [m for m in d.smtp.messages() if m["Message-ID"] in stale_ids]
    assert d.smtp.messages(to=lead.email)  # the worker did deliver the lead's other mail
