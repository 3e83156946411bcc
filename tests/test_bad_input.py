"""Bad input: each case gets a clear message in the user's language, a 4xx status, and writes nothing.

Through HTTP with the test client where a person would meet it (the firm's
request form, the ticket page's action forms), and at the service level where
HTTP is awkward. The users here read English (`language = "en"`), except in
the last test, where a Chinese reader gets the same messages in Chinese.

"Writes nothing" is checked by counting the rows of every table, the ticket
counters, and the files in UPLOAD_DIR (temporary ones included), before and
after.
"""
from __future__ import annotations

import html
import io
import os
import re
import struct
import zipfile
import zlib
from datetime import date

import pytest
from sqlalchemy import text

from tickets.extensions import db
from tickets.forms_common import new_form_token
from tickets.models import Event, Handling, Ticket
from tickets.services.common import Upload
from tickets.services.errors import InvalidInput, Refused, StaleTicket
from tickets.services.filing import file_ticket
from tickets.validators import credit_check_char, is_valid_credit_code, is_valid_phone

from .conftest import accept, credit_code, file_request, handle

MB = 1024 * 1024
TABLES = ("tickets", "events", "attachments", "clocks", "handlings", "feedbacks", "questions",
          "extension_requests", "transfer_requests")

STALE = "This request was changed by someone else meanwhile."


# --- sample files ---------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def make_png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00\x00\x80\xff"))
            + _chunk(b"IEND", b""))


def make_pdf(size: int | None = None) -> bytes:
    body = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    if size is not None:
        body = body[:-6] + b"%" + b"0" * (size - len(body) - 1) + b"%%EOF\n"
        assert len(body) == size
    return body


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


def make_plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not a Word document")
    return buf.getvalue()


# --- helpers --------------------------------------------------------------------------


def snapshot(app) -> dict:
    """Rows of every table a request writes, and the files in the upload directory."""
    db.session.expire_all()
    # Every table of the schema, so that tables added later (an outbox, say) are covered too.
    tables = [t.name for t in db.metadata.sorted_tables]
    assert set(TABLES) <= set(tables)
    counts = {t: db.session.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in tables}
    counts["ticket_counters.last"] = db.session.execute(
        text("SELECT COALESCE(SUM(last), 0) FROM ticket_counters")).scalar()
    upload_dir = app.config["UPLOAD_DIR"]
    counts["files"] = sorted(os.listdir(upload_dir)) if os.path.isdir(upload_dir) else []
    return counts


def page_text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def field_errors(resp, name: str) -> list[str]:
    """The error messages shown under one form field (the `field` macro of _macros.html)."""
    page = resp.get_data(as_text=True)
    for block in re.findall(r'<div class="field has-error">(.*?)</div>\s*(?=<div class="field|<button)', page, re.S):
        if f'name="{name}"' in block:
            return [html.unescape(m) for m in re.findall(r'<div class="field-error" role="alert">(.*?)</div>',
                                                           block + "</div>", re.S)]
    return []


def alert_texts(resp) -> list[str]:
    """The messages of the errors box (errors_list) and flashed errors."""
    page = resp.get_data(as_text=True)
    out = []
    for box in re.findall(r'<div class="flash flash-error" role="alert">(.*?)</div>\s*</div>', page, re.S):
        out += [html.unescape(m.strip()) for m in re.findall(r"<div>(.*?)</div>", box + "</div>", re.S)]
    return out


@pytest.fixture
def en(park):
    """Every user of the park reads English."""
    for u in (park.firm_user, park.firm_b_user, park.coordinator, park.hr_official, park.hr_head,
              park.inspector, park.admin):
        u.language = "en"
    db.session.commit()
    return park


def request_form(park, **over) -> dict:
    data = dict(category_id=str(park.category("labor").id), title="招工难", description="缺少 30 名操作工",
                urgency="normal", contact_name="王经理", contact_phone="13800138000")
    data.update(over)
    return data


def post_request(client, data: dict, files=()):
    data = dict(data)
    data.setdefault("form_token", new_form_token())  # a form as the page hands it out
    data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/firm/requests/new", data=data, content_type="multipart/form-data")


@pytest.fixture
def firm_client(en, login):
    return login(en.firm_user)


