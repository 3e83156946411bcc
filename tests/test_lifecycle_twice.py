"""Double posts and stale versions: a form posted twice, or built from an older version, changes nothing.

The cells take allowed actions of the matrix in tests/test_lifecycle_matrix.py; the
second post (or the stale one) must be refused and write nothing.
"""
from __future__ import annotations

import pytest

from tickets.services.actions import perform
from tickets.services.errors import Refused, StaleTicket

from .conftest import file_request
from .matrix_support import actor_for, assert_nothing_written, do_handle, make_ticket, mpark, request_transfer  # noqa: F401
from .records import snapshot
from .test_lifecycle_matrix import TARGET, action_call, transfer_setup

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
    t = make_ticket(park, state, transfer_setup(action), past=action == "expire")
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
