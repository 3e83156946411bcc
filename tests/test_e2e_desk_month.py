"""The inspector writes a month's figures from the desk, in a real browser (Chromium through Playwright).

Set up at the live server's known moment (Tuesday 24 November 2026): six labor requests accepted
in HR and never handled, all overdue now: one accepted in September (due in September), five on
Monday 2 November (due Monday 9 November 24:00: 10 whole working days
overdue at 07:30 on the 24th, 10.3 in fact); and five rejected requests, two in October and
three in November. The inspector opens the desk at 1366 px, in Chinese and in English, gives
November as the period and reads 5 overdue and, on the rejected tab, 3; the bars by department
say 5 for HR; the period stays in the URL from tab to tab. The rates page of November (the five
HR rounds due in it make HR's row shown) fits the width: no horizontal scroll, of the page or
of any of its tables.
"""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tickets.extensions import db
from tickets.models import User
from tickets.services.actions import perform
from tickets.services.filing import file_ticket
from tickets.timeutil import clock_offset, from_local, set_now, set_offset

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, live_server, translator)
from .test_e2e_loop import PHONE, TIMEOUT, WIDE, new_page, sign_in

NARROW = {"width": 760, "height": 900}


def set_up(server) -> None:
    with server.app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        firm_user, official = users[server.users["firm_user"]], users[server.users["hr_official"]]
        coordinator = users[server.users["coordinator"]]
        running = clock_offset()  # the live server's running clock, put back after

        def filed(title):
            return file_ticket(firm_user, firm_id=firm_user.firm_id, category_id=server.ids["labor"],
                               title=title, description="缺少焊工。", urgency="normal",
                               contact_name="王经理", contact_phone="13800138000")

        try:
            for when, n, then in ((datetime(2026, 9, 14, 9), 1, "accept"), (datetime(2026, 11, 2, 9), 5, "accept"),
                                  (datetime(2026, 10, 13, 9), 2, "reject"), (datetime(2026, 11, 10, 9), 3, "reject")):
                set_now(from_local(when))
                for i in range(n):
                    t = filed(f"招工难 {when:%m%d} {i}")
                    if then == "accept":
                        perform(t, "accept", coordinator, lead_id=official.id, department_id=official.department_id)
                    else:
                        perform(t, "reject", coordinator, reason="不属于园区职责范围")
        finally:
            set_offset(running)
        db.session.remove()


def tab_count(page, tab: str) -> str:
    return page.get_by_test_id(f"tab-{tab}").get_attribute("data-count")


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366", "390"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_inspector_reads_a_month_from_the_desk(browser, live_server, artifacts, lang, viewport):  # noqa: F811
    expect.set_options(timeout=TIMEOUT)
    t = translator(lang)
    set_up(live_server)
    width = viewport["width"]
    page = new_page(browser, live_server, f"inspector-{lang}-{width}", viewport=viewport,
                    locale="zh-CN" if lang == "zh" else "en-US")
    try:
        # The sign-in page follows the browser's language; after it, the user's stored one (zh) holds.
        sign_in(page, live_server, "inspector", t)
        want = "zh-CN" if lang == "zh" else "en"
        if page.locator("html").get_attribute("lang") != want:
            page.get_by_test_id("language").click()
        expect(page.locator("html")).to_have_attribute("lang", want)
        page.locator("[data-nav='inspect.desk']").click()
        assert tab_count(page, "overdue") == "6" and tab_count(page, "rejected") == "5"

        filters = page.get_by_test_id("filters")
        filters.get_by_label(t("First day"), exact=True).fill("2026-11-01")
        filters.get_by_label(t("Last day"), exact=True).fill("2026-11-30")
        filters.get_by_role("button", name=t("Filter")).click()
        expect(page.get_by_test_id("period")).to_contain_text("2026-11-01")
        assert tab_count(page, "overdue") == "5" and tab_count(page, "rejected") == "3"
        expect(page.get_by_test_id("count")).to_have_text("5")
        bar = page.locator("[data-testid=bars-overdue] rect")
        expect(bar).to_have_count(1)
        assert bar.get_attribute("data-value") == "5"
        assert page.get_by_test_id("desk-list").locator("[data-testid=days-overdue]").first.inner_text() == "10"

        page.get_by_test_id("tab-rejected").click()
        expect(page).to_have_url(re.compile(r"tab=rejected.*from=2026-11-01|from=2026-11-01.*tab=rejected"))
        expect(page.get_by_test_id("count")).to_have_text("3")
        expect(page.locator("[data-testid=desk-list] tbody tr")).to_have_count(3)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        page.screenshot(path=str(artifacts / f"desk-month-{lang}-{width}.png"), full_page=True)
        if viewport is WIDE:  # the layout of a desktop window
            # A narrower window squeezes the columns, never to a name or category one character wide.
            page.set_viewport_size(NARROW)
            page.get_by_test_id("tab-overdue").click()
            expect(page.locator("[data-testid=desk-list] tbody tr")).to_have_count(5)
            narrowest = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
                '[data-testid=desk-list] tbody td')].map(td => td.getBoundingClientRect().width /
                parseFloat(getComputedStyle(td).fontSize)))""")
            assert narrowest >= 4.5, f"a column is {narrowest:.1f} characters wide"
            page.set_viewport_size(WIDE)

            page.locator("[data-nav='rates.dashboard']").click()
            expect(page.get_by_test_id("ranking")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDE["width"]
            for box in page.locator(".table-scroll").all():
                full, inner = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
                assert full <= inner, f"a rates table is wider than the page ({full} > {inner} px)"
            page.screenshot(path=str(artifacts / f"rates-1366-{lang}.png"), full_page=True)
    except BaseException:
        page.screenshot(path=str(artifacts / f"failure-desk-month-{lang}-{width}.png"), full_page=True)
        raise
    assert not live_server.errors and not live_server.page_problems
