"""Four eyes: nobody decides their own extension or transfer request.

The expected deciders are written out by hand from DESIGN.md (Clocks; Separation of
duties): a request inside a department goes to its head, unless the head is the
requester or the department has no active head, when a coordinator decides; a
transfer across departments goes to a coordinator; never to the requester. Each
refusal is checked to change nothing; the approvals inbox and the notification of a
new request must name exactly the same users as the permission function.
"""
from __future__ import annotations

import pytest

from tickets.extensions import db
from tickets.models import ExtensionRequest, OutboxMessage, TransferRequest, User
from tickets.permissions import may
from tickets.services.actions import perform
from tickets.services.approvals import inbox
from tickets.services.errors import Refused

from .conftest import accept, file_request
from .records import snapshot


def ask_extension(t, by, days=3):
    perform(t, "request_extension", by, days=days, reason="等待上级批复", public_reason="协调中")


def ask_transfer_inside(park, t, by, to):
    perform(t, "request_transfer", by, to_department_id=to.department_id, to_lead_id=to.id, reason="分工调整")


def staff(park) -> list[User]:
    return [park.coordinator, park.leader, park.inspector, park.admin, park.hr_head, park.hr_official,
            park.hr_other, park.fin_head, park.fin_official]


def decided_by(park, t, action) -> set[str]:
    """Who may decide the ticket's pending request, by username, as the permission function says."""
    return {u.username for u in staff(park) + extra_users() if may(u, action, t)}


def extra_users() -> list[User]:
    return list(db.session.scalars(db.select(User).where(User.username.in_(("coord2", "coord_off", "plan_off")))))


def in_inbox(park, req) -> set[str]:
    out = set()
    for u in staff(park) + extra_users():
        ext, trans = inbox(u)
        if req in ext or req in trans:
            out.add(u.username)
    return out


def told(kind: str) -> set[str]:
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(kind=kind, channel="inapp")).all()
    return {db.session.get(User, r.user_id).username for r in rows}


def refused_and_unchanged(t, action, actor, **data):
    before = snapshot(t.id)
    with pytest.raises(Refused):
        perform(t, action, actor, **data)
    db.session.rollback()
    assert snapshot(t.id) == before


# --- a head's own request goes to a coordinator -------------------------------------------


def test_head_never_approves_own_extension(park):
    t = file_request(park)
    accept(park, t, lead=park.hr_head)
    ask_extension(t, park.hr_head)
    req = db.session.scalar(db.select(ExtensionRequest))
    assert decided_by(park, t, "decide_extension") == {"coord"}
    assert in_inbox(park, req) == {"coord"}
    assert told("extension_requested") == {"coord"}
    refused_and_unchanged(t, "decide_extension", park.hr_head, decision="approve", comment="")
    perform(t, "decide_extension", park.coordinator, decision="approve", comment="同意")
    assert req.status == "approved" and req.decided_by_id == park.coordinator.id


def test_head_may_not_request_for_a_led_ticket_and_approve_it(park):
    """A head who asks on a ticket an official leads is the requester too: a coordinator decides."""
    t = file_request(park)
    accept(park, t)
    ask_extension(t, park.hr_head)
    assert decided_by(park, t, "decide_extension") == {"coord"}
    refused_and_unchanged(t, "decide_extension", park.hr_head, decision="deny", comment="")


def test_an_officials_extension_goes_to_the_head_only(park):
    t = file_request(park)
    accept(park, t)
    ask_extension(t, park.hr_official)
    req = db.session.scalar(db.select(ExtensionRequest))
    assert decided_by(park, t, "decide_extension") == {"hr_head"}
    assert in_inbox(park, req) == {"hr_head"}
    assert told("extension_requested") == {"hr_head"}
    refused_and_unchanged(t, "decide_extension", park.coordinator, decision="approve", comment="")


def test_head_never_approves_own_same_department_transfer(park):
    t = file_request(park)
    accept(park, t, lead=park.hr_head)
    ask_transfer_inside(park, t, park.hr_head, park.hr_other)
    req = db.session.scalar(db.select(TransferRequest))
    assert decided_by(park, t, "transfer") == decided_by(park, t, "deny_transfer") == {"coord"}
    assert in_inbox(park, req) == {"coord"}
    assert told("transfer_requested") == {"coord"}
    refused_and_unchanged(t, "transfer", park.hr_head, comment="")
    refused_and_unchanged(t, "deny_transfer", park.hr_head, comment="不同意")
    perform(t, "transfer", park.coordinator, comment="")
    assert t.lead_id == park.hr_other.id and req.decided_by_id == park.coordinator.id


