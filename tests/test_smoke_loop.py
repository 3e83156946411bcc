"""The whole loop through the services, as a quick smoke test."""
from tickets.audit import verify_all
from tickets.services.actions import record_feedback

from .conftest import accept, file_request, handle


def test_loop_closes_and_chain_holds(park):
    t = file_request(park)
    assert t.number.endswith("000001") and t.state == "submitted"
    accept(park, t)
    assert t.state == "accepted" and t.round == 1 and t.lead_id == park.hr_official.id
    handle(park, t)
    assert t.state == "handled"
    record_feedback(t, park.firm_user, solved="no", rating="dissatisfied", comment="还是缺人")
    assert t.state == "accepted" and t.round == 2
    handle(park, t)
    record_feedback(t, park.firm_user, solved="yes", rating="satisfied", comment="")
    assert t.state == "fed_back"
    checked, breaks = verify_all()
    assert checked == 1 and breaks == []
