"""The firm's pages and the ticket page's forms, through the test client (issue 9, "firm").

What waits for the firm, the outcome above the rating form, withdrawing with a confirmation, the
firm's search, the accept form's lead list (the department follows the lead), a refused form
kept as typed, and the "file for a firm" page worded for staff. The same in a real browser:
tests/test_e2e_firm.py.
"""
from __future__ import annotations

import html
import re

import pytest

from tickets.extensions import db
from tickets.models import Ticket
from tickets.services.actions import perform

from .conftest import accept, file_request, handle
from .records import snapshot


@pytest.fixture
def en(park):
    """The park's people read English (the strings of this part are not translated yet)."""
    for u in (park.firm_user, park.firm_b_user, park.coordinator, park.hr_official, park.fin_official):
        u.language = "en"
    db.session.commit()
    return park


def page_of(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def post(client, t: Ticket, action: str, fields: dict):
    return client.post(f"/tickets/{t.number}/do/{action}", data={f"{action}-{k}": v for k, v in fields.items()})


def ticket_state(t: Ticket) -> str:
    db.session.expire_all()
    return db.session.get(Ticket, t.id).state


# --- what waits for the firm ------------------------------------------------------------------


def test_the_firm_list_and_inbox_show_what_waits_for_the_firm(en, login, client):
    asked = file_request(en, title="缺少叉车司机")
    accept(en, asked)
    perform(asked, "ask", en.hr_official, text="请提供岗位要求")
    rated = file_request(en, title="融资担保")
    accept(en, rated)
    handle(en, rated)
    quiet = file_request(en, title="用地指标")           # waits for acceptance: nothing for the firm to do
    other = file_request(en, en.firm_b_user, title="乙公司的问题")
    accept(en, other)
    handle(en, other)

    login(en.firm_user)
    for url in ("/firm/requests", "/inbox/"):
        page = page_of(client.get(url))
        block = re.search(r'<section class="card waiting" data-testid="waiting">(.*?)</section>', page, re.S)
        assert block, url
        block = block.group(1)
        assert "Waiting for you (2)" in block
        assert f'data-number="{rated.number}" data-waiting="rate"' in block
        assert f'data-number="{asked.number}" data-waiting="answer"' in block
        assert quiet.number not in block and other.number not in block
        assert "请提供岗位要求" in block
        # each with its deadline and what happens when it passes
        assert "Rate the result (round 1)" in block and "closed as unconfirmed" in block
        assert "the handling deadline" in block

    # answered and rated: nothing waits any more
    perform(asked, "reply", en.firm_user, text="需要持证上岗")
    perform(rated, "feedback", en.firm_user, solved="yes", rating="satisfied", comment="")
    assert 'data-testid="waiting"' not in page_of(client.get("/firm/requests"))


def test_staff_inbox_has_no_firm_block(en, login, client):
    t = file_request(en)
    accept(en, t)
    handle(en, t)
    login(en.hr_official)
    assert 'data-testid="waiting"' not in page_of(client.get("/inbox/"))


def test_the_outcome_stands_above_the_rating_form(en, login, client):
    t = file_request(en)
    accept(en, t)
    handle(en, t)
    login(en.firm_user)
    page = page_of(client.get(f"/tickets/{t.number}"))
    outcome = page.index('data-testid="outcome"')
    assert "The result of handling, round 1" in page
    assert "推荐了 30 名工人" in page[outcome:page.index('data-action="feedback"')]
    assert outcome < page.index('<details open data-action="feedback"')


def test_the_acceptance_deadline_is_called_so(en, login, client):
    t = file_request(en)
    login(en.firm_user)
    page = page_of(client.get(f"/tickets/{t.number}"))
    assert re.search(r'data-testid="deadline">Acceptance deadline: ', page)
    accept(en, t)
    page = page_of(client.get(f"/tickets/{t.number}"))
    assert "Acceptance deadline" not in page
    assert re.search(r'data-testid="deadline">Handling deadline: ', page)
    handle(en, t)
    page = page_of(client.get(f"/tickets/{t.number}"))
    assert re.search(r'data-testid="deadline">Feedback deadline: ', page)


# --- withdrawing ------------------------------------------------------------------------------


def test_withdraw_is_closed_by_default_and_needs_the_confirmation(en, login, client):
    t = file_request(en)
    login(en.firm_user)
    page = page_of(client.get(f"/tickets/{t.number}"))
    assert '<details  data-action="withdraw">' in page or re.search(r'<details\s+data-action="withdraw">', page)

    before = snapshot(t.id)
    resp = post(client, t, "withdraw", {"reason": "已自行解决"})
    assert resp.status_code == 400
    assert snapshot(t.id) == before
    page = page_of(resp)
    # the refused form re-opens, with the reason as typed and the error beside the box
    assert re.search(r'<details open data-action="withdraw">', page)
    assert re.search(r">\s*已自行解决</textarea>", page)
    assert re.search(r'has-error">\s*<label for="withdraw-confirm">.*?<div class="field-error" role="alert">'
                     r'Please tick the box to confirm the withdrawal.</div>', page, re.S)

    resp = post(client, t, "withdraw", {"reason": "已自行解决", "confirm": "y"})
    assert resp.status_code == 302
    assert ticket_state(t) == "withdrawn"


# --- the firm's search ------------------------------------------------------------------------


def test_the_firm_searches_its_own_requests(en, login, client):
    a = file_request(en, title="缺少叉车司机", description="急需持证司机")
    b = file_request(en, title="融资担保", description="流动资金 100% 周转")
    theirs = file_request(en, en.firm_b_user, title="缺少叉车司机")
    login(en.firm_user)

    def found(q: str) -> set[str]:
        page = page_of(client.get("/firm/requests", query_string={"q": q}))
        return set(re.findall(r'<tr data-number="([^"]+)"', page))

    assert found("叉车") == {a.number}                      # a title word
    assert found("持证") == {a.number}                      # a word of the description
    assert found(a.number.split("-")[-1].lstrip("0")) >= {a.number}   # part of the number
    assert theirs.number not in found("叉车")               # never another firm's
    assert found("100%") == {b.number}                     # % is a character, not a pattern
    assert found("%") == {b.number}
    assert found("叉车 融资") == set()                       # every word must match
    assert "No request matches “叉车 融资”." in page_of(client.get("/firm/requests", query_string={"q": "叉车 融资"}))


def test_the_firm_list_labels_every_value(en, login, client):
    file_request(en)
    login(en.firm_user)
    page = page_of(client.get("/firm/requests"))
    row = re.search(r"<tr data-number=.*?</tr>", page, re.S).group(0)
    assert re.findall(r'data-label="([^"]+)"', row) == ["Number", "Title", "State", "Filed", "Handled by", "Deadline"]
    assert "Acceptance deadline: " in row


# --- the accept form --------------------------------------------------------------------------


def test_the_lead_list_is_grouped_with_the_suggestions_first(en, login, client):
    from tickets.models import Firm

    # the firm's liaison, here an official of finance, comes first of its department
    firm = db.session.get(Firm, en.firm_user.firm_id)
    firm.liaison_id = en.fin_official.id
    db.session.commit()
    t = file_request(en)                                   # labor: the HR department's category
    login(en.coordinator)
    page = page_of(client.get(f"/tickets/{t.number}"))
    select = re.search(r'<select[^>]*id="accept-lead_id".*?</select>', page, re.S).group(0)
    assert 'data-sets-department="accept-department_id"' in select
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    hr, fin = en.depts["hr"], en.depts["finance"]
    assert groups[0] == f"{hr.name_en} (the category’s department)"
    assert groups[1] == fin.name_en
    fin_group = select.split(f'<optgroup label="{fin.name_en}">')[1].split("</optgroup>")[0]
    first = re.search(r'<option data-department="(\d+)" value="(\d+)">([^<]+)</option>', fin_group)
    assert first.groups() == (str(fin.id), str(en.fin_official.id), f"{en.fin_official.name} (the firm’s liaison)")
    assert f"{en.hr_head.name} ★" in select
    assert "★ marks a head of department" in page


def test_accepting_with_a_lead_of_another_department_takes_the_leads_department(en, login, client):
    t = file_request(en)
    login(en.coordinator)
    resp = post(client, t, "accept", {"department_id": en.depts["hr"].id, "lead_id": en.fin_official.id,
                                      "note": "转财政"})
    assert resp.status_code == 302, page_of(resp)[:3000]
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert (t.state, t.lead_id, t.department_id) == ("accepted", en.fin_official.id, en.depts["finance"].id)


def test_a_refused_accept_keeps_every_field_and_names_the_ticket_page(en, login, client):
    t = file_request(en)
    login(en.coordinator)
    before = snapshot(t.id)
    resp = post(client, t, "accept", {"department_id": en.depts["finance"].id, "lead_id": "99999",
                                      "note": "请尽快办理"})
    assert resp.status_code == 400
    assert snapshot(t.id) == before
    page = page_of(resp)
    assert re.search(r'<details open data-action="accept">', page)
    assert re.search(r">\s*请尽快办理</textarea>", page)
    assert re.search(rf'<option selected value="{en.depts["finance"].id}">', page)
    assert re.search(r'id="accept-lead_id".*?</select>\s*<small class="hint">.*?</small>\s*'
                     r'<div class="field-error" role="alert">Please choose an official of that department.</div>',
                     page, re.S)
    # static/app.js puts the ticket page's address in the address bar, so a reload never re-posts
    assert f'<div hidden data-replace-url="/tickets/{t.number}"></div>' in page
    assert "data-replace-url" not in page_of(client.get(f"/tickets/{t.number}"))


def test_a_refused_rating_keeps_the_choices(en, login, client):
    t = file_request(en)
    accept(en, t)
    handle(en, t)
    login(en.firm_user)
    resp = post(client, t, "feedback", {"solved": "no", "rating": "dissatisfied", "comment": ""})
    assert resp.status_code == 400
    page = page_of(resp)
    assert '<input checked id="feedback-solved-2" name="feedback-solved" required type="radio" value="no">' in page
    assert ('<input checked id="feedback-rating-2" name="feedback-rating" required type="radio" '
            'value="dissatisfied">') in page
    assert re.search(r'<label for="feedback-comment">[^<]+</label>\s*<textarea[^>]*>\s*</textarea>\s*'
                     r'<div class="field-error" role="alert">Reason is required.</div>', page)
    assert ticket_state(t) == "handled"


# --- filing for a firm ------------------------------------------------------------------------


def test_the_file_for_page_speaks_to_staff(en, login, client):
    login(en.coordinator)
    page = page_of(client.get("/desk/file"))
    assert "File a request for a firm" in page
    for text in ("The firm’s contact person", "The firm’s contact phone", "Title of the firm’s request",
                 "File the firm’s request"):
        assert text in page, text
    assert "your firm" not in page and "Submit request" not in page
    # the firm's own page keeps speaking to the firm
    login(en.firm_user)
    page = page_of(client.get("/firm/requests/new"))
    assert "your firm" in page and "Contact person" in page and "The firm’s" not in page