def refused_filing(app, client, data, files=()):
    """POST the request form and check that nothing was written; returns the response."""
    before = snapshot(app)
    resp = post_request(client, data, files)
    assert resp.status_code == 400, resp.status_code
    assert 'lang="en"' in resp.get_data(as_text=True)
    assert snapshot(app) == before
    return resp


# --- the firm's request form -----------------------------------------------------------


@pytest.mark.parametrize("title", ["", "   "])
def test_empty_title(app, en, firm_client, title):
    resp = refused_filing(app, firm_client, request_form(en, title=title))
    assert field_errors(resp, "title") == ["This field is required."]


def test_title_of_201_characters_refused_200_accepted(app, en, firm_client):
    resp = refused_filing(app, firm_client, request_form(en, title="题" * 201))
    assert field_errors(resp, "title") == ["Field cannot be longer than 200 characters."]
    # The form keeps what was typed.
    assert "题" * 201 in page_text(resp)

    resp = post_request(firm_client, request_form(en, title="题" * 200))
    assert resp.status_code == 302
    assert db.session.scalar(db.select(Ticket.title)) == "题" * 200


def test_title_limit_in_the_service(app, en):
    before = snapshot(app)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(InvalidInput) as exc:
            file_request(en, title="x" * 201)
        assert str(exc.value.errors["title"]) == "Title may have at most 200 characters."
        with pytest.raises(InvalidInput) as exc:
            file_request(en, title="  ")
        assert str(exc.value.errors["title"]) == "Title is required."
        assert exc.value.status == 400
    assert snapshot(app) == before


def test_description_of_10001_characters_refused_10000_accepted(app, en, firm_client):
    resp = refused_filing(app, firm_client, request_form(en, description="缺" * 10_001))
    assert field_errors(resp, "description") == ["Field cannot be longer than 10000 characters."]

    resp = post_request(firm_client, request_form(en, description="缺" * 10_000))
    assert resp.status_code == 302
    assert len(db.session.scalar(db.select(Ticket.description))) == 10_000


def test_description_limit_in_the_service(app, en):
    before = snapshot(app)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(InvalidInput) as exc:
            file_request(en, description="d" * 10_001)
        assert str(exc.value.errors["description"]) == "Description may have at most 10000 characters."
    assert snapshot(app) == before


@pytest.mark.parametrize("phone", ["12345", "abc", "1380013800", "138001380000", "+1 555 0100"])
def test_malformed_phone(app, en, firm_client, phone):
    resp = refused_filing(app, firm_client, request_form(en, contact_phone=phone))
    assert alert_texts(resp) == ["Please enter a valid mobile or landline number."]


def test_phone_rule():
    for good in ("13800138000", "+86 13800138000", "0571-88888888", "057188888888", "88888888",
                 "0571-8888888-123"):
        assert is_valid_phone(good), good
    for bad in ("12345", "abc", "", "1380013800", "12800138000", "0571-1888888"):
        assert not is_valid_phone(bad), bad


def test_wrong_credit_code_check_character():
    # The rule itself (the admin firm form is checked below; the XLSX import in test_admin.py).
    good = credit_code(7)
    assert is_valid_credit_code(good)
    assert is_valid_credit_code(good.lower())  # entered in lower case
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert not is_valid_credit_code(wrong)
    # Every other check character is wrong.
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert [c for c in alphabet if is_valid_credit_code(good[:17] + c)] == [good[17]]
    # The example code of GB 32100-2015, its check character changed, and malformed ones.
    assert is_valid_credit_code("91350100M000100Y43")
    assert not is_valid_credit_code("91350100M000100Y44")
    assert credit_check_char("91350100M000100Y4") == "3"
    for bad in ("", good[:17], good + "0", good[:16] + "I" + good[17], good[:5] + "O" + good[6:]):
        assert not is_valid_credit_code(bad), bad


