"""The firm's side and the ticket page's forms in a real browser (Chromium through Playwright).

On a 390 px phone and a 1366 px screen, in Chinese and in English:
- the firm finds what waits for it at the top of its list and in its inbox, answers the
  official's question, reads the outcome above the rating form and rates; its list labels
  every value on a phone; withdrawing is closed, and refused without the confirmation, with the
  reason kept and the ticket page in the address bar;
- the coordinator accepts with a lead of another department than the category's: the department
  follows the lead; a refused accept form keeps what was typed, the address bar shows the ticket
  page and a reload reads the page (GET), never posts again.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tickets.extensions import db
from tickets.models import Department, User
from tickets.services.actions import perform
from tickets.services.filing import file_ticket
from tickets.timeutil import local_today

from .conftest_browser import (  # noqa: F401  (fixtures: artifacts, browser, live_server)
    artifacts, browser, live_server, translator)
from .test_e2e_loop import PHONE, TIMEOUT, WIDE, action_form, feedback, new_page, sign_in, submit_and_check

CASES = [("zh", PHONE), ("en", PHONE), ("zh", WIDE), ("en", WIDE)]
IDS = [f"{lang}-{vp['width']}" for lang, vp in CASES]
LOCALES = {"zh": "zh-CN", "en": "en-US"}   # the sign-in page speaks the browser's language


def setup(server, lang: str) -> dict:
    """Everyone reads `lang`; three requests of the firm: one asked, one handled, one just filed."""
    with server.app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        for u in users.values():
            u.language = lang
        db.session.commit()
        firm_user = users[server.users["firm_user"]]
        coordinator = users[server.users["coordinator"]]
        official = users[server.users["hr_official"]]

        def filed(title):
            return file_ticket(firm_user, firm_id=firm_user.firm_id, category_id=server.ids["labor"], title=title,
                               description=f"{title}，请园区协调。", urgency="normal", contact_name="王经理",
                               contact_phone="13800138000")

        asked, handled, fresh, to_accept = (filed(t) for t in ("缺少叉车司机", "宿舍不足", "用电增容", "招工难"))
        for t in (asked, handled):
            perform(t, "accept", coordinator, lead_id=official.id, department_id=official.department_id)
        perform(asked, "ask", official, text="请说明所需司机人数和证照要求。")
        perform(handled, "handle", official, outcome="partly", what_was_done="协调了 20 间宿舍。",
                explanation="其余需二期建成。", contact_method="phone", contacted_on=local_today())
        fin = db.session.scalar(db.select(Department).filter_by(code="finance"))
        fin_official = db.session.scalar(db.select(User).filter_by(username="fin_off"))
        out = {"asked": asked.number, "handled": handled.number, "fresh": fresh.number, "to_accept": to_accept.number,
               "fin_dept": str(fin.id), "fin_official": fin_official.name, "fin_name": fin.name(lang)}
        db.session.remove()
    return out


def on_failure(server, artifacts, name):
    for who, page in server.pages.items():
        try:
            page.screenshot(path=str(artifacts / f"failure-{name}-{who}.png"), full_page=True)
            (artifacts / f"failure-{name}-{who}.html").write_text(page.content(), encoding="utf-8")
        except Exception:  # noqa: BLE001  (the original failure matters more)
            pass


@pytest.mark.parametrize("lang,viewport", CASES, ids=IDS)
def test_the_firm_sees_what_waits_for_it(browser, live_server, artifacts, lang, viewport):  # noqa: F811
    expect.set_options(timeout=TIMEOUT)
    try:
        run_firm(browser, live_server, artifacts, lang, viewport)
    except BaseException:
        on_failure(live_server, artifacts, f"firm-{lang}-{viewport['width']}")
        raise


def run_firm(browser, server, artifacts, lang, viewport) -> None:
    t = translator(lang)
    n = setup(server, lang)
    tag = f"{lang}-{viewport['width']}"
    firm = new_page(browser, server, "firm", viewport=viewport, locale=LOCALES[lang])
    sign_in(firm, server, "firm_user", t)
    firm.goto("/firm/requests")

    # What waits for the firm, first on the page: the result to rate and the question.
    waiting = firm.get_by_test_id("waiting")
    expect(waiting).to_be_visible()
    expect(waiting.locator("h2")).to_have_text(t("Waiting for you (%(n)s)") % {"n": 2})
    rate = waiting.locator(f"li[data-number='{n['handled']}'][data-waiting=rate]")
    expect(rate).to_contain_text(t("Rate the result (round %(n)s)") % {"n": 1})
    expect(rate).to_contain_text(t("If you do not rate it by then, the request is closed as unconfirmed: it is not "
                                   "counted as solved, and it can no longer be rated."))
    answer = waiting.locator(f"li[data-number='{n['asked']}'][data-waiting=answer]")
    expect(answer).to_contain_text("请说明所需司机人数和证照要求。")
    assert waiting.bounding_box()["y"] < firm.locator("table.list").bounding_box()["y"]
    assert firm.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1

    # Every value of the list says what it is: on a phone a label beside it, on a screen the header.
    cell = firm.locator(f"tr[data-number='{n['fresh']}'] td").nth(2)
    before = cell.evaluate("td => getComputedStyle(td, '::before').content")
    if viewport is PHONE:
        assert before == f'"{t("State")}"', before
        expect(firm.locator("table.list thead")).to_be_hidden()
    else:
        expect(firm.locator("table.list thead")).to_be_visible()
    firm.screenshot(path=str(artifacts / f"firm-waiting-{tag}.png"), full_page=True)

    # Search in its own requests: a title word.
    firm.get_by_label(t("Search your requests"), exact=True).fill("叉车")
    firm.get_by_role("button", name=t("Search"), exact=True).click()
    expect(firm.locator("table.list tbody tr")).to_have_count(1)
    expect(firm.locator(f"table.list tr[data-number='{n['asked']}']")).to_be_visible()

    # Answering the question from the block.
    firm.get_by_test_id("waiting").get_by_role("link", name=re.compile(n["asked"])).click()
    expect(firm.get_by_test_id("ticket-number")).to_have_text(n["asked"])
    form = action_form(firm, "reply")
    form.get_by_label(t("Your reply"), exact=True).fill("需要 3 名持证叉车司机。")
    submit_and_check(firm, form, firm.locator("[data-testid=timeline] li[data-action=reply]"))

    # In the inbox, only the result to rate waits now.
    firm.goto("/inbox/")
    waiting = firm.get_by_test_id("waiting")
    expect(waiting.locator("li[data-waiting]")).to_have_count(1)
    waiting.get_by_role("link", name=re.compile(n["handled"])).click()
    expect(firm.get_by_test_id("ticket-number")).to_have_text(n["handled"])

    # The outcome stands above the rating form: read before rating.
    outcome = firm.get_by_test_id("outcome")
    expect(outcome).to_contain_text("协调了 20 间宿舍。")
    expect(outcome).to_contain_text(t("Partly resolved"))
    rating_form = action_form(firm, "feedback")
    assert outcome.bounding_box()["y"] < rating_form.bounding_box()["y"]
    firm.screenshot(path=str(artifacts / f"firm-rate-{tag}.png"), full_page=True)
    feedback(firm, t, "Partly", "Basically satisfied", "", "fed_back")
    firm.goto("/firm/requests")
    expect(firm.get_by_test_id("waiting")).to_have_count(0)

    # Withdrawing: closed until opened, refused without the confirmation, the reason kept.
    firm.goto(f"/tickets/{n['fresh']}")
    expect(firm.get_by_test_id("deadline")).to_contain_text(t("Acceptance deadline: %(when)s").split("%")[0].strip())
    details = firm.locator("details[data-action=withdraw]")
    assert not details.evaluate("d => d.open")
    form = action_form(firm, "withdraw")
    form.get_by_label(t("Reason (optional)"), exact=True).fill("已自行解决。")
    form.locator("button[type=submit]").click()
    expect(firm.locator(".field-error")).to_have_text(t("Please tick the box to confirm the withdrawal."))
    expect(firm).to_have_url(re.compile(rf"/tickets/{n['fresh']}$"))
    assert details.evaluate("d => d.open")
    expect(form.get_by_label(t("Reason (optional)"), exact=True)).to_have_value("已自行解决。")
    expect(firm.locator(".state[data-state=submitted]")).to_be_visible()
    form.get_by_label(t("Yes, withdraw this request. I know this cannot be undone."), exact=True).check()
    submit_and_check(firm, form, firm.locator(".state[data-state=withdrawn]"))
    assert firm.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    assert not server.errors and not server.page_problems, (server.errors, server.page_problems)


@pytest.mark.parametrize("lang,viewport", CASES, ids=IDS)
def test_the_accept_form_follows_the_lead(browser, live_server, artifacts, lang, viewport):  # noqa: F811
    expect.set_options(timeout=TIMEOUT)
    try:
        run_accept(browser, live_server, artifacts, lang, viewport)
    except BaseException:
        on_failure(live_server, artifacts, f"accept-{lang}-{viewport['width']}")
        raise


def run_accept(browser, server, artifacts, lang, viewport) -> None:
    t = translator(lang)
    n = setup(server, lang)
    coord = new_page(browser, server, "coord", viewport=viewport, locale=LOCALES[lang])
    sign_in(coord, server, "coordinator", t)
    coord.goto(f"/tickets/{n['to_accept']}")
    form = action_form(coord, "accept")
    department = form.get_by_label(t("Department"), exact=True)
    expect(department).to_have_value(str(server.ids["hr_dept"]))      # the category's department
    expect(form).to_contain_text(t("Grouped by department; choosing a lead sets the department. ★ marks a head of "
                                   "department, who may act on every request of the department and approves its "
                                   "extensions and transfers."))

    # Refused (no lead chosen): every field as typed, the error beside the lead, the ticket's address.
    department.select_option(n["fin_dept"])
    form.get_by_label(t("Note (internal, optional)"), exact=True).fill("请财政局牵头。")
    form.locator("button[type=submit]").click()
    expect(coord.locator(".field.has-error .field-error")).to_have_count(1)
    expect(coord.locator(".field.has-error select#accept-lead_id")).to_have_count(1)
    expect(coord).to_have_url(re.compile(rf"/tickets/{n['to_accept']}$"))
    form = action_form(coord, "accept")
    expect(form.get_by_label(t("Department"), exact=True)).to_have_value(n["fin_dept"])
    expect(form.get_by_label(t("Note (internal, optional)"), exact=True)).to_have_value("请财政局牵头。")
    coord.screenshot(path=str(artifacts / f"accept-refused-{lang}-{viewport['width']}.png"), full_page=True)

    # A reload reads the ticket page; nothing is posted again.
    methods = []
    coord.on("request", lambda r: methods.append((r.method, r.url)) if r.resource_type == "document" else None)
    coord.reload()
    expect(coord.get_by_test_id("ticket-number")).to_have_text(n["to_accept"])
    assert methods == [("GET", f"{server.url}/tickets/{n['to_accept']}")], methods
    expect(coord.locator(".field-error")).to_have_count(0)

    # Choosing a lead of another department than the one shown: the department follows the lead.
    form = action_form(coord, "accept")
    department = form.get_by_label(t("Department"), exact=True)
    expect(department).to_have_value(str(server.ids["hr_dept"]))
    form.get_by_label(t("Lead official"), exact=True).select_option(label=n["fin_official"])
    expect(department).to_have_value(n["fin_dept"])
    submit_and_check(coord, form, coord.locator(".state[data-state=accepted]"))
    expect(coord.get_by_test_id("lead")).to_contain_text(f"{n['fin_official']} · {n['fin_name']}")
    assert coord.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    assert not server.errors and not server.page_problems, (server.errors, server.page_problems)
