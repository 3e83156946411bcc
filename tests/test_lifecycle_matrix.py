"""The lifecycle against a literal matrix: every state x every state-changing action x every role.

EXPECTED below is written out by hand from DESIGN.md ("The lifecycle"); it is deliberately
NOT derived from tickets.lifecycle, so that a change of the lifecycle table or of the
permission function that the design does not allow fails here.

Each cell builds a fresh ticket in the cell's state through the services, snapshots the
database, attempts the action with valid data, and checks:
  allowed -> the ticket is in the expected target state and events were added;
  refused -> `Refused` is raised and the snapshot is unchanged.

One database for the module (creating the park's users costs a second or two of scrypt);
every cell still gets a ticket of its own, so cells are independent.
"""
from __future__ import annotations

import os
from datetime import datetime

import pytest

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.models import Event, Ticket
from tickets.reference import ensure_reference_data
from tickets.services.actions import perform, record_feedback
from tickets.services.errors import Refused, StaleTicket
from tickets.timeutil import from_local, now, set_now, to_local

from .records import count, snapshot
from .conftest import Park, file_request

# --- the literal matrix --------------------------------------------------------------------

STATES = (
    "submitted",
    "accepted",
    "handled",
    "fed_back",
    "closed_unconfirmed",
    "closed_forced",
    "rejected",
    "withdrawn",
)

# "transfer" approves a pending transfer request; it is two columns because the approver
# differs: the head of the department inside it, a coordinator across departments.
ACTIONS = (
    "accept",
    "reject",
    "withdraw",
    "handle",
    "feedback",
    "rework",
    "expire",
    "force_close",
    "transfer_same",
    "transfer_cross",
)

# Relations of the actor to the ticket (firm A's labor request, led by an HR official).
ROLES = (
    "own_firm",            # a user of the ticket's firm
    "other_firm",          # a user of another firm
    "coordinator",
    "lead",                # the ticket's lead official
    "head",                # head of the ticket's department
    "same_dept_official",  # another (non-head) official of the ticket's department
    "other_dept_official", # an official of another department
    "leader",              # the firm's liaison leader
    "inspector",
    "admin",
    "system",              # the worker: actor None
)

# Who may take each action from each state. Every (state, action, role) not listed is refused.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("submitted", "accept"): {"coordinator"},
    ("submitted", "reject"): {"coordinator"},
    ("submitted", "withdraw"): {"own_firm"},
    ("accepted", "handle"): {"lead", "head"},
    ("accepted", "force_close"): {"coordinator"},
    ("accepted", "transfer_same"): {"head"},
    ("accepted", "transfer_cross"): {"coordinator"},
    ("handled", "feedback"): {"own_firm"},
    ("handled", "rework"): {"own_firm"},
    ("handled", "expire"): {"system"},
    ("handled", "force_close"): {"coordinator"},
}

# The state after an allowed action.
TARGET = {
    "accept": "accepted",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "handle": "handled",
    "feedback": "fed_back",
    "rework": "accepted",
    "expire": "closed_unconfirmed",
    "force_close": "closed_forced",
    "transfer_same": "accepted",
    "transfer_cross": "accepted",
}

# A Tuesday, a working day, in the morning (Shanghai): the service clock is frozen here.
FROZEN = datetime(2026, 3, 10, 10, 0)


def _cells():
    for state in STATES:
        for action in ACTIONS:
            allowed = EXPECTED.get((state, action), set())
            for role in ROLES:
                ok = role in allowed
                yield pytest.param(state, action, role, ok,
                                   id=f"{state}-{action}-{role}-{'ALLOW' if ok else 'refuse'}")


# --- one database for the module -----------------------------------------------------------


@pytest.fixture(scope="module")
def mpark(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matrix")

    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp / "uploads")
        # In memory: ~900 cells of commits, and nothing here depends on a file.
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    if os.environ.get("TEST_DATABASE_URL"):
        Cfg.SQLALCHEMY_DATABASE_URI = os.environ["TEST_DATABASE_URL"]
    app = create_app(Cfg)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        set_now(from_local(FROZEN))
        try:
            yield Park()
        finally:
            set_now(None)
            db.session.remove()
            db.drop_all()


def actor_for(park: Park, role: str):
    return {
        "own_firm": park.firm_user,
        "other_firm": park.firm_b_user,
        "coordinator": park.coordinator,
        "lead": park.hr_official,
        "head": park.hr_head,
        "same_dept_official": park.hr_other,
        "other_dept_official": park.fin_official,
        "leader": park.leader,
        "inspector": park.inspector,
        "admin": park.admin,
        "system": None,
    }[role]