def test_wrong_credit_code_on_the_admin_firm_form(app, en, login):
    client = login(en.admin)
    good = credit_code(77)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    firms = lambda: db.session.execute(text("SELECT COUNT(*) FROM firms")).scalar()  # noqa: E731
    n = firms()
    before = snapshot(app)
    resp = client.post("/admin/firms/new", data={"name": "丙公司", "credit_code": wrong, "address": "",
                                                  "contact_name": "", "contact_phone": "", "liaison_id": ""})
    assert resp.status_code == 400
    assert field_errors(resp, "credit_code") == [
        "The check character (the 18th character) of the unified social credit code is wrong: "
        "please check the code."
    ]
    assert firms() == n and snapshot(app) == before
    resp = client.post("/admin/firms/new", data={"name": "丙公司", "credit_code": good, "address": "",
                                                  "contact_name": "", "contact_phone": "", "liaison_id": ""})
    assert resp.status_code == 302
    assert firms() == n + 1


@pytest.mark.parametrize("category", ["99999", "abc", "-1", "1.5", "99999999999999999999", "²"])
def test_unknown_category(app, en, firm_client, category):
    resp = refused_filing(app, firm_client, request_form(en, category_id=category))
    assert alert_texts(resp) == ["Please choose a category from the list."]


@pytest.mark.parametrize("lead, dept, field, message", [
    ("99999999999999999999", None, "lead_id", "Please choose an official of that department."),
    ("²", None, "lead_id", "Please choose an official of that department."),
    (None, "99999999999999999999", "department_id", "Please choose a department."),
    (None, "abc", "department_id", "Please choose a department."),
])
def test_unknown_ids_in_an_action(app, en, login, clock, lead, dept, field, message):
    clock(2026, 11, 2, 9)
    t = file_request(en)
    client = login(en.coordinator)
    data = accept_data(en)
    if lead:
        data["accept-lead_id"] = lead
    if dept:
        data["accept-department_id"] = dept
    before = snapshot(app)
    resp = client.post(f"/tickets/{t.number}/do/accept", data=data)
    assert resp.status_code == 400
    assert alert_texts(resp) == [message]
    assert snapshot(app) == before


def test_out_of_range_ids_in_list_parameters(app, en, login):
    """Ids and cursors in a query string that the database cannot hold are ignored, not a server error."""
    client = login(en.firm_user)
    for q in ("before=99999999999999999999", "before=abc", "before=-5"):
        assert client.get(f"/firm/requests?{q}").status_code == 200, q
    client = login(en.coordinator)
    for q in ("category=99999999999999999999", "category=²", "department=99999999999999999999",
              "after=2026-11-02T09:00:00_99999999999999999999", "after=x_1", "after=2026-11-02T09:00:00_²"):
        assert client.get(f"/desk/tickets?scope=all&{q}").status_code == 200, q


def test_missing_category(app, en, firm_client):
    resp = refused_filing(app, firm_client, request_form(en, category_id=""))
    assert field_errors(resp, "category_id") == ["This field is required."]


def test_inactive_category_in_the_service(app, en):
    cat = en.category("other")
    cat.active = False
    db.session.commit()
    before = snapshot(app)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(InvalidInput) as exc:
            file_request(en, category_id=cat.id)
        assert str(exc.value.errors["category_id"]) == "Please choose a category from the list."
    assert snapshot(app) == before


def test_oversized_attachment(app, en, firm_client):
    resp = refused_filing(app, firm_client, request_form(en), files=[("big.pdf", make_pdf(10 * MB + 1))])
    assert alert_texts(resp) == ["“big.pdf” is larger than the limit of 10 MB."]


def test_attachment_of_exactly_10_mb_accepted(app, en, firm_client):
    resp = post_request(firm_client, request_form(en), files=[("exact.pdf", make_pdf(10 * MB))])
    assert resp.status_code == 302
    assert len(snapshot(app)["files"]) == 1


@pytest.mark.parametrize(
    "name, content",
    [
        ("invoice.pdf", HTML),  # HTML renamed .pdf
        ("report.docx", make_plain_zip()),  # a plain zip renamed .docx
        ("logo.svg", SVG),  # SVG
        ("photo.png", SVG),  # SVG renamed .png
    ],
)
def test_disguised_attachment(app, en, firm_client, name, content):
    resp = refused_filing(app, firm_client, request_form(en), files=[("ok.png", make_png()), (name, content)])
    assert alert_texts(resp) == [
        f"“{name}” is not an accepted file type. Accepted: PDF, PNG, JPEG, Word, Excel, PowerPoint "
        "(.docx, .xlsx, .pptx)."
    ]


