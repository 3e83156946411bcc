"""Regressions from the security review: odd input gets a 4xx or is cleaned, never a 500."""
import pytest

from tickets.extensions import db
from tickets.models import Ticket

from .conftest import accept, file_request


def test_control_characters_are_dropped_from_text(park):
    t = file_request(park, title="招工\x01难\x1f", description="第一行\n第二行\x07")
    assert t.title == "招工难" and t.description == "第一行\n第二行"


def test_anonymous_options_on_admin_is_not_a_server_error(client):
    resp = client.open("/admin/users", method="OPTIONS")
    assert resp.status_code in (200, 302, 401)


@pytest.mark.parametrize("url", [
    "/inspect/desk?tab=dissatisfied&after=²",
    "/inspect/desk?tab=extensions&after=²|²",
    "/inspect/desk?tab=repeats&after=1|²|3",
    "/inspect/desk?tab=overdue&after=0|2026-01-01T00:00:00|99999999999999999999999",
    "/inspect/desk?tab=rework&after=2|99999999999999999999999",
    "/inbox/?before=99999999999999999999999",
    "/rates/?week=0001-W01",
    "/rates/?month=0001-01",
    "/rates/?week=9999-W52",
    "/rates/?from=9999-12-01&to=9999-12-31",
])
def test_odd_query_parameters_never_give_500(park, login, url):
    file_request(park)
    client = login(park.inspector)
    resp = client.get(url)
    assert resp.status_code < 500, (url, resp.status_code)


def test_admin_retry_ignores_odd_ids(park, login):
    client = login(park.admin)
    resp = client.post("/admin/worker/retry", data={"id": ["²", "99999999999999999999999"]})
    assert resp.status_code == 302


def test_missing_attachment_file_is_a_404(park, login, app, tmp_path):
    import os

    from .test_attachments_unit import make_png

    from tickets.models import Attachment
    from tickets.services.common import Upload

    png = make_png()
    t = file_request(park, uploads=[Upload("图.png", png)])
    a = db.session.scalar(db.select(Attachment).filter_by(ticket_id=t.id))
    os.remove(os.path.join(app.config["UPLOAD_DIR"], a.stored_name))
    client = login(park.firm_user)
    assert client.get(f"/tickets/{t.number}/attachments/{a.id}").status_code == 404


def test_meeting_decision_with_stray_form_fields_is_not_a_500(park, login, clock):
    from tickets.services.meeting import build_list

    clock(2026, 11, 23, 9, 0)
    t = file_request(park)
    accept(park, t)
    clock(2026, 11, 24, 9, 0)
    ml = build_list("2026-W48")
    client = login(park.coordinator)
    resp = client.post(f"/meeting/{ml.week}/decide/{t.number}",
                       data={"actor": "x", "ml": "y", "number": "z", "what": "协调", "who_text": "人社局",
                             "by_date": "2026-11-30"})
    assert resp.status_code < 500
    resp = client.post(f"/meeting/{ml.week}/decide/{t.number}",
                       data={"what": "协调", "who_text": "人社局", "by_date": "9999-12-30", "new_due": "9999-12-30"})
    assert resp.status_code < 500
    assert db.session.get(Ticket, t.id).state == "accepted"
