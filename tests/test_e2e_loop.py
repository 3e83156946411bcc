"""The closed loop in a real browser (Chromium through Playwright), every step through the UI.

The demo firm files a request with a PDF on a phone-sized screen, the coordinator accepts it,
the official handles it, the firm is dissatisfied (round 2), the official handles it again, the
firm is satisfied, and the inspector sees the completed ticket, two rounds and an intact chain.
One browser context per person; CSRF is on. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import re
from playwright.sync_api import Page, expect

from tickets.timeutil import local_today

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, has_catalog, live_server, make_pdf, translator)

TIMEOUT = 15_000
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}  # the laptop screen of a park office
DESKTOP = {"width": 1280, "height": 900}

en = translator("en")
zh = translator("zh")


def new_page(browser, server, name: str, viewport=DESKTOP, locale="zh-CN") -> Page:
    context = browser.new_context(viewport=viewport, locale=locale, base_url=server.url)
    context.set_default_timeout(TIMEOUT)
    context.set_default_navigation_timeout(TIMEOUT)
    page = context.new_page()
    server.pages[name] = page
    bad = server.page_problems
    page.on("pageerror", lambda exc: bad.append(f"page error: {exc}"))
    page.on("response", lambda r: bad.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 500 else None)
    return page


def sign_in(page: Page, server, who: str, t) -> None:
    """Fill the sign-in form in the page's language `t`."""
    page.goto("/login")
    page.get_by_label(t("Username"), exact=True).fill(server.users[who])
    page.get_by_label(t("Password"), exact=True).fill(server.password)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def open_ticket_from_queue(page: Page, number: str, scope_label: str) -> None:
    page.get_by_role("link", name=scope_label, exact=True).click()
    row = page.locator(f"[data-testid=queue] tr[data-number='{number}']")
    expect(row).to_be_visible()
    row.get_by_role("link", name=number).click()
    expect(page.get_by_test_id("ticket-number")).to_have_text(number)


def action_form(page: Page, action: str):
    """The form of one action on the ticket page, its <details> opened the way a user would."""
    details = page.locator(f"details[data-action={action}]")
    expect(details).to_have_count(1)
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    form = details.locator("form")
    expect(form).to_be_visible()
    return form


def submit_and_check(page: Page, form, success) -> None:
    """Submit `form`, wait for the `success` locator or an error message; fail with the error's text."""
    form.locator("button[type=submit]").click()
    errors = page.locator(".flash-error, .field-error")
    expect(success.or_(errors).first).to_be_visible()
    assert errors.count() == 0, f"{page.url}: {errors.all_inner_texts()}"
    expect(success).to_be_visible()


def handle(page: Page, t, outcome: str, what: str, why: str = "") -> None:
    form = action_form(page, "handle")
    form.get_by_label(t(outcome), exact=True).check()
    form.get_by_label(t("What was done"), exact=True).fill(what)
    if why:
        form.get_by_label(t("Why (required unless resolved)"), exact=True).fill(why)
    form.get_by_label(t("How the firm was contacted"), exact=True).select_option("phone")
    today = local_today().isoformat()  # the live server's date, as the service derives it
    form.get_by_label(t("When the firm was contacted"), exact=True).fill(today)
    submit_and_check(page, form, page.locator(".state[data-state=handled]"))


def feedback(page: Page, t, solved: str, rating: str, comment: str, state: str) -> None:
    form = action_form(page, "feedback")
    form.get_by_label(t(solved), exact=True).check()
    form.get_by_label(t(rating), exact=True).check()
    if comment:
        form.get_by_label(t("Comment (a reason is required when dissatisfied)"), exact=True).fill(comment)
    submit_and_check(page, form, page.locator(f".state[data-state={state}]"))


