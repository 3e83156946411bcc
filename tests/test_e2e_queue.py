"""The official's queue in a real browser (Chromium through Playwright) at 1366 px, in both
languages: what needs the official apart from what waits for the firm, with counts, and a
Chinese word of a title typed into the search finding its ticket."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tickets.extensions import db
from tickets.models import User
from tickets.services.actions import perform
from tickets.services.filing import file_ticket
from tickets.timeutil import local_today

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, live_server, translator)
from .test_e2e_loop import PHONE, TIMEOUT, WIDE, new_page, sign_in



def seed(server) -> dict:
    """Three requests led by the official: one to handle, one with a question open, one handled."""
    with server.app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        firm_user, official = users[server.users["firm_user"]], users[server.users["hr_official"]]
        coordinator = users[server.users["coordinator"]]
        made = {}
        for key, title in (("todo", "用工缺口较大"), ("asked", "厂房漏水"), ("handled", "申请人才补贴")):
            t = file_ticket(firm_user, firm_id=firm_user.firm_id, category_id=server.ids["labor"], title=title,
                            description="需要协调招聘熟练工人" if key == "todo" else "请尽快处理",
                            urgency="normal", contact_name="王经理", contact_phone="13800138000")
            perform(t, "accept", coordinator, lead_id=official.id, department_id=official.department_id)
            made[key] = t.number
            if key == "asked":
                perform(t, "ask", official, text="请提供厂房平面图")
            if key == "handled":
                perform(t, "handle", official, outcome="resolved", what_was_done="已发放补贴", explanation="",
                        contact_method="phone", contacted_on=local_today())
        db.session.remove()
    return made


def rows(page):
    return page.locator("[data-testid=queue] tr[data-number]")


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366", "390"])
@pytest.mark.parametrize("lang, locale", [("zh", "zh-CN"), ("en", "en-US")])
def test_official_to_do_and_search_in_a_real_browser(browser, live_server, artifacts, lang, locale,  # noqa: F811
                                                     viewport):
    expect.set_options(timeout=TIMEOUT)
    t = translator(lang)
    made = seed(live_server)
    width = viewport["width"]
    page = new_page(browser, live_server, f"official-{lang}-{width}", viewport=viewport, locale=locale)
    try:
        sign_in(page, live_server, "hr_official", t)
        # Signed in, the page speaks the user's stored language (zh): switch it as a user would.
        if page.locator("html").get_attribute("lang") != ("zh-CN" if lang == "zh" else "en"):
            page.get_by_test_id("language").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
        page.get_by_role("link", name=t("Tickets"), exact=True).click()
        page.get_by_role("link", name=t("My queue"), exact=True).click()

        # To do: only the request that needs the official; both parts counted.
        expect(rows(page)).to_have_count(1)
        expect(page.locator(f"[data-testid=queue] tr[data-number='{made['todo']}']")).to_be_visible()
        expect(page.get_by_test_id("count-todo")).to_have_text("1")
        expect(page.get_by_test_id("count-waiting")).to_have_text("2")
        page.screenshot(path=str(artifacts / f"queue-todo-{width}-{lang}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1

        # Waiting for the firm: the open question and the outcome to rate.
        page.locator("[data-testid=parts] a[data-part=waiting]").click()
        expect(page).to_have_url(re.compile(r"part=waiting"))
        expect(rows(page)).to_have_count(2)
        for key in ("asked", "handled"):
            expect(page.locator(f"[data-testid=queue] tr[data-number='{made[key]}']")).to_be_visible()

        # A Chinese word of the title, typed into the search of the to-do part, finds its ticket.
        page.locator("[data-testid=parts] a[data-part=todo]").click()
        page.get_by_label(t("Search"), exact=True).fill("缺口")
        page.get_by_role("button", name=t("Filter"), exact=True).click()
        expect(page).to_have_url(re.compile(r"q=%E7%BC%BA%E5%8F%A3"))
        expect(rows(page)).to_have_count(1)
        row = page.locator(f"[data-testid=queue] tr[data-number='{made['todo']}']")
        row.get_by_role("link", name=made["todo"]).click()
        expect(page.get_by_test_id("ticket-number")).to_have_text(made["todo"])

        # A word found nowhere in the official's queue shows nothing, and says so.
        page.go_back()
        page.get_by_label(t("Search"), exact=True).fill("融资")
        page.get_by_role("button", name=t("Filter"), exact=True).click()
        expect(rows(page)).to_have_count(0)
        expect(page.get_by_test_id("count-todo")).to_have_text("0")
    except BaseException:
        page.screenshot(path=str(artifacts / f"failure-queue-{lang}-{width}.png"), full_page=True)
        raise
    assert live_server.errors == [] and live_server.page_problems == []
