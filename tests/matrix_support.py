"""The lifecycle matrices' shared park, actors and ticket builders (tests/test_lifecycle_*.py).

One database for a module (creating the park's users costs a second or two). Every
allowed cell gets a ticket of its own; the refused cells of one row (state, action)
share one, since each of them checks that it was left exactly as it was. The service clock
stands at FROZEN, except while a ticket is built in the past so that its feedback
window has ended by FROZEN.
"""
from __future__ import annotations

import os
from datetime import datetime

import pytest

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.models import Ticket
from tickets.reference import ensure_reference_data
from tickets.services.actions import perform, record_feedback
from tickets.timeutil import from_local, now, set_now, to_local

from .conftest import Park, file_request
from .records import snapshot

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

# A Tuesday, a working day, in the morning (Shanghai): the service clock is frozen here.
FROZEN = datetime(2026, 3, 10, 10, 0)
# A ticket handled then has its feedback window until 24:00 on Monday 9 March: over by FROZEN.
EARLIER = datetime(2026, 3, 2, 9, 0)


@pytest.fixture(scope="module")
def mpark(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matrix")

    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp / "uploads")
        # In memory: ~2000 cells of commits, and nothing here depends on a file.
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    if os.environ.get("TEST_DATABASE_URL"):
        # The run's PostgreSQL (tests/pgsuite.py): a database of the module's own, which no test's
        # `app` empties under it.
        from .pgsuite import separate_url

        Cfg.SQLALCHEMY_DATABASE_URI = separate_url(tmp, "matrix")
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
            db.engine.dispose()


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


def make_ticket(park, state: str, setup=None, past: bool = False) -> Ticket:
    """A ticket of firm A in `state`, built through the services.

    `setup(park, t)` runs right after acceptance, for states that pass through it (a
    pending request, an open question, a supervision notice). With `past`, and always
    for closed_unconfirmed, the ticket is built at EARLIER, so that its feedback window
    has ended at FROZEN, when it expires (closed_unconfirmed) or the cell acts.
    """
    # (The autouse known_now fixture set its own moment for the test: every cell starts here.)
    set_now(from_local(EARLIER if past or state == "closed_unconfirmed" else FROZEN))
    try:
        t = file_request(park)
        if state == "submitted":
            return t
        if state == "rejected":
            return perform(t, "reject", park.coordinator, reason="不属于受理范围")
        if state == "withdrawn":
            return perform(t, "withdraw", park.firm_user, reason="")
        perform(t, "accept", park.coordinator, lead_id=park.hr_official.id,
                department_id=park.hr_official.department_id)
        if setup is not None:
            setup(park, t)
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
            set_now(from_local(FROZEN))
            return perform(t, "expire", None)
        raise AssertionError(state)
    finally:
        set_now(from_local(FROZEN))


def refused_cell_ticket(park, key, build) -> Ticket:
    """One ticket for every refused cell of a row: a refusal writes nothing (each cell checks
    that), so the cells of a row can share it; an allowed cell always builds its own."""
    cache = park.__dict__.setdefault("refused_cells", {})
    if key not in cache:
        cache[key] = build()
    t = cache[key]
    db.session.refresh(t)
    return t


def assert_nothing_written(ticket_id: int, before: dict):
    """No pending change left in the session, and the database as it was."""
    assert not (db.session.new or db.session.dirty or db.session.deleted), "a refused action left changes"
    assert snapshot(ticket_id) == before
    db.session.rollback()
