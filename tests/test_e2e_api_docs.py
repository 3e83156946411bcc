"""A new integrator's first quarter of an hour, in Chromium: make a token on the profile page, open the
API's documentation page (Swagger UI, served by the app itself under its CSP), authorize with the token,
file a request and read it back with "Try it out"."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tickets.extensions import db
from tickets.models import Ticket

from .conftest_browser import artifacts, browser, live_server, translator  # noqa: F401  (fixtures)
from .test_e2e_loop import WIDE, new_page, sign_in

zh = translator("zh")
CSP_WORDS = ("Content Security Policy", "Content-Security-Policy", "Refused to")


def test_an_integrator_tries_the_api_from_its_documentation_page(browser, live_server):
    page = new_page(browser, live_server, "firm", viewport=WIDE)
    console = []
    page.on("console", lambda m: console.append(m.text))
    sign_in(page, live_server, "firm_user", zh)
    page.get_by_test_id("api-tokens-link").click()
    page.get_by_label(zh("Name (what the token is for)")).fill("ERP 对接")
    page.get_by_label(zh("May also make changes (file requests, take actions); otherwise read only")).check()
    page.get_by_role("button", name=zh("Make a token")).click()
    token = page.get_by_test_id("new-token-value").inner_text().strip()
    assert re.fullmatch(r"bh_[A-Za-z0-9_-]{43}", token)

    page.get_by_test_id("api-docs-link").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Bihuan API")
    page.locator(".btn.authorize").first.click()
    page.locator(".auth-container input").fill(token)
    page.locator(".auth-btn-wrapper .btn.modal-btn.auth.authorize").click()
    page.locator(".auth-btn-wrapper .btn-done").click()

    create = page.locator("#operations-tickets-create_ticket_post")
    create.locator(".opblock-summary").click()
    body = {"category": "labor", "title": "从文档页提交", "description": "缺少 12 名焊工", "contact_name": "王经理",
            "contact_phone": "13800138000"}
    create.locator("textarea.body-param__text").fill(json.dumps(body, ensure_ascii=False))
    create.locator(".btn.execute").click()
    expect(create.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("201")
    with live_server.app.app_context():
        number = db.session.scalar(db.select(Ticket.number).filter_by(title="从文档页提交"))
    assert number

    read = page.locator("#operations-tickets-get_ticket")
    read.locator(".opblock-summary").click()
    read.locator("input[placeholder='number']").fill(number)
    read.locator(".btn.execute").click()
    expect(read.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    expect(read.locator(".live-responses-table tr.response .response-col_description")).to_contain_text("待受理")

    assert not [m for m in console if any(w in m for w in CSP_WORDS)], console
    assert live_server.page_problems == [] and live_server.errors == []
