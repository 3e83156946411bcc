"""The lifecycle of a ticket, as one table.

Every action, whether it moves the state or only adds to the record, is a row
here: the states it starts from, the state it leads to (None: the state does
not change), and who may take it (a rule name that `permissions.may` knows).
The service `services.actions.perform` is the only code that applies them, and
the buttons on a ticket page are read from the same table.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

OPEN_STATES = ("submitted", "accepted", "handled")
TERMINAL_STATES = ("fed_back", "closed_unconfirmed", "closed_forced", "rejected", "withdrawn")

STATE_LABELS = {
    "submitted": _l("Awaiting acceptance"),
    "accepted": _l("In progress"),
    "handled": _l("Awaiting feedback"),
    "fed_back": _l("Completed"),
    "closed_unconfirmed": _l("Closed without feedback"),
    "closed_forced": _l("Closed by force"),
    "rejected": _l("Not accepted"),
    "withdrawn": _l("Withdrawn"),
}


@dataclass(frozen=True)
class Action:
    name: str
    from_states: tuple[str, ...]
    to_state: str | None
    who: str
    label: object
    # Shown as a button (with its form) on the ticket page.
    button: bool = True


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("accept", ("submitted",), "accepted", "coordinator", _l("Accept and assign")),
        Action("reject", ("submitted",), "rejected", "coordinator", _l("Reject")),
        Action("withdraw", ("submitted",), "withdrawn", "own_firm", _l("Withdraw")),
        Action("handle", ("accepted",), "handled", "lead", _l("Record the outcome")),
        Action("feedback", ("handled",), "fed_back", "own_firm", _l("Give feedback")),
        # Feedback "dissatisfied" with a reason: a new round with a new handle clock.
        Action("rework", ("handled",), "accepted", "own_firm", _l("Give feedback"), button=False),
        Action("expire", ("handled",), "closed_unconfirmed", "system", _l("Close unconfirmed"), button=False),
        Action("force_close", ("accepted", "handled"), "closed_forced", "coordinator", _l("Close by force")),
        Action("ask", ("accepted",), None, "lead", _l("Ask the firm")),
        Action("reply", ("accepted", "handled"), None, "own_firm_open_question", _l("Reply to the question")),
        Action("request_extension", ("accepted",), None, "lead_no_pending_extension", _l("Request an extension")),
        Action("decide_extension", ("accepted",), None, "extension_approver", _l("Decide the extension")),
        Action("request_transfer", ("accepted",), None, "lead_no_pending_transfer", _l("Request a transfer")),
        # Approving a transfer is the transition accepted -> accepted with a new lead.
        Action("transfer", ("accepted",), "accepted", "transfer_approver", _l("Decide the transfer")),
        Action("deny_transfer", ("accepted",), None, "transfer_approver", _l("Deny the transfer"), button=False),
        Action("note", OPEN_STATES + TERMINAL_STATES, None, "staff", _l("Add a note")),
        Action("inspector_note", OPEN_STATES + TERMINAL_STATES, None, "inspector", _l("Inspector note")),
        # Supervision notices: recorded only, never a change of state. A notice goes to
        # the lead official, so it is issued only while there is one; it is answered and
        # concluded whatever became of the ticket meanwhile.
        Action("issue_notice", ("accepted", "handled"), None, "inspector_with_lead",
               _l("Issue a supervision notice")),
        Action("explain_notice", OPEN_STATES + TERMINAL_STATES, None, "notice_explainer",
               _l("Explain the supervision notice")),
        Action("conclude_notice", OPEN_STATES + TERMINAL_STATES, None, "notice_concluder",
               _l("Conclude the supervision notice")),
        # The review (甄别) of a dissatisfied rating: record-only, whatever the ticket's state.
        Action("propose_exclusion", OPEN_STATES + TERMINAL_STATES, None, "review_proposer",
               _l("Propose to exclude a rating")),
        Action("decide_exclusion", OPEN_STATES + TERMINAL_STATES, None, "review_decider",
               _l("Decide on excluding a rating")),
        # Recorded at the weekly meeting, from the meeting list page (not a ticket-page button).
        Action("meeting_decision", OPEN_STATES, None, "coordinator", _l("Meeting decision"), button=False),
    )
}


def target_state(state: str, action: str) -> str | None:
    """The state after `action`, or None when the table does not allow it from `state`."""
    a = ACTIONS.get(action)
    if a is None or state not in a.from_states:
        return None
    return a.to_state or state