def test_more_than_five_attachments(app, en, firm_client):
    files = [(f"p{i}.png", make_png()) for i in range(6)]
    resp = refused_filing(app, firm_client, request_form(en), files=files)
    assert alert_texts(resp) == ["At most 5 attachments."]
    # Five are fine.
    resp = post_request(firm_client, request_form(en), files=files[:5])
    assert resp.status_code == 302
    assert len(snapshot(app)["files"]) == 5


def test_several_mistakes_are_all_reported(app, en, firm_client):
    resp = refused_filing(app, firm_client, request_form(en, category_id="99999", contact_phone="abc"),
                          files=[("x.pdf", HTML)])
    assert set(alert_texts(resp)) == {
        "Please choose a category from the list.",
        "Please enter a valid mobile or landline number.",
        "“x.pdf” is not an accepted file type. Accepted: PDF, PNG, JPEG, Word, Excel, PowerPoint "
        "(.docx, .xlsx, .pptx).",
    }


def test_files_of_a_failed_commit_are_removed(app, en, monkeypatch):
    """A failure after the files were written leaves neither rows nor files behind."""
    from tickets.services import filing

    def boom(*a, **k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(filing, "start_clock", boom)
    before = snapshot(app)
    with pytest.raises(RuntimeError):
        file_request(en, uploads=[Upload("a.png", make_png()), Upload("b.pdf", make_pdf())])
    assert snapshot(app) == before


# --- ticket actions: posted twice, stale forms ----------------------------------------------


def version_of(resp, action: str) -> str:
    m = re.search(rf'name="{action}-version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="{action}-version"',
                  resp.get_data(as_text=True))
    assert m, f"no {action}-version field"
    return m.group(1) or m.group(2)


def accept_data(park, version=None) -> dict:
    data = {"accept-lead_id": str(park.hr_official.id), "accept-department_id": str(park.hr_official.department_id),
            "accept-note": ""}
    if version is not None:
        data["accept-version"] = version
    return data


def count_events(ticket_id: int, action: str) -> int:
    return db.session.scalar(db.select(db.func.count(Event.id)).filter_by(ticket_id=ticket_id, action=action))


def test_accept_posted_twice(app, en, login, clock):
    clock(2026, 11, 2, 9)
    t = file_request(en)
    client = login(en.coordinator)
    form_version = version_of(client.get(f"/tickets/{t.number}"), "accept")
    # The same form submitted twice (a double click, a resent POST).
    resp = client.post(f"/tickets/{t.number}/do/accept", data=accept_data(en, form_version))
    assert resp.status_code == 302
    before = snapshot(app)
    resp = client.post(f"/tickets/{t.number}/do/accept", data=accept_data(en, form_version))
    assert resp.status_code == 409
    assert any(m.startswith(STALE) for m in alert_texts(resp))
    assert snapshot(app) == before
    assert count_events(t.id, "accept") == 1


def test_accept_posted_twice_without_a_version(app, en, login, clock):
    clock(2026, 11, 2, 9)
    t = file_request(en)
    client = login(en.coordinator)
    assert client.post(f"/tickets/{t.number}/do/accept", data=accept_data(en)).status_code == 302
    before = snapshot(app)
    resp = client.post(f"/tickets/{t.number}/do/accept", data=accept_data(en))
    assert resp.status_code == 403
    assert alert_texts(resp) == ["This cannot be done while the request is “In progress”."]
    assert snapshot(app) == before
    assert count_events(t.id, "accept") == 1


@pytest.mark.parametrize("version", ["abc", "1.0", "-1", "99999999999999999999999"])
def test_damaged_version_field(app, en, login, clock, version):
    """A tampered hidden version field is an out-of-date form (409), not a server error."""
    clock(2026, 11, 2, 9)
    t = file_request(en)
    client = login(en.coordinator)
    before = snapshot(app)
    resp = client.post(f"/tickets/{t.number}/do/accept", data=accept_data(en, version))
    assert resp.status_code == 409
    assert any(m.startswith(STALE) for m in alert_texts(resp))
    assert snapshot(app) == before
    assert db.session.get(Ticket, t.id).state == "submitted"


def test_feedback_posted_twice(app, en, login, clock):
    clock(2026, 11, 2, 9)
    t = file_request(en)
    accept(en, t)
    clock(2026, 11, 3, 9)
    handle(en, t)
    client = login(en.firm_user)
    version = version_of(client.get(f"/tickets/{t.number}"), "feedback")
    data = {"feedback-solved": "yes", "feedback-rating": "satisfied", "feedback-comment": "谢谢",
            "feedback-version": version}
    assert client.post(f"/tickets/{t.number}/do/feedback", data=data).status_code == 302
    before = snapshot(app)
    resp = client.post(f"/tickets/{t.number}/do/feedback", data=data)
    assert resp.status_code == 409
    assert any(m.startswith(STALE) for m in alert_texts(resp))
    assert snapshot(app) == before
    assert count_events(t.id, "feedback") == 1
    data.pop("feedback-version")
    resp = client.post(f"/tickets/{t.number}/do/feedback", data=data)
    assert resp.status_code == 403
    assert alert_texts(resp) == ["This cannot be done while the request is “Completed”."]
    assert snapshot(app) == before


def handle_data(version, **over) -> dict:
    data = {"handle-outcome": "resolved", "handle-what_was_done": "推荐了 30 名工人", "handle-explanation": "",
            "handle-contact_method": "phone", "handle-contacted_on": "2026-11-03", "handle-version": version}
    data.update(over)
    return data


def test_stale_handle_form(app, en, login, clock):
    clock(2026, 11, 2, 9)
    t = file_request(en)
    accept(en, t)
    clock(2026, 11, 3, 9)
    client = login(en.hr_official)
    old_version = version_of(client.get(f"/tickets/{t.number}"), "handle")
    assert int(old_version) == t.version

    # Meanwhile the coordinator changes the ticket.
    from tickets.services.actions import perform

    perform(t, "note", en.coordinator, text="企业已另行招到 10 人", visibility="internal")
    assert t.version != int(old_version)

    before = snapshot(app)
    data = handle_data(old_version)
    data["handle-attachments"] = [(io.BytesIO(make_png()), "done.png")]
    resp = client.post(f"/tickets/{t.number}/do/handle", data=data, content_type="multipart/form-data")
    assert resp.status_code == 409
    assert alert_texts(resp) == [
        "This request was changed by someone else meanwhile. The page now shows its current state; "
        "please check and try again."
    ]
    # The page shows the current state, the change made meanwhile included, with a fresh form.
    assert "企业已另行招到 10 人" in page_text(resp)
    assert version_of(resp, "handle") == str(t.version)
    assert snapshot(app) == before
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).state == "accepted"
    assert db.session.scalar(db.select(db.func.count(Handling.id))) == 0

    # With the fresh version it goes through.
    resp = client.post(f"/tickets/{t.number}/do/handle", data=handle_data(str(t.version)))
    assert resp.status_code == 302
    assert db.session.get(Ticket, t.id).state == "handled"


