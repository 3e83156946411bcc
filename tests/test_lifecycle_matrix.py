"""The lifecycle against literal matrices: every state x every action x every role.

EXPECTED and RECORD_EXPECTED below are written out by hand from DESIGN.md ("Who uses
it", "The lifecycle", "Clocks": four eyes); they are deliberately NOT derived from
tickets.lifecycle, so that a change of the lifecycle table or of the permission
function that the design does not allow fails here.

Each cell takes a ticket in the cell's state, built through the services (with what
the action needs: a pending request, an open question, a supervision notice; the
refused cells of a row share one, tests/matrix_support.py), snapshots
the database, attempts the action with valid data, and checks:
  state-changing, allowed -> the ticket is in the expected target state and events were added;
  record-only, allowed    -> exactly the expected events and rows were added, the state did not change;
  refused                 -> `Refused` is raised and the snapshot is unchanged.
Double posts and stale versions are in tests/test_lifecycle_twice.py.
"""
from __future__ import annotations

import pytest

from tickets.extensions import db
from tickets.models import Event, Feedback, RatingReview, SupervisionNotice
from tickets.services.actions import perform, record_feedback
from tickets.services.errors import Refused

from .matrix_support import (ROLES, STATES, actor_for, assert_nothing_written, make_ticket, mpark,  # noqa: F401
                             do_handle, refused_cell_ticket, request_transfer, today)
from .records import count, snapshot

# --- the literal matrix of state-changing actions ----------------------------------------

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
    ("handled", "expire"): {"system"},  # once the feedback window has ended (the cell is built in the past)
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


def transfer_setup(action: str):
    kind = {"transfer_same": "same", "transfer_cross": "cross"}.get(action)
    return (lambda park, t: request_transfer(park, t, kind)) if kind else None


def _cells(expected, actions):
    for state in STATES:
        for action in actions:
            allowed = expected.get((state, action), set())
            for role in ROLES:
                ok = role in allowed
                yield pytest.param(state, action, role, ok,
                                   id=f"{state}-{action}-{role}-{'ALLOW' if ok else 'refuse'}")


@pytest.mark.parametrize("state,action,role,allowed", list(_cells(EXPECTED, ACTIONS)))
def test_matrix(mpark, state, action, role, allowed):
    park = mpark
    def build():
        return make_ticket(park, state, transfer_setup(action), past=action == "expire")

    t = build() if allowed else refused_cell_ticket(park, ("state", state, action), build)
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
        if action.startswith("transfer_"):
            assert after["pending_transfers"] == 0
            assert t.lead_id == (park.hr_other.id if action == "transfer_same" else park.fin_official.id)
            assert t.transfer_count == 1
    else:
        with pytest.raises(Refused):
            perform(t, name, actor, **data)
        assert_nothing_written(t.id, before)


# --- the literal matrix of record-only actions -------------------------------------------

# decide_extension and the transfer's denial are two columns each: approve and deny; the
# head inside the department and a coordinator across. Each needs something to act on,
# made right after acceptance (RECORD_SETUP); a request still pending when the round ends
# lapses, so in "handled" and later there is nothing left to decide.
RECORD_ACTIONS = (
    "ask",
    "reply",
    "request_extension",
    "decide_extension_approve",
    "decide_extension_deny",
    "request_transfer",
    "deny_transfer_same",
    "deny_transfer_cross",
    "note",
    "inspector_note",
    "issue_notice",
    "explain_notice",
    "conclude_notice",
    "propose_exclusion",
    "decide_exclusion",
)

STAFF_OF_THE_TICKET = {"coordinator", "lead", "head", "same_dept_official"}
# A notice is issued while the ticket is accepted; it is explained and concluded whatever
# became of the ticket meanwhile.
AFTER_ACCEPTANCE = ("accepted", "handled", "fed_back", "closed_unconfirmed", "closed_forced")