def today():
    return to_local(now()).date()


def do_handle(park, t):
    perform(t, "handle", park.hr_official, outcome="resolved", what_was_done="推荐了 30 名工人",
            explanation="", contact_method="phone", contacted_on=today())


def request_transfer(park, t, kind: str):
    """A pending transfer request by the lead: inside HR (to hr_other) or to Finance."""
    if kind == "same":
        perform(t, "request_transfer", park.hr_official, to_department_id=park.depts["hr"].id,
                to_lead_id=park.hr_other.id, reason="内部调整")
    else:
        perform(t, "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id,
                to_lead_id=park.fin_official.id, reason="属于融资问题")


def make_ticket(park, state: str, transfer: str | None = None) -> Ticket:
    """A ticket of firm A in `state`, built through the services.

    With `transfer` ("same" / "cross"), a transfer request is left pending from the moment
    the ticket is accepted (for states that pass through "accepted").
    """
    t = file_request(park)
    if state == "submitted":
        return t
    if state == "rejected":
        return perform(t, "reject", park.coordinator, reason="不属于受理范围")
    if state == "withdrawn":
        return perform(t, "withdraw", park.firm_user, reason="")
    perform(t, "accept", park.coordinator, lead_id=park.hr_official.id,
            department_id=park.hr_official.department_id)
    if transfer:
        request_transfer(park, t, transfer)
    if state == "accepted":
        return t
    if state == "closed_forced":
        return perform(t, "force_close", park.coordinator, reason="企业已停产")
    do_handle(park, t)
    if state == "handled":
        return t
    if state == "fed_back":
        return record_feedback(t, park.firm_user, solved="yes", rating="satisfied", comment="")
    if state == "closed_unconfirmed":
        return perform(t, "expire", None)
    raise AssertionError(state)


def action_call(park, action: str):
    """(service action name, valid data) for a matrix column."""
    return {
        "accept": ("accept", dict(lead_id=park.hr_official.id, department_id=park.depts["hr"].id, note="")),
        "reject": ("reject", dict(reason="重复提交")),
        "withdraw": ("withdraw", dict(reason="问题已自行解决")),
        "handle": ("handle", dict(outcome="resolved", what_was_done="协调招聘会", explanation="",
                                  contact_method="visit", contacted_on=today())),
        "feedback": ("feedback", dict(solved="yes", rating="satisfied", comment="谢谢")),
        "rework": ("rework", dict(solved="no", rating="dissatisfied", comment="还是缺人")),
        "expire": ("expire", {}),
        "force_close": ("force_close", dict(reason="企业已注销")),
        "transfer_same": ("transfer", dict(comment="同意")),
        "transfer_cross": ("transfer", dict(comment="同意")),
    }[action]


def assert_nothing_written(ticket_id: int, before: dict):
    """No pending change left in the session, and the database as it was."""
    assert not (db.session.new or db.session.dirty or db.session.deleted), "a refused action left changes"
    assert snapshot(ticket_id) == before
    db.session.rollback()


# --- the matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize("state,action,role,allowed", list(_cells()))
def test_matrix(mpark, state, action, role, allowed):
    park = mpark
    transfer = {"transfer_same": "same", "transfer_cross": "cross"}.get(action)
    t = make_ticket(park, state, transfer)
    assert t.state == state
    actor = actor_for(park, role)
    name, data = action_call(park, action)
    before = snapshot(t.id)
    events_before = count(Event, ticket_id=t.id)

    if allowed:
        perform(t, name, actor, **data)
        after = snapshot(t.id)
        db.session.refresh(t)
        assert t.state == TARGET[action]
        assert count(Event, ticket_id=t.id) > events_before
        assert t.event_count == count(Event, ticket_id=t.id)
        assert t.version > before["ticket"][1]
        last = db.session.scalars(db.select(Event).filter_by(ticket_id=t.id, action=name)).all()
        assert last and last[-1].to_state == TARGET[action]
        if transfer:
            assert after["pending_transfers"] == 0
            assert t.lead_id == (park.hr_other.id if transfer == "same" else park.fin_official.id)
            assert t.transfer_count == 1
    else:
        with pytest.raises(Refused):
            perform(t, name, actor, **data)
        assert_nothing_written(t.id, before)