def test_a_second_head_decides_when_the_first_asks(park):
    """Two heads in a department: the one who did not ask decides; no coordinator is needed."""
    deputy = park.user("hr_deputy", "official", dept="hr", head=True)
    db.session.commit()
    t = file_request(park)
    accept(park, t, lead=park.hr_head)
    ask_extension(t, park.hr_head)
    assert {u.username for u in staff(park) + [deputy] if may(u, "decide_extension", t)} == {"hr_deputy"}


# --- roles held together: still never one's own ------------------------------------------


def test_coordinator_and_official_never_approves_own_request(park):
    """A coordinator who is also an official of a department without a head."""
    both = park.user("coord_off", "coordinator", "official", dept="planning")
    park.user("coord2", "coordinator")
    db.session.commit()
    t = file_request(park, category_id=park.category("land").id)
    accept(park, t, lead=both)
    ask_extension(t, both)
    req = db.session.scalar(db.select(ExtensionRequest))
    assert decided_by(park, t, "decide_extension") == {"coord", "coord2"}
    assert in_inbox(park, req) == {"coord", "coord2"}
    assert told("extension_requested") == {"coord", "coord2"}
    refused_and_unchanged(t, "decide_extension", both, decision="approve", comment="")
    perform(t, "decide_extension", park.coordinator, decision="deny", comment="")
    # Across departments, the same: a coordinator, but not the one who asked.
    perform(t, "request_transfer", both, to_department_id=park.depts["hr"].id, to_lead_id=park.hr_official.id,
            reason="属于用工问题")
    trans = db.session.scalar(db.select(TransferRequest))
    assert decided_by(park, t, "transfer") == {"coord", "coord2"}
    assert in_inbox(park, trans) == {"coord", "coord2"}
    refused_and_unchanged(t, "transfer", both, comment="")


# --- a department without an (active) head --------------------------------------------------


def test_no_head_department_goes_to_a_coordinator(park):
    plan = park.user("plan_off", "official", dept="planning")
    plan_other = park.user("plan_other", "official", dept="planning")
    db.session.commit()
    t = file_request(park, category_id=park.category("land").id)
    accept(park, t, lead=plan)
    ask_extension(t, plan)
    req = db.session.scalar(db.select(ExtensionRequest))
    assert decided_by(park, t, "decide_extension") == {"coord"}
    assert in_inbox(park, req) == {"coord"}
    assert told("extension_requested") == {"coord"}
    perform(t, "decide_extension", park.coordinator, decision="approve", comment="")
    ask_transfer_inside(park, t, plan, plan_other)
    assert decided_by(park, t, "transfer") == {"coord"}
    perform(t, "transfer", park.coordinator, comment="")
    assert t.lead_id == plan_other.id


def test_an_inactive_head_is_no_head(park):
    park.hr_head.active = False
    db.session.commit()
    t = file_request(park)
    accept(park, t)
    ask_extension(t, park.hr_official)
    req = db.session.scalar(db.select(ExtensionRequest))
    assert decided_by(park, t, "decide_extension") == {"coord"}
    assert in_inbox(park, req) == {"coord"}
    assert told("extension_requested") == {"coord"}


# --- the approvals page ------------------------------------------------------------------------


def test_approvals_page_lists_what_the_user_may_decide(park, client, login):
    t1 = file_request(park, title="处长自己的")
    accept(park, t1, lead=park.hr_head)
    ask_extension(t1, park.hr_head)
    t2 = file_request(park, title="经办人的")
    accept(park, t2)
    ask_extension(t2, park.hr_official)
    login(park.hr_head)
    html = client.get("/desk/approvals").get_data(as_text=True)
    assert t2.number in html and t1.number not in html
    login(park.coordinator)
    html = client.get("/desk/approvals").get_data(as_text=True)
    assert t1.number in html and t2.number not in html
    login(park.hr_official)
    assert client.get("/desk/approvals").status_code == 403