RECORD_EXPECTED: dict[tuple[str, str], set[str]] = {
    ("accepted", "ask"): {"lead", "head"},
    ("accepted", "reply"): {"own_firm"},
    ("handled", "reply"): {"own_firm"},  # a question asked while handling may be answered after
    ("accepted", "request_extension"): {"lead", "head"},
    # Asked by the lead: the head decides, never the lead who asked, nor a coordinator.
    ("accepted", "decide_extension_approve"): {"head"},
    ("accepted", "decide_extension_deny"): {"head"},
    ("accepted", "request_transfer"): {"lead", "head"},
    ("accepted", "deny_transfer_same"): {"head"},
    ("accepted", "deny_transfer_cross"): {"coordinator"},
    # Notes: the coordinators, and the officials of the ticket's department once it has one.
    ("submitted", "note"): {"coordinator"},
    ("rejected", "note"): {"coordinator"},
    ("withdrawn", "note"): {"coordinator"},
    **{(s, "note"): STAFF_OF_THE_TICKET for s in AFTER_ACCEPTANCE},
    **{(s, "inspector_note"): {"inspector"} for s in STATES},
    ("accepted", "issue_notice"): {"inspector"},
    ("handled", "issue_notice"): {"inspector"},
    **{(s, "explain_notice"): {"lead", "head"} for s in AFTER_ACCEPTANCE},
    **{(s, "conclude_notice"): {"inspector"} for s in AFTER_ACCEPTANCE},
    # The review (甄别) of a dissatisfied rating (the ticket was rated dissatisfied in round 1):
    # proposed by a coordinator, decided by an inspector, whatever became of the ticket since.
    **{(s, "propose_exclusion"): {"coordinator"} for s in AFTER_ACCEPTANCE},
    **{(s, "decide_exclusion"): {"inspector"} for s in AFTER_ACCEPTANCE},
}


def _ask(park, t):
    perform(t, "ask", park.hr_official, text="请提供岗位清单")


def _extension(park, t):
    perform(t, "request_extension", park.hr_official, days=3, reason="等待批复", public_reason="协调中")


def _notice(park, t):
    perform(t, "issue_notice", park.inspector, reason="超期未办结")


def _explained(park, t):
    _notice(park, t)
    perform(t, "explain_notice", park.hr_official, explanation="已组织招聘会")


def _dissatisfied(park, t):
    """Round 1 handled and rated dissatisfied: the ticket is back in handling, round 2."""
    do_handle(park, t)
    record_feedback(t, park.firm_user, solved="no", rating="dissatisfied", comment="仍未招到人")


def _proposed(park, t):
    _dissatisfied(park, t)
    perform(t, "propose_exclusion", park.coordinator, feedback_id=_rating_of(t), reason="诉求超出园区职权")


def _rating_of(t) -> int | None:
    return db.session.scalar(db.select(Feedback.id).filter_by(ticket_id=t.id, rating="dissatisfied"))


def _proposal_of(t) -> int | None:
    return db.session.scalar(db.select(RatingReview.id).filter_by(ticket_id=t.id, status="proposed"))


RECORD_SETUP = {
    "reply": _ask,
    "decide_extension_approve": _extension,
    "decide_extension_deny": _extension,
    "deny_transfer_same": lambda park, t: request_transfer(park, t, "same"),
    "deny_transfer_cross": lambda park, t: request_transfer(park, t, "cross"),
    "explain_notice": _notice,
    "conclude_notice": _explained,
    "propose_exclusion": _dissatisfied,
    "decide_exclusion": _proposed,
}

# (service action, valid data) and what an allowed cell adds: the events, in order, and the
# changes of the snapshot's counts.
RECORD_CALLS = {
    "ask": ("ask", dict(text="请补充用工需求"), ["ask"], {"Question": 1}),
    "reply": ("reply", dict(text="已上传清单"), ["reply"], {}),
    "request_extension": ("request_extension", dict(days=5, reason="银行审批", public_reason="审批中"),
                          ["request_extension"], {"ExtensionRequest": 1, "pending_extensions": 1}),
    "decide_extension_approve": ("decide_extension", dict(decision="approve", comment=""),
                                 ["extension_approved"], {"pending_extensions": -1}),
    "decide_extension_deny": ("decide_extension", dict(decision="deny", comment="期限内办结"),
                              ["extension_denied"], {"pending_extensions": -1}),
    "request_transfer": ("request_transfer", dict(to_department_id="finance", reason="属于融资问题"),
                         ["request_transfer"], {"TransferRequest": 1, "pending_transfers": 1}),
    "deny_transfer_same": ("deny_transfer", dict(comment="不同意"), ["deny_transfer"], {"pending_transfers": -1}),
    "deny_transfer_cross": ("deny_transfer", dict(comment="不同意"), ["deny_transfer"], {"pending_transfers": -1}),
    "note": ("note", dict(text="内部备注", visibility="internal"), ["note"], {}),
    "inspector_note": ("inspector_note", dict(text="关注办理进度"), ["inspector_note"], {}),
    "issue_notice": ("issue_notice", dict(reason="超期未办结"), ["issue_notice"], {"Clock": 1, "open_clocks": 1}),
    "explain_notice": ("explain_notice", dict(explanation="已组织招聘会"), ["explain_notice"], {"open_clocks": -1}),
    "conclude_notice": ("conclude_notice", dict(conclusion="accepted", comment="说明属实"), ["conclude_notice"], {}),
    # feedback_id and review_id are the ticket's own (resolved in the cell).
    "propose_exclusion": ("propose_exclusion", dict(feedback_id=_rating_of, reason="诉求超出园区职权"),
                          ["propose_exclusion"], {"RatingReview": 1}),
    "decide_exclusion": ("decide_exclusion", dict(review_id=_proposal_of, decision="confirm", comment=""),
                         ["decide_exclusion"], {}),
}
# The ticket's own fields that no record-only action changes (tests/records.py, snapshot).
STATE, LEAD, DEPARTMENT, ROUND, CLOSED_AT, TRANSFERS, SOLVED, RATING, DUE = 0, 4, 5, 6, 7, 8, 9, 10, 11


