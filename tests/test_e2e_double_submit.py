"""The request form in a real browser: a double click, then Back and submit again, file one ticket.

Chromium fetches the form again on Back (signed-in pages are no-store) and puts back what the
user had typed; the one-time token comes back with it (tickets/forms_common.py, static/app.js),
so the second submission is shown the ticket the first one filed.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tickets.extensions import db
from tickets.models import Ticket

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, live_server, translator)
from .test_e2e_loop import TIMEOUT, new_page, sign_in

zh = translator("zh")


def tickets(server) -> list[str]:
    with server.app.app_context():
        numbers = list(db.session.scalars(db.select(Ticket.number)))
        db.session.remove()
    return numbers


def test_double_click_and_back_file_one_ticket(browser, live_server):  # noqa: F811
    expect.set_options(timeout=TIMEOUT)
    server = live_server
    page = new_page(browser, server, "firm")
    sign_in(page, server, "firm_user", zh)
    page.goto("/firm/requests/new")
    form = page.get_by_test_id("request-form")
    form.locator("select[name=category_id]").select_option(str(server.ids["labor"]))
    form.locator("input[name=title]").fill("招工难：急需焊工")
    form.locator("textarea[name=description]").fill("缺少 10 名焊工。")
    form.locator("button[type=submit]").dblclick()
    expect(page).to_have_url(re.compile(r"/tickets/\d{4}-\d{6}$"))
    first = page.url
    assert len(tickets(server)) == 1

    page.go_back()
    expect(page).to_have_url(re.compile(r"/firm/requests/new$"))
    expect(form.locator("input[name=title]")).to_have_value("招工难：急需焊工")   # the browser put it back
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(first)
    number = first.rsplit("/", 1)[-1]
    expect(page.locator(".flash").filter(has_text=number)).to_be_visible()
    assert tickets(server) == [number]

    # A new form (the menu's "New request", not Back) files a new request.
    page.goto("/firm/requests/new")
    form.locator("select[name=category_id]").select_option(str(server.ids["labor"]))
    form.locator("input[name=title]").fill("另一个问题")
    form.locator("textarea[name=description]").fill("用电紧张。")
    form.locator("button[type=submit]").click()
    expect(page).not_to_have_url(first)
    expect(page).to_have_url(re.compile(r"/tickets/\d{4}-\d{6}$"))
    assert len(tickets(server)) == 2
    assert server.page_problems == [] and server.errors == []
