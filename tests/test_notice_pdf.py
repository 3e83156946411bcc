"""The supervision notice as a government office files it: printed to PDF by Chromium (A4) and read back.

The notice of an overdue request, issued by the inspector, opened by the inspector in Chinese and
in English in a real browser, printed with page.pdf: one A4 page that names the issuing body, the
document number 〔2026〕1号 beside the system number, the addressee (主送), the matter, the reason, the
deadline written as a date (2026年11月26日), how to report back, a contact and the seal area.
"""
from __future__ import annotations

import io
import re
import unicodedata

import pytest
from pypdf import PdfReader

from tickets.extensions import db
from tickets.models import Ticket, User
from tickets.services.actions import perform

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    ARTIFACTS, artifacts, browser, live_server, translator)
from .test_e2e_loop import new_page, sign_in
from .test_e2e_notice import overdue_ticket

A4 = (595, 842)  # 210 x 297 mm in points (1/72 inch), portrait; Chromium rounds to whole pixels


def issue(server, number: str, reason: str, language: str) -> None:
    with server.app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        inspector = users[server.users["inspector"]]
        inspector.mobile, inspector.language = "13900001111", language
        ticket = db.session.scalar(db.select(Ticket).filter_by(number=number))
        perform(ticket, "issue_notice", inspector, reason=reason)
        db.session.remove()


def norm(text: str) -> str:
    """Text as compared here: NFKC (the CJK font maps some characters to their radicals, ⼯ for 工;
    full-width colons become ":"), without white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def pdf_text(page) -> tuple[int, tuple[int, int], str]:
    pdf = page.pdf(format="A4", print_background=True)
    (ARTIFACTS / "notice-print.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    text = norm("".join(p.extract_text() for p in reader.pages))
    return len(reader.pages), (round(float(box.width)), round(float(box.height))), text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_notice_prints_as_one_a4_page_with_every_part(browser, live_server, artifacts, language):  # noqa: F811
    t = translator(language)
    number = overdue_ticket(live_server)
    reason = "该诉求已超过办理期限3个工作日，承办人未说明原因。"
    issue(live_server, number, reason, language)
    page = new_page(browser, live_server, f"notice-pdf-{language}", locale="zh-CN" if language == "zh" else "en-US")
    sign_in(page, live_server, "inspector", t)
    page.goto("/notices/DB-2026-0001/print")
    page.screenshot(path=str(artifacts / f"notice-print-{language}.png"), full_page=True)
    pages, size, text = pdf_text(page)

    assert pages == 1
    assert abs(size[0] - A4[0]) <= 2 and abs(size[1] - A4[1]) <= 2
    assert "××园区纪工委" in text                      # the issuing body (NOTICE_ISSUER)
    assert "〔2026〕1号" in text and "DB-2026-0001" in text  # the document number beside the system number
    assert norm(t("Addressed to")) in text    # 主送 once the catalog has it
    with live_server.app.app_context():
        official = db.session.scalar(db.select(User).filter_by(username=live_server.users["hr_official"]))
        department = official.department.name(language)
    assert norm(official.name) in text and norm(department) in text
    assert number in text and norm("招工难：急需焊工") in text and norm(reason) in text
    # Issued today (Tue 24 Nov 2026); the explanation is due in 2 working days, by 24:00 on Thu 26 Nov.
    if language == "zh":
        assert "2026年11月24日" in text and "2026年11月26日" in text
    else:
        assert "24November2026" in text and "26November2026" in text
    assert "13900001111" in text                         # the contact: the issuing inspector's mobile
    for words in ("How to report back", "Contact", "(seal)", "Issued by (signature)", "Received by (signature)"):
        assert norm(t(words)) in text, words


def test_document_number_and_written_dates():
    from datetime import date

    from tickets.models import SupervisionNotice
    from tickets.services.notice_document import document_number, written_date

    assert document_number(SupervisionNotice(number="DB-2026-0007")) == "〔2026〕7号"
    assert document_number(SupervisionNotice(number="DB-2027-0120"), "园纪督") == "园纪督〔2027〕120号"
    assert written_date(date(2026, 11, 4), "zh") == "2026年11月4日"
    assert written_date(date(2026, 11, 4), "en") == "4 November 2026"