def test_closed_loop_in_a_real_browser(browser, live_server, artifacts):  # noqa: F811
    expect.set_options(timeout=TIMEOUT)
    try:
        run_loop(browser, live_server, artifacts)
    except BaseException:
        # What each person's page showed when the step failed, for the CI log's reader.
        for name, page in live_server.pages.items():
            try:
                page.screenshot(path=str(artifacts / f"failure-{name}.png"), full_page=True)
                (artifacts / f"failure-{name}.html").write_text(page.content(), encoding="utf-8")
            except Exception:  # noqa: BLE001  (the original failure matters more)
                pass
        raise


def run_loop(browser, server, artifacts) -> None:
    # 1. The firm, on a phone. The sign-in page follows the browser (English); the toggle
    #    switches it to Chinese; after sign-in the firm user's stored language (zh) holds.
    firm = new_page(browser, server, "firm", viewport=PHONE, locale="en-US")
    firm.goto("/login")
    expect(firm.locator("html")).to_have_attribute("lang", "en")
    expect(firm.get_by_role("button", name="Sign in")).to_be_visible()
    firm.get_by_test_id("language").click()
    expect(firm.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(firm.get_by_role("button", name=zh("Sign in"))).to_be_visible()   # translated label
    if has_catalog("zh"):
        assert zh("Sign in") != "Sign in", "the compiled zh catalog does not translate “Sign in”"
    sign_in(firm, server, "firm_user", zh)
    expect(firm.locator("html")).to_have_attribute("lang", "zh-CN")
    firm.get_by_role("main").get_by_role("link", name=zh("New request"), exact=True).click()
    expect(firm.get_by_test_id("request-form")).to_be_visible()

    firm.get_by_label(zh("Category"), exact=True).select_option(str(server.ids["labor"]))
    firm.get_by_label(zh("Title"), exact=True).fill("招工难：缺少操作工")
    firm.get_by_label(zh("Description"), exact=True).fill("二期产线投产，缺少 30 名操作工，希望园区协助对接劳务资源。")
    firm.get_by_label(zh("Urgency"), exact=True).select_option("urgent")
    firm.get_by_label(zh("Contact person"), exact=True).fill("王经理")
    firm.get_by_label(zh("Contact phone"), exact=True).fill("13800138000")
    firm.get_by_label(zh("Attachments (up to 5, 10 MB each: PDF, images, Office files)"), exact=True).set_input_files(
        files=[{"name": "staffing-plan.pdf", "mimeType": "application/pdf", "buffer": make_pdf()}])

    # Usable on a phone: no horizontal scrolling, the submit button in view without it.
    submit = firm.get_by_role("button", name=zh("Submit request"))
    submit.scroll_into_view_if_needed()
    expect(submit).to_be_visible()
    assert firm.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    box = submit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
    firm.screenshot(path=str(artifacts / "1-firm-new-request-phone-zh.png"), full_page=True)

    submit_and_check(firm, firm.get_by_test_id("request-form"), firm.get_by_test_id("ticket-number"))
    expect(firm).to_have_url(re.compile(r"/tickets/\d{4}-\d{6}$"))
    number = firm.get_by_test_id("ticket-number").inner_text().strip()
    assert re.fullmatch(r"\d{4}-\d{6}", number), number
    expect(firm.locator(".flash")).to_contain_text(number)
    expect(firm.locator(".state[data-state=submitted]")).to_be_visible()
    expect(firm.get_by_role("link", name="staffing-plan.pdf")).to_be_visible()
    assert firm.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    firm.screenshot(path=str(artifacts / "2-firm-ticket-filed-phone-zh.png"), full_page=True)

    # 2. The coordinator switches to English, finds the request in the inbox and accepts it.
    coord = new_page(browser, server, "coord")
    sign_in(coord, server, "coordinator", zh)
    coord.get_by_test_id("language").click()
    expect(coord.locator("html")).to_have_attribute("lang", "en")
    open_ticket_from_queue(coord, number, en("To accept"))
    form = action_form(coord, "accept")
    expect(form.get_by_label("Department", exact=True)).to_have_value(str(server.ids["hr_dept"]))  # from the category
    form.get_by_label("Lead official", exact=True).select_option(label=server.ids["hr_official_name"])
    coord.screenshot(path=str(artifacts / "2b-coordinator-accept-en.png"), full_page=True)
    submit_and_check(coord, form, coord.locator(".state[data-state=accepted]"))
    expect(coord.locator(".state[data-state=accepted]")).to_have_text("In progress")
    expect(coord.get_by_test_id("lead")).to_contain_text(server.ids["hr_official_name"])

    # 3. The official (Chinese) finds it in "My queue" and records the outcome.
    official = new_page(browser, server, "official")
    sign_in(official, server, "hr_official", zh)
    open_ticket_from_queue(official, number, zh("My queue"))
    handle(official, zh, "Partly resolved", "已推荐 12 名工人到企业面试。",
           "本地劳务资源不足，其余 18 人需跨区对接。")
    expect(official.locator("[data-testid=timeline] li[data-action=handle]")).to_have_count(1)

    # 4. The firm is dissatisfied, with a reason: round 2.
    firm.reload()
    expect(action_form(firm, "feedback")).to_be_visible()
    assert firm.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    firm.screenshot(path=str(artifacts / "3-firm-feedback-phone-zh.png"), full_page=True)
    feedback(firm, zh, "No", "Dissatisfied: handle it again", "只推荐了 12 人，仍缺 18 人。", "accepted")
    expect(firm.get_by_test_id("round")).to_have_text("2")
    expect(firm.locator(".state[data-state=accepted]")).to_be_visible()

    # 5. The official handles it again.
    official.goto("/desk/tickets")
    open_ticket_from_queue(official, number, zh("My queue"))
    expect(official.get_by_test_id("round")).to_have_text("2")
    handle(official, zh, "Resolved", "联合人社局专场招聘，补齐 18 名工人。")

    # 6. The firm says it is solved and is satisfied: completed.
    firm.reload()
    feedback(firm, zh, "Yes", "Satisfied", "", "fed_back")
    expect(firm.locator(".state[data-state=fed_back]")).to_have_text(zh("Completed"))
    expect(firm.locator("details[data-action]")).to_have_count(0)   # nothing left to do
    firm.screenshot(path=str(artifacts / "4-firm-completed-phone-zh.png"), full_page=True)

    # 7. The inspector sees the completed ticket, two rounds and an intact chain.
    inspector = new_page(browser, server, "inspector")
    sign_in(inspector, server, "inspector", zh)
    inspector.goto("/desk/tickets?scope=all&state=all")
    inspector.get_by_label(zh("Search"), exact=True).fill(number)
    inspector.get_by_role("button", name=zh("Filter"), exact=True).click()
    row = inspector.locator(f"[data-testid=queue] tr[data-number='{number}']")
    expect(row).to_be_visible()
    row.get_by_role("link", name=number).click()
    expect(inspector.get_by_test_id("ticket-number")).to_have_text(number)
    expect(inspector.locator(".state[data-state=fed_back]")).to_be_visible()
    expect(inspector.get_by_test_id("round")).to_have_text("2")
    intact = max(zh("Intact; events verified: %(n)s").split("%(n)s"), key=len).strip()
    expect(inspector.get_by_test_id("chain-status")).to_contain_text(intact)
    expect(inspector.locator(".chain-broken")).to_have_count(0)
    expect(inspector.locator("[data-testid=timeline] li[data-action=handle]")).to_have_count(2)
    expect(inspector.locator("[data-testid=timeline] li[data-action=rework]")).to_have_count(1)
    expect(inspector.locator("[data-testid=timeline] li[data-action=handle]").first).to_contain_text(zh("Phone"))
    inspector.screenshot(path=str(artifacts / "5-inspector-ticket-zh.png"), full_page=True)

    assert not server.page_problems, server.page_problems
    assert not server.errors, server.errors