def test_stale_version_in_the_service(app, en, clock):
    from tickets.services.actions import perform

    clock(2026, 11, 2, 9)
    t = file_request(en)
    old = t.version
    perform(t, "note", en.coordinator, text="先看看", visibility="internal")
    before = snapshot(app)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(StaleTicket) as exc:
            perform(t, "accept", en.coordinator, old, lead_id=en.hr_official.id,
                    department_id=en.hr_official.department_id)
        assert exc.value.status == 409
        assert str(exc.value.message).startswith(STALE)
    assert snapshot(app) == before
    assert t.state == "submitted"


def test_handle_with_bad_input_writes_nothing(app, en, login, clock):
    clock(2026, 11, 2, 9)
    t = file_request(en)
    accept(en, t)
    clock(2026, 11, 3, 9)
    client = login(en.hr_official)
    version = version_of(client.get(f"/tickets/{t.number}"), "handle")
    cases = [
        # (fields, files, message)
        ({"handle-outcome": "unresolved"}, [], "Explanation is required."),
        ({"handle-contacted_on": "2026-11-04"}, [],
         "Please give the date the firm was contacted (not in the future)."),
        ({}, [("scan.pdf", HTML)],
         "“scan.pdf” is not an accepted file type. Accepted: PDF, PNG, JPEG, Word, Excel, PowerPoint "
         "(.docx, .xlsx, .pptx)."),
        ({}, [("big.pdf", make_pdf(10 * MB + 1))], "“big.pdf” is larger than the limit of 10 MB."),
        ({}, [(f"p{i}.png", make_png()) for i in range(6)], "At most 5 attachments."),
    ]
    for fields, files, message in cases:
        before = snapshot(app)
        data = handle_data(version, **fields)
        data["handle-attachments"] = [(io.BytesIO(c), n) for n, c in files]
        resp = client.post(f"/tickets/{t.number}/do/handle", data=data, content_type="multipart/form-data")
        assert resp.status_code == 400, (fields, resp.status_code)
        assert alert_texts(resp) == [message], fields
        assert snapshot(app) == before
    assert db.session.get(Ticket, t.id).state == "accepted"


