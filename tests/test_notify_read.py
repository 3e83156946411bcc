"""Acting on a ticket marks the actor's unread notifications of that ticket read.

Only the actor's, only that ticket's: the others keep theirs, and the actor's
notifications of another ticket stay unread. Notifications are delivered by the
real outbox delivery (tickets/services/outbox.deliver), as the worker does.
"""
from __future__ import annotations

import pytest

from tickets.extensions import db
from tickets.models import Notification
from tickets.services.actions import Refused, perform

from .conftest import accept, file_request
from .test_sweep import deliver_inapp


def unread(user, ticket=None) -> int:
    db.session.expire_all()
    stmt = db.select(db.func.count()).select_from(Notification).filter_by(user_id=user.id, read_at=None)
    if ticket is not None:
        stmt = stmt.filter_by(ticket_id=ticket.id)
    return db.session.scalar(stmt)


def two_accepted_tickets(park):
    one, two = file_request(park), file_request(park, title="融资难")
    accept(park, one)
    accept(park, two)
    deliver_inapp()
    # The lead and the firm were told of each acceptance.
    for user in (park.hr_official, park.firm_user):
        assert unread(user, one) == 1 and unread(user, two) == 1
    return one, two


def test_acting_on_a_ticket_marks_the_actors_notifications_of_it_read(park):
    one, two = two_accepted_tickets(park)
    perform(one, "ask", park.hr_official, text="请提供岗位清单")
    deliver_inapp()
    assert unread(park.hr_official, one) == 0
    assert unread(park.hr_official, two) == 1  # another ticket: still unread
    assert unread(park.firm_user, one) == 2  # the acceptance and the question, not acted upon yet

    # The firm answers the question: its own notifications of that ticket are read.
    perform(one, "reply", park.firm_user, text="见附件")
    assert unread(park.firm_user, one) == 0
    assert unread(park.firm_user, two) == 1
    deliver_inapp()
    assert unread(park.hr_official, one) == 1  # the reply, told after the lead last acted


def test_a_refused_action_marks_nothing_read(park):
    one, _two = two_accepted_tickets(park)
    # Not the lead's to do (the firm rates): refused, nothing written, nothing read.
    with pytest.raises(Refused):
        perform(one, "feedback", park.hr_official, solved="yes", rating="satisfied")
    assert unread(park.hr_official, one) == 1


def test_a_note_posted_from_the_ticket_page_reads_the_inbox_entries(park, client, login):
    one, two = two_accepted_tickets(park)
    login(park.hr_official)
    resp = client.post(f"/tickets/{one.number}/do/note",
                       data={"note-text": "已电话联系企业", "note-visibility": "internal", "note-version": one.version})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert unread(park.hr_official, one) == 0 and unread(park.hr_official) == 1
    inbox = client.get("/inbox/?unread=1").get_data(as_text=True)
    assert two.number in inbox and one.number not in inbox


def test_a_notification_delivered_after_its_reader_acted_arrives_read(park, clock):
    clock(2026, 11, 23, 9, 0)
    t = file_request(park)
    accept(park, t)  # the lead is told; the worker has not delivered it yet
    clock(2026, 11, 23, 9, 5)
    perform(t, "note", park.hr_official, text="已电话联系企业", visibility="internal")
    deliver_inapp()
    assert unread(park.hr_official, t) == 0
    assert unread(park.firm_user, t) == 1  # the firm has not acted
    # What is written after the act still arrives unread.
    clock(2026, 11, 23, 9, 10)
    perform(t, "ask", park.hr_official, text="请提供岗位清单")
    clock(2026, 11, 23, 9, 15)
    perform(t, "reply", park.firm_user, text="见附件")
    deliver_inapp()
    assert unread(park.hr_official, t) == 1
