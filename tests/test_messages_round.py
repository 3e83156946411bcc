"""Messages name the handling round: round 2's "please give your feedback" is not round 1's.

The loop runs through the real services (accept, handle, a dissatisfied rating, handle
again); the outbox rows it writes are rendered as the inbox and the e-mail render them.
"""
from __future__ import annotations

from tickets.channels.email import build
from tickets.extensions import db
from tickets.messages import render
from tickets.models import OutboxMessage
from tickets.services.actions import record_feedback
from tickets.services.sweep import sweep

from .conftest import accept, file_request, handle


def rows(user, kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage).filter_by(user_id=user.id, kind=kind, channel="email")
                                   .order_by(OutboxMessage.id)))


def in_round_two(park, clock):
    """A request filed and accepted at 09:00 Tue 17 Nov, handled, rated dissatisfied: round 2 runs."""
    clock(2026, 11, 17, 9, 0)
    t = file_request(park)
    accept(park, t)
    handle(park, t)
    record_feedback(t, park.firm_user, solved="no", rating="dissatisfied", comment="工人未到岗")
    return t


def test_round_two_asks_for_feedback_in_other_words_than_round_one(park, clock):
    t = in_round_two(park, clock)
    handle(park, t)
    first, second = (render(r.kind, r.params, "en")[0] for r in rows(park.firm_user, "handled"))
    assert first == f"{t.number}: the outcome is recorded, please give your feedback"
    assert second == f"{t.number}: the outcome of handling round 2 is recorded, please give your feedback"
    # The e-mail's subject is the same text, in the reader's language.
    park.firm_user.language = "en"
    db.session.commit()
    mails = [build(r)["Subject"] for r in rows(park.firm_user, "handled")]
    assert mails == [first, second]

    record_feedback(t, park.firm_user, solved="yes", rating="satisfied", comment="")
    told = [render(r.kind, r.params, "en")[0] for r in rows(park.hr_official, "fed_back")]
    assert told == [f"{t.number}: the firm gave its feedback on handling round 2"]


def test_a_reminder_of_round_two_names_its_round(park, clock):
    t = in_round_two(park, clock)
    # Round 2's handle clock (5 working days from Tue 17 Nov: due 24:00 Tue 24 Nov) turns yellow.
    clock(2026, 11, 24, 0, 1)
    assert sweep() == {"handle.yellow.raised": 1}
    (row,) = rows(park.hr_official, "reminder")
    text = render(row.kind, row.params, "en")[0]
    assert text.startswith(f"{t.number} (handling round 2): the handling deadline ")
    assert text.endswith(" is near.")