def test_action_not_allowed_for_this_user(app, en, login, clock):
    clock(2026, 11, 2, 9)
    t = file_request(en)
    accept(en, t)
    client = login(en.hr_other)  # same department, not the lead, not the head
    en.hr_other.language = "en"
    db.session.commit()
    before = snapshot(app)
    resp = client.post(f"/tickets/{t.number}/do/handle", data=handle_data(str(t.version)))
    assert resp.status_code == 403
    assert alert_texts(resp) == ["You may not do this on this request."]
    assert snapshot(app) == before


def test_refused_service_calls_write_nothing(app, en, clock):
    from tickets.services.actions import perform

    clock(2026, 11, 2, 9)
    t = file_request(en)
    before = snapshot(app)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(Refused):
            perform(t, "handle", en.hr_official, outcome="resolved", what_was_done="x", explanation="",
                    contact_method="phone", contacted_on=date(2026, 11, 2))
        with pytest.raises(Refused) as exc:
            file_ticket(en.firm_user, firm_id=en.firm_b.id, category_id=en.category("labor").id, title="t",
                        description="d", contact_name="n", contact_phone="13800138000")
        assert str(exc.value.message) == "You may only file requests for your own firm."
    assert snapshot(app) == before


# --- the same messages in Chinese ------------------------------------------------------------


def test_messages_in_chinese(app, park, login, clock):
    """A user whose language is Chinese gets the messages in Chinese (park users default to zh)."""
    assert park.firm_user.language == "zh" and park.hr_official.language == "zh"
    client = login(park.firm_user)

    resp = refused_filing_zh(app, client, request_form(park, contact_phone="abc"))
    assert alert_texts(resp) == ["请输入有效的手机号码或固定电话号码。"]
    resp = refused_filing_zh(app, client, request_form(park, title="题" * 201))
    assert field_errors(resp, "title") == ["字段长度不能超过 200 个字符。"]
    resp = refused_filing_zh(app, client, request_form(park, category_id="99999"))
    assert alert_texts(resp) == ["请从列表中选择诉求类别。"]
    resp = refused_filing_zh(app, client, request_form(park), files=[("invoice.pdf", HTML)])
    assert alert_texts(resp) == [
        "“invoice.pdf”的文件类型不受支持。支持的类型：PDF、PNG、JPEG、Word、Excel、PowerPoint（.docx、.xlsx、.pptx）。"
    ]

    clock(2026, 11, 2, 9)
    t = file_request(park)
    accept(park, t)
    clock(2026, 11, 3, 9)
    client = login(park.hr_official)
    old_version = version_of(client.get(f"/tickets/{t.number}"), "handle")
    from tickets.services.actions import perform

    perform(t, "note", park.coordinator, text="补充情况", visibility="internal")
    before = snapshot(app)
    resp = client.post(f"/tickets/{t.number}/do/handle", data=handle_data(old_version))
    assert resp.status_code == 409
    assert alert_texts(resp) == ["该诉求已被他人修改。页面现已显示其最新状态，请核对后重试。"]
    assert snapshot(app) == before


def refused_filing_zh(app, client, data, files=()):
    before = snapshot(app)
    resp = post_request(client, data, files)
    assert resp.status_code == 400
    assert 'lang="zh-CN"' in resp.get_data(as_text=True)
    assert snapshot(app) == before
    return resp