def test_matrix_is_complete_and_well_formed():
    """Every key of the literal matrix names a real state, action column and role."""
    for (state, action), who in EXPECTED.items():
        assert state in STATES and action in ACTIONS and who <= set(ROLES)
    # Terminal states allow nothing at all.
    for state in ("fed_back", "closed_unconfirmed", "closed_forced", "rejected", "withdrawn"):
        assert not any(EXPECTED.get((state, a)) for a in ACTIONS)
    # The inspector, the admin, the other firm and other departments change no state ever.
    for who in ("inspector", "admin", "other_firm", "other_dept_official", "leader", "same_dept_official"):
        assert not any(who in roles for roles in EXPECTED.values())


# --- double posts and stale versions --------------------------------------------------------

TWICE = [
    # (state to start from, matrix column, role)
    ("submitted", "accept", "coordinator"),
    ("submitted", "reject", "coordinator"),
    ("submitted", "withdraw", "own_firm"),
    ("accepted", "handle", "lead"),
    ("accepted", "force_close", "coordinator"),
    ("accepted", "transfer_same", "head"),
    ("accepted", "transfer_cross", "coordinator"),
    ("handled", "feedback", "own_firm"),
    ("handled", "rework", "own_firm"),
    ("handled", "expire", "system"),
]


@pytest.mark.parametrize("state,action,role", TWICE, ids=[f"{s}-{a}" for s, a, _r in TWICE])
def test_posted_twice_second_is_refused(mpark, state, action, role):
    park = mpark
    transfer = {"transfer_same": "same", "transfer_cross": "cross"}.get(action)
    t = make_ticket(park, state, transfer)
    actor = actor_for(park, role)
    name, data = action_call(park, action)
    perform(t, name, actor, **data)
    assert t.state == TARGET[action]
    after_first = snapshot(t.id)
    if action == "rework":
        # Back to "accepted": rework again is not possible, but the same post must not
        # open yet another round either.
        assert t.round == 2
    with pytest.raises(Refused):
        perform(t, name, actor, **data)
    assert_nothing_written(t.id, after_first)


def test_posted_twice_with_the_form_version_is_stale(mpark):
    """The page's form carries the version: a resubmitted form is stale, not applied twice."""
    park = mpark
    t = make_ticket(park, "submitted")
    v = t.version
    perform(t, "accept", park.coordinator, version=v, lead_id=park.hr_official.id,
            department_id=park.depts["hr"].id)
    after_first = snapshot(t.id)
    with pytest.raises(StaleTicket):
        perform(t, "accept", park.coordinator, version=v, lead_id=park.hr_official.id,
                department_id=park.depts["hr"].id)
    assert_nothing_written(t.id, after_first)


STALE = [
    # (state, matrix column, role): allowed actions, attempted with the version before the last change
    ("accepted", "handle", "lead"),
    ("accepted", "force_close", "coordinator"),
    ("accepted", "transfer_same", "head"),
    ("handled", "feedback", "own_firm"),
    ("handled", "rework", "own_firm"),
    ("handled", "force_close", "coordinator"),
]


@pytest.mark.parametrize("state,action,role", STALE, ids=[f"{s}-{a}" for s, a, _r in STALE])
def test_stale_version_writes_nothing(mpark, state, action, role):
    park = mpark
    transfer = {"transfer_same": "same", "transfer_cross": "cross"}.get(action)
    t = file_request(park)
    old = t.version  # the version a page loaded before acceptance showed
    # bring the ticket to `state`, changing it (and its version) on the way
    perform(t, "accept", park.coordinator, lead_id=park.hr_official.id, department_id=park.depts["hr"].id)
    if transfer:
        request_transfer(park, t, transfer)
    if state == "handled":
        do_handle(park, t)
    assert t.state == state and t.version != old
    actor = actor_for(park, role)
    name, data = action_call(park, action)
    before = snapshot(t.id)
    with pytest.raises(StaleTicket):
        perform(t, name, actor, version=old, **data)
    assert_nothing_written(t.id, before)
    # the current version works
    perform(t, name, actor, version=t.version, **data)
    assert t.state == TARGET[action]


def test_stale_version_on_note_writes_nothing(mpark):
    """Record-only actions check the version too."""
    park = mpark
    t = make_ticket(park, "accepted")
    old = t.version
    perform(t, "ask", park.hr_official, text="请提供岗位清单")
    before = snapshot(t.id)
    with pytest.raises(StaleTicket):
        perform(t, "note", park.hr_official, version=old, text="内部备注", visibility="internal")
    assert_nothing_written(t.id, before)
