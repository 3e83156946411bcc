"""A supervision notice in a real browser (Chromium through Playwright), every step through the UI.

A request was accepted a month ago and is long overdue. The inspector finds it in the list of
all tickets filtered to "Overdue", issues a supervision notice on its page, the lead official
answers it on the same page, the inspector concludes it; the firm's page shows none of it and
the ticket's state never changes. One browser context per person; CSRF is on.
"""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tickets.extensions import db
from tickets.models import User
from tickets.services.actions import perform
from tickets.services.filing import file_ticket
from tickets.timeutil import clock_offset, now, set_now, set_offset

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, live_server, translator)
from .test_e2e_loop import TIMEOUT, action_form, new_page, sign_in, submit_and_check

zh = translator("zh")


def overdue_ticket(server) -> str:
    """A labor request filed and accepted 30 days ago (5 working days: long overdue); its number."""
    with server.app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        firm_user = users[server.users["firm_user"]]
        official = users[server.users["hr_official"]]
        running = clock_offset()  # the live server's running clock, put back after
        set_now(now() - timedelta(days=30))
        try:
            t = file_ticket(firm_user, firm_id=firm_user.firm_id, category_id=server.ids["labor"],
                            title="招工难：急需焊工", description="缺少 10 名焊工，产线停了一半。", urgency="urgent",
                            contact_name="王经理", contact_phone="13800138000")
            perform(t, "accept", users[server.users["coordinator"]], lead_id=official.id,
                    department_id=official.department_id)
            number = t.number
        finally:
            set_offset(running)
        db.session.remove()
    return number


def status_of_notice(page):
    return page.locator("[data-testid=notices] [data-testid=notice-status]")


def test_notice_in_a_real_browser(browser, live_server, artifacts):  # noqa: F811
    expect.set_options(timeout=TIMEOUT)
    try:
        run(browser, live_server, artifacts)
    except BaseException:
        for name, page in live_server.pages.items():
            try:
                page.screenshot(path=str(artifacts / f"failure-notice-{name}.png"), full_page=True)
                (artifacts / f"failure-notice-{name}.html").write_text(page.content(), encoding="utf-8")
            except Exception:  # noqa: BLE001  (the original failure matters more)
                pass
        raise


def run(browser, server, artifacts) -> None:
    number = overdue_ticket(server)

    # 1. The inspector finds it among all tickets, filtered to the overdue ones.
    inspector = new_page(browser, server, "inspector")
    sign_in(inspector, server, "inspector", zh)
    inspector.get_by_role("link", name=zh("Tickets"), exact=True).click()
    inspector.get_by_role("link", name=zh("All tickets"), exact=True).click()
    inspector.get_by_label(zh("Warning"), exact=True).select_option("red")
    inspector.get_by_role("button", name=zh("Filter"), exact=True).click()
    expect(inspector).to_have_url(re.compile(r"level=red"))
    row = inspector.locator(f"[data-testid=queue] tr[data-number='{number}']")
    expect(row.locator(".level[data-level^=red]")).to_be_visible()
    row.get_by_role("link", name=number).click()
    expect(inspector.get_by_test_id("ticket-number")).to_have_text(number)
    expect(inspector.locator(".state[data-state=accepted]")).to_be_visible()
    expect(inspector.get_by_test_id("notices")).to_have_count(0)

    # 2. ...and issues a supervision notice.
    form = action_form(inspector, "issue_notice")
    form.get_by_label(zh("Reason for the supervision notice (staff only, never the firm)"), exact=True).fill(
        "超期 20 个工作日未办结，请书面说明原因。")
    submit_and_check(inspector, form, status_of_notice(inspector))
    expect(status_of_notice(inspector)).to_have_attribute("data-status", "issued")
    notice = inspector.locator("[data-testid=notices] tr[data-notice]").get_attribute("data-notice")
    assert re.fullmatch(r"DB-\d{4}-0001", notice), notice
    expect(inspector.locator(".state[data-state=accepted]")).to_be_visible()
    inspector.screenshot(path=str(artifacts / "notice-1-issued-zh.png"), full_page=True)

    # 3. The lead official finds it in their queue and answers it on the ticket page.
    official = new_page(browser, server, "official")
    sign_in(official, server, "hr_official", zh)
    official.goto("/desk/tickets?scope=mine")
    official.locator(f"[data-testid=queue] tr[data-number='{number}']").get_by_role("link", name=number).click()
    expect(status_of_notice(official)).to_have_attribute("data-status", "issued")
    form = action_form(official, "explain_notice")
    expect(form.get_by_label(zh("Supervision notice"), exact=True)).to_contain_text(notice)
    form.get_by_label(zh("Your written explanation"), exact=True).fill("劳务对接延误，已于本周补齐 10 名焊工。")
    submit_and_check(official, form, official.locator("[data-testid=notices] [data-status=explained]"))
    expect(official.locator("details[data-action=explain_notice]")).to_have_count(0)
    expect(official.locator(".state[data-state=accepted]")).to_be_visible()

    # 4. The inspector concludes it: explanation accepted, with a comment.
    inspector.reload()
    expect(status_of_notice(inspector)).to_have_attribute("data-status", "explained")
    form = action_form(inspector, "conclude_notice")
    form.get_by_label(zh("Explanation accepted"), exact=True).check()
    form.get_by_label(zh("Comment"), exact=True).fill("说明属实，予以认可。")
    submit_and_check(inspector, form, inspector.locator("[data-testid=notices] [data-status=concluded]"))
    expect(inspector.locator(".state[data-state=accepted]")).to_be_visible()
    for action in ("issue_notice", "explain_notice", "conclude_notice"):
        expect(inspector.locator(f"[data-testid=timeline] li.vis-internal[data-action={action}]")).to_have_count(1)

    # The notice's page and its print layout show the whole of it.
    inspector.get_by_test_id("notices").get_by_role("link", name=notice).click()
    expect(inspector.get_by_test_id("notice-number")).to_have_text(notice)
    expect(inspector.get_by_test_id("notice-status")).to_have_attribute("data-status", "concluded")
    expect(inspector.get_by_test_id("notice-explanation")).to_contain_text("已于本周补齐 10 名焊工")
    inspector.get_by_test_id("print-link").click()
    expect(inspector.get_by_test_id("print-title")).to_have_text("督办通知")
    expect(inspector.get_by_test_id("notice-number")).to_have_text(notice)
    inspector.screenshot(path=str(artifacts / "notice-2-print-zh.png"), full_page=True)
    inspector.goto("/notices/?status=concluded")
    expect(inspector.locator(f"[data-testid=notice-list] tr[data-notice='{notice}'] [data-status=concluded]")
           ).to_be_visible()

    # 5. The firm sees its request as before: no notice, no trace of one.
    firm = new_page(browser, server, "firm")
    sign_in(firm, server, "firm_user", zh)
    firm.goto(f"/tickets/{number}")
    expect(firm.get_by_test_id("ticket-number")).to_have_text(number)
    expect(firm.locator(".state[data-state=accepted]")).to_be_visible()
    expect(firm.get_by_test_id("notices")).to_have_count(0)
    expect(firm.locator("[data-testid=timeline] li[data-action$=_notice]")).to_have_count(0)
    assert notice not in firm.content()
    assert firm.goto(f"/notices/{notice}").status == 404

    assert not server.page_problems, server.page_problems
    assert not server.errors, server.errors
