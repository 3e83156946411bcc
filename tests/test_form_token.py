"""A request form posted twice files one ticket: double click, back and resubmit, two posts at once.

Through HTTP with the test client, the way the browser posts the page's form: the form
carries a one-time token in a hidden field; the second post of the same token is sent to
the ticket the first one filed and writes nothing (no row, no file, no number taken).
"""
from __future__ import annotations

import html
import io
import os
import re
import threading

import pytest

from tickets.extensions import db
from tickets.models import Event, Ticket, UsedFormToken

from .conftest import PASSWORD
from .records import count

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
EXPIRED = "This form has expired. Please check it and submit it again."


def token_of(page: str) -> str:
    m = re.search(r'<input[^>]*name="form_token"[^>]*value="([^"]*)"', page) or re.search(
        r'<input[^>]*value="([^"]*)"[^>]*name="form_token"', page)
    assert m, "no form_token field"
    return m.group(1)


def form_data(park, token: str, **over) -> dict:
    data = dict(category_id=str(park.category("labor").id), title="招工难", description="缺少 30 名操作工",
                urgency="normal", contact_name="王经理", contact_phone="13800138000", form_token=token)
    data.update(over)
    return data


def post(client, data: dict, url: str = "/firm/requests/new", pdf: bool = True):
    data = dict(data)
    if pdf:
        data["attachments"] = [(io.BytesIO(PDF), "说明.pdf")]
    return client.post(url, data=data, content_type="multipart/form-data")


def files(app) -> list[str]:
    d = app.config["UPLOAD_DIR"]
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def written(app) -> tuple:
    db.session.expire_all()
    return count(Ticket), count(Event), count(UsedFormToken), len(files(app))


def english(park):
    for u in (park.firm_user, park.firm_b_user, park.coordinator):
        u.language = "en"
    db.session.commit()


def test_each_form_gets_its_own_token(park, login):
    client = login(park.firm_user)
    first = token_of(client.get("/firm/requests/new").get_data(as_text=True))
    second = token_of(client.get("/firm/requests/new").get_data(as_text=True))
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", first) and first != second


def test_double_click_files_one_ticket(app, park, login):
    english(park)
    client = login(park.firm_user)
    data = form_data(park, token_of(client.get("/firm/requests/new").get_data(as_text=True)))
    first = post(client, data)
    assert first.status_code == 302
    after_first = written(app)
    assert after_first[0] == 1 and after_first[3] == 1
    second = post(client, data)
    assert second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert written(app) == after_first
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    number = db.session.scalars(db.select(Ticket)).one().number
    assert f"This form was already submitted: it filed request {number}, and nothing more." in html.unescape(page)


def test_back_and_resubmit_after_a_refused_post(app, park, login):
    """A refused post shows the form again with the same token; the corrected post files once."""
    client = login(park.firm_user)
    token = token_of(client.get("/firm/requests/new").get_data(as_text=True))
    refused = post(client, form_data(park, token, contact_phone="abc"))
    assert refused.status_code == 400
    assert token_of(refused.get_data(as_text=True)) == token      # unused: kept
    assert written(app) == (0, 0, 0, 0)
    ok = post(client, form_data(park, token))
    assert ok.status_code == 302
    # Back to the page the browser kept, and submit it again: the same ticket.
    again = post(client, form_data(park, token, title="招工难（再次提交）"))
    assert again.status_code == 302 and again.headers["Location"] == ok.headers["Location"]
    assert written(app)[:3] == (1, 1, 1)
    assert db.session.scalars(db.select(Ticket)).one().title == "招工难"


def test_back_to_a_form_fetched_again(app, park, login):
    """Back fetches the form anew (a new token in the page) and the browser puts back the kept one."""
    client = login(park.firm_user)
    used = token_of(client.get("/firm/requests/new").get_data(as_text=True))
    first = post(client, form_data(park, used, form_token_kept=used))
    assert first.status_code == 302
    fresh = token_of(client.get("/firm/requests/new").get_data(as_text=True))
    assert fresh != used
    again = post(client, form_data(park, fresh, form_token_kept=used))
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert written(app) == (1, 1, 1, 1)


@pytest.mark.parametrize("token", ["", "short", "x" * 33, "../../" + "a" * 26, "\x00" * 32])
def test_a_form_without_a_valid_token_files_nothing(app, park, login, token):
    english(park)
    client = login(park.firm_user)
    data = form_data(park, token)
    if token == "":
        del data["form_token"]
    resp = post(client, data)
    assert resp.status_code == 400
    assert EXPIRED in html.unescape(resp.get_data(as_text=True))
    assert written(app) == (0, 0, 0, 0)
    # The form shown again carries a fresh token: submitting it as it stands files the request.
    fresh = token_of(resp.get_data(as_text=True))
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", fresh)
    assert post(client, form_data(park, fresh)).status_code == 302
    assert written(app)[0] == 1


def test_another_users_token_is_no_token(app, park, login):
    """Firm B posting firm A's used token learns nothing of A's ticket and files nothing."""
    english(park)
    client = login(park.firm_user)
    token = token_of(client.get("/firm/requests/new").get_data(as_text=True))
    first = post(client, form_data(park, token))
    assert first.status_code == 302
    client.get(first.headers["Location"])  # the browser follows: the "filed" message is shown there
    number = db.session.scalars(db.select(Ticket)).one().number
    before = written(app)
    client = login(park.firm_b_user)
    resp = post(client, form_data(park, token))
    assert resp.status_code == 400
    assert number not in resp.get_data(as_text=True) and EXPIRED in html.unescape(resp.get_data(as_text=True))
    assert written(app) == before


def test_filing_for_a_firm_twice_files_one_ticket(app, park, login):
    client = login(park.coordinator)
    token = token_of(client.get("/desk/file").get_data(as_text=True))
    data = form_data(park, token, firm_id=str(park.firm_a.id), channel="phone")
    first = post(client, data, "/desk/file")
    assert first.status_code == 302
    second = post(client, data, "/desk/file")
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]
    assert written(app) == (1, 1, 1, 1)


def test_two_posts_at_once_file_one_ticket(app, park, monkeypatch):
    """Two clients post the same form together; both pass the first check before either writes."""
    from tickets.services import filing

    clients = []
    for _ in range(2):
        c = app.test_client()
        assert c.post("/login", data={"username": park.firm_user.username, "password": PASSWORD}).status_code == 302
        clients.append(c)
    token = token_of(clients[0].get("/firm/requests/new").get_data(as_text=True))
    data = form_data(park, token)

    # Hold each post after its look-up of the token until both have looked it up (and found
    # nothing): the race the database must settle.
    barrier = threading.Barrier(2, timeout=20)
    waited = threading.local()
    real = filing._raise_if_used

    def held(form_token, actor):
        real(form_token, actor)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()

    monkeypatch.setattr(filing, "_raise_if_used", held)
    results: list = [None, None]

    def run(i):
        try:
            resp = post(clients[i], data)
            results[i] = (resp.status_code, resp.headers.get("Location"))
        except BaseException as exc:  # noqa: BLE001  (reported below)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert all(isinstance(r, tuple) for r in results), results
    assert [r[0] for r in results] == [302, 302], results
    assert results[0][1] == results[1][1], results
    assert written(app) == (1, 1, 1, 1)
    assert db.session.scalar(db.select(db.func.max(Ticket.number))).endswith("000001")