@pytest.mark.parametrize("state,action,role,allowed", list(_cells(RECORD_EXPECTED, RECORD_ACTIONS)))
def test_record_only_matrix(mpark, state, action, role, allowed):
    park = mpark
    def build():
        return make_ticket(park, state, RECORD_SETUP.get(action))

    t = build() if allowed else refused_cell_ticket(park, ("record", state, action), build)
    assert t.state == state
    actor = actor_for(park, role)
    name, data, events, grows = RECORD_CALLS[action]
    if "to_department_id" in data:
        data = dict(data, to_department_id=park.depts[data["to_department_id"]].id)
    data = {k: v(t) if callable(v) else v for k, v in data.items()}
    before = snapshot(t.id)
    seq_before = t.event_count
    notices_before = count(SupervisionNotice, ticket_id=t.id)

    if not allowed:
        with pytest.raises(Refused):
            perform(t, name, actor, **data)
        assert_nothing_written(t.id, before)
        return
    perform(t, name, actor, **data)
    after = snapshot(t.id)
    added = db.session.scalars(db.select(Event.action).where(Event.ticket_id == t.id, Event.seq > seq_before)
                               .order_by(Event.seq)).all()
    assert added == events
    assert after["Event"] == before["Event"] + len(events)
    unchanged = (STATE, LEAD, DEPARTMENT, ROUND, CLOSED_AT, TRANSFERS, SOLVED, RATING)
    assert [after["ticket"][i] for i in unchanged] == [before["ticket"][i] for i in unchanged]
    if action == "decide_extension_approve":
        assert after["ticket"][DUE] > before["ticket"][DUE]
    else:
        assert after["ticket"][DUE] == before["ticket"][DUE]
    for key in before:
        if key not in ("ticket", "Event"):
            assert after[key] == before[key] + grows.get(key, 0), key
    assert count(SupervisionNotice, ticket_id=t.id) == notices_before + (action == "issue_notice")


def test_matrices_are_complete_and_well_formed():
    """Every key of the literal matrices names a real state, action column and role."""
    for (state, action), who in EXPECTED.items():
        assert state in STATES and action in ACTIONS and who <= set(ROLES)
    for (state, action), who in RECORD_EXPECTED.items():
        assert state in STATES and action in RECORD_ACTIONS and who <= set(ROLES)
    assert set(RECORD_CALLS) == set(RECORD_ACTIONS)
    # Terminal states allow no change of state at all.
    for state in ("fed_back", "closed_unconfirmed", "closed_forced", "rejected", "withdrawn"):
        assert not any(EXPECTED.get((state, a)) for a in ACTIONS)
    # The inspector, the admin, the other firm and other departments change no state ever.
    for who in ("inspector", "admin", "other_firm", "other_dept_official", "leader", "same_dept_official"):
        assert not any(who in roles for roles in EXPECTED.values())
    # The worker records nothing; the admin, the leader, the other firm and other departments neither.
    for who in ("system", "admin", "leader", "other_firm", "other_dept_official"):
        assert not any(who in roles for roles in RECORD_EXPECTED.values())
    # Four eyes: whoever asked (the lead, in these cells) never decides.
    for action in ("decide_extension_approve", "decide_extension_deny", "deny_transfer_same",
                   "deny_transfer_cross"):
        assert not any("lead" in RECORD_EXPECTED.get((s, action), set()) for s in STATES)
