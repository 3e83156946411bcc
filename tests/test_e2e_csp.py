"""No page needs an inline style or script: Chromium, under the app's CSP, refuses none.

Each role signs in and opens its main pages (a fixed list, plus every link of its navigation,
so that a page added to the menu later is opened too): the firm's, the desks, the ticket page
with its action forms, the print pages, the rates dashboard with its SVG charts, the admin
pages. Chromium reports every CSP refusal on the console ("Refused to apply inline style
...", "Refused to execute inline script ..."); any such message, script error or 5xx fails.
The two behaviours that were inline handlers (the firm's filter select, the print button)
are used too, to show that the static script took them over.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tickets.extensions import db
from tickets.models import SupervisionNotice, User
from tickets.services.actions import perform
from tickets.services.common import Upload
from tickets.services.filing import file_ticket
from tickets.services.meeting import build_list, week_of
from tickets.timeutil import now

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, live_server, make_pdf, translator)
from .test_e2e_loop import TIMEOUT, new_page, sign_in

zh = translator("zh")
CSP_WORDS = ("Content Security Policy", "Content-Security-Policy", "Refused to")


def seed(server) -> dict:
    """A ticket with an attachment, accepted, with a supervision notice; this week's meeting list."""
    with server.app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        firm_user = users[server.users["firm_user"]]
        official = users[server.users["hr_official"]]
        t = file_ticket(firm_user, firm_id=firm_user.firm_id, category_id=server.ids["labor"],
                        title="招工难", description="缺少 10 名焊工。", contact_name="王经理",
                        contact_phone="13800138000", uploads=[Upload("说明.pdf", make_pdf())])
        perform(t, "accept", users[server.users["coordinator"]], lead_id=official.id,
                department_id=official.department_id)
        perform(t, "issue_notice", users[server.users["inspector"]], reason="请说明进度")
        week = week_of(now())
        build_list(week)
        notice = db.session.scalars(db.select(SupervisionNotice.number)).one()
        out = {"ticket": t.number, "week": week, "notice": notice, "admin_id": users["admin"].id}
        db.session.remove()
    return out


def pages_of(data: dict) -> dict[str, list[str]]:
    t, w, n = data["ticket"], data["week"], data["notice"]
    return {
        "firm_user": ["/firm/requests", "/firm/requests/new", f"/tickets/{t}", "/inbox/", "/help"],
        "coordinator": ["/desk/tickets?scope=all", "/desk/approvals", "/desk/file", f"/tickets/{t}",
                        "/meeting/", f"/meeting/{w}/print", "/rates/?by=category"],
        "hr_official": ["/desk/tickets", f"/tickets/{t}", f"/notices/{n}"],
        "inspector": ["/inspect/desk", "/inspect/audit", "/notices/", f"/notices/{n}", f"/notices/{n}/print",
                      "/exports/", "/rates/", f"/tickets/{t}"],
        "leader": ["/desk/tickets?scope=all", "/rates/?by=official"],
        "admin": ["/admin/", "/admin/users", "/admin/users/new", f"/admin/users/{data['admin_id']}",
                  "/admin/firms", "/admin/firms/new", "/admin/departments", "/admin/categories",
                  "/admin/categories/new", "/admin/calendar", "/admin/import", "/admin/worker"],
    }


def watch(page, problems: list) -> None:
    def on_console(msg):
        if any(word in msg.text for word in CSP_WORDS):
            problems.append(f"{page.url}: {msg.text}")

    page.on("console", on_console)


def nav_links(page) -> list[str]:
    hrefs = page.locator("header nav a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/")]


def test_no_page_needs_inline_style_or_script(browser, live_server, artifacts):  # noqa: F811
    expect.set_options(timeout=TIMEOUT)
    server = live_server
    server.users.update(leader="leader", admin="admin")
    data = seed(server)
    problems: list[str] = []
    opened = 0

    anonymous = new_page(browser, server, "anonymous")
    watch(anonymous, problems)
    for url in ("/login", "/no-such-page"):
        anonymous.goto(url)
        opened += 1

    for who, urls in pages_of(data).items():
        page = new_page(browser, server, who)
        watch(page, problems)
        sign_in(page, server, who, zh)
        for url in dict.fromkeys(urls + nav_links(page)):
            resp = page.goto(url)
            assert resp is not None and resp.status < 400, f"{who} {url}: {resp and resp.status}"
            opened += 1
        page.context.close()

    # The firm's filter applies on change, by the static script (it was an inline onchange).
    firm = new_page(browser, server, "firm-filter")
    watch(firm, problems)
    sign_in(firm, server, "firm_user", zh)
    firm.goto("/firm/requests")
    firm.locator("select#state").select_option("open")
    expect(firm).to_have_url(re.compile(r"state=open"))
    # The print button prints, by the static script (it was an inline onclick).
    inspector = new_page(browser, server, "inspector-print")
    watch(inspector, problems)
    sign_in(inspector, server, "inspector", zh)
    inspector.goto(f"/notices/{data['notice']}/print")
    inspector.evaluate("() => { window.print = () => { document.body.dataset.printed = 'yes'; }; }")
    inspector.locator("button[data-print]").click()
    expect(inspector.locator("body")).to_have_attribute("data-printed", "yes")
    # The print stylesheets apply: the notice's A4 form is laid out by notice-print.css.
    assert inspector.locator("h1").evaluate("h => getComputedStyle(h).textAlign") == "center"

    assert opened > 40, opened
    assert problems == [], "\n".join(problems)
    assert server.page_problems == [], server.page_problems
    assert server.errors == [], server.errors
