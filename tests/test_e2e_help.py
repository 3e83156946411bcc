"""The help page in Chromium: each role opens "Help" from the navigation and reads its section,
in Chinese and in English, on a 390 px phone and at 1366 px; the favicon loads.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, live_server, translator)
from .test_e2e_loop import PHONE, WIDE, new_page, sign_in

# The live server's users by role (tests/conftest.py, Park).
USERS = {"firm": "firm_user", "official": "hr_official", "coordinator": "coordinator", "leader": "leader",
         "inspector": "inspector", "admin": "admin"}


@pytest.mark.parametrize("lang,viewport", [("zh", PHONE), ("en", WIDE)])
def test_every_role_reads_its_help_from_the_navigation(live_server, browser, artifacts, lang, viewport):
    t = translator(lang)
    live_server.users |= {"leader": "leader", "admin": "admin"}
    for role, who in USERS.items():
        page = new_page(browser, live_server, f"help-{role}-{lang}", viewport=viewport,
                        locale="zh-CN" if lang == "zh" else "en-US")
        sign_in(page, live_server, who, t)   # the sign-in page speaks the browser's language
        if lang == "en":   # signed in, the user's stored language (zh): switch it as a user would
            page.get_by_test_id("language").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
        page.locator("header nav").get_by_role("link", name=t("Help"), exact=True).click()
        expect(page).to_have_url(re.compile(r"/help$"))
        section = page.get_by_test_id(f"help-{role}")
        expect(section).to_be_visible()
        expect(page.get_by_test_id("help-deadlines")).to_be_visible()
        for other in set(USERS) - {role}:
            expect(page.get_by_test_id(f"help-{other}")).to_have_count(0)
        # No line of the page is wider than the screen.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (role, width)
        # The icon the page names is an SVG the browser can fetch.
        icon = page.evaluate("""async () => {
            const href = document.querySelector('link[rel=icon]').href;
            const r = await fetch(href);
            return [r.status, r.headers.get('content-type')];
        }""")
        assert icon[0] == 200 and icon[1].startswith("image/svg+xml"), icon
        if role == "official":
            # Staff open another role's help from the list at the end.
            page.get_by_test_id("help-link-firm").click()
            expect(page.get_by_test_id("help-firm")).to_be_visible()
            expect(page.get_by_test_id("help-official")).to_have_count(0)
        page.screenshot(path=str(artifacts / f"help-{role}-{lang}.png"), full_page=True)
        page.context.close()
    assert live_server.page_problems == [] and live_server.errors == []
