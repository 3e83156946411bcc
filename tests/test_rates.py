"""The rates (DESIGN.md, Measures) on a fixed data set, against numbers worked out by hand.

The data set is built through the services under a frozen clock. All times are
Shanghai wall-clock times. The 2026 calendar (chinese-calendar) has no holiday
in late October, November or early December: working days are Monday to Friday.
Weekdays: Mon 26 Oct, Fri 30 Oct; Mon 2 Nov, Fri 6 Nov, Mon 9, Fri 13, Mon 16,
Fri 20, Mon 23, Fri 27, Mon 30 Nov; Tue 1 Dec.

Limits: accept 1 working day, feedback 5; handling per category: labor 5,
financing 10, talent 10. A limit of N days from day D is due at 24:00 of the
N-th working day after D.

Working days of a stage (WorkCalendar.working_days_between) add up the part of
each working day between start and stop: 09:00 -> 15:00 the same day is
6/24 = 0.25; 15:00 on one working day -> 15:00 on the next is 9/24 + 15/24 = 1.

Units are the ticket's CURRENT lead official, department and category.

| T   | firm, category | lead (dept)            | story (Shanghai times)                                                   |
|-----|----------------|------------------------|--------------------------------------------------------------------------|
| T1  | A labor        | hr_official (hr)       | filed Mon 2 Nov 09, accepted 15 (accept due 24:00 Tue 3: on time),       |
|     |                |                        | handled Thu 5 15 (due 24:00 Mon 9: on time), feedback Fri 6 15 yes/sat.  |
| T2  | A labor        | hr_official            | filed Mon 2 09, accepted Tue 3 09 (due 24:00 Tue 3: on time), handled    |
|     |                |                        | Wed 11 09 (due 24:00 Tue 10: LATE), feedback Mon 16 09 partly/basically. |
| T3  | A labor        | hr_official            | filed Mon 2 10, accepted 16; extension +3 approved Wed 4 (due 24:00      |
|     |                |                        | Mon 9 -> 24:00 Thu 12), handled Wed 11 16 (on time, EXTENDED); rework    |
|     |                |                        | Thu 12 16 (dissatisfied); round 2 handled Mon 16 16 (due 24:00 Thu 19:   |
|     |                |                        | on time); feedback Tue 17 16 yes/satisfied: final, counts once.          |
| T4  | A labor        | hr_official            | filed Tue 3 09, accepted Wed 4 15 (due 24:00 Wed 4: on time), handled    |
|     |                |                        | Fri 6 15 (due 24:00 Wed 11: on time); no feedback: closed_unconfirmed    |
|     |                |                        | Mon 16 09.                                                               |
| T5  | A labor        | hr_official            | filed Wed 4 09, accepted Fri 6 09 (due 24:00 Thu 5: LATE); closed by     |
|     |                |                        | force Tue 10 09, never handled.                                          |
| T6  | B financing    | fin_official (finance) | filed Mon 2 09, accepted 15, handled Mon 9 15 (due 24:00 Mon 16: on      |
|     |                |                        | time), feedback Wed 11 21 no/basically.                                  |
| T7  | B financing    | fin_official           | filed Tue 3 09, accepted 15, handled Thu 5 15 (on time), rework Fri 6 15 |
|     |                |                        | (dissatisfied): round 2 still open, so NO final feedback.                |
| T8  | B financing    | fin_official           | filed Mon 23 09, accepted 15, handled Fri 27 15 (on time), feedback      |
|     |                |                        | Tue 1 Dec 15 yes/satisfied: counts in DECEMBER.                          |
| T9  | B financing    | fin_official           | filed Mon 2 09, accepted 15; extension +2 approved Thu 12 (due 24:00     |
|     |                |                        | Mon 16 -> 24:00 Wed 18), handled Thu 19 15: LATE, EXTENDED; no feedback. |
| T10 | A labor        | fin_head (finance)     | filed Tue 3 09, accepted 15 (lead hr_official), transferred Wed 4 to     |
|     |                |                        | finance / fin_head; handled Mon 9 15 (due 24:00 Tue 10: on time),        |
|     |                |                        | feedback Tue 10 15 yes/basically.                                        |
| T11 | A labor        | hr_other (hr)          | filed Wed 4 09, accepted 15 (lead hr_official), transferred Thu 5 inside |
|     |                |                        | hr to hr_other; still open.                                              |
| T12 | B financing    | - (rejected)           | filed Thu 5 09, rejected 15 (on time).                                   |
| T13 | A labor        | - (withdrawn)          | filed Thu 5 09, withdrawn 12: no decision.                               |
| T14 | A talent       | hr_head (hr)           | filed Fri 30 OCT 09, accepted Mon 2 Nov 09 (due 24:00 Mon 2: on time;    |
|     |                |                        | counts in November), handled Thu 5 09 (on time), feedback Fri 6 09       |
|     |                |                        | yes/satisfied.                                                           |
| T15 | A labor        | hr_official            | all in OCTOBER: filed Mon 26 09, accepted 15, handled Wed 28 15 (due     |
|     |                |                        | 24:00 Mon 2 Nov: on time), feedback Thu 29 15 yes/satisfied.             |
| T16 | B financing    | fin_official           | filed Mon 30 Nov 09, accepted Tue 1 DEC 09 (due 24:00 Tue 1: on time).   |

Tickets per unit in November (any measured step in the period; T15 and T16
have none there):
- official: hr_official T1-T5 = 5 (shown); fin_official T6-T9 = 4 (hidden);
  fin_head T10, hr_other T11, hr_head T14, not assigned T12, T13 (all hidden).
- department: hr T1-T5, T11, T14 = 7; finance T6-T10 = 5; not assigned 2 (hidden).
- category: labor T1-T5, T10, T11, T13 = 8; financing T6-T9, T12 = 5; talent T14 = 1 (hidden).
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from flask import g
from flask_babel import force_locale
from openpyxl import load_workbook
from werkzeug import security

import tickets.models.org as org
from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data
from tickets.timeutil import from_local, set_now
from tickets.services.actions import perform, record_feedback
from tickets.services.calendar import seed_year
from tickets.services.rates import Period, compute, parse_period, trend
from tickets.services.rates import export

from .conftest import PASSWORD, Park, accept, drop_everything, file_request, handle


def build(park, clock):
    def at(month, day, hour):
        clock(2026, month, day, hour)

    a, b = park.firm_user, park.firm_b_user
    labor, financing, talent = (park.category(c).id for c in ("labor", "financing", "talent"))

    def new(month, day, hour, user=a, category=labor):
        at(month, day, hour)
        return file_request(park, user=user, category_id=category)

    def feedback(t, month, day, hour, solved, rating, comment=""):
        at(month, day, hour)
        record_feedback(t, b if t.firm_id == park.firm_b.id else a, solved=solved, rating=rating,
                        comment=comment or "意见")

    t = {}
    # T15, all in October.
    t[15] = new(10, 26, 9)
    at(10, 26, 15), accept(park, t[15])
    at(10, 28, 15), handle(park, t[15])
    feedback(t[15], 10, 29, 15, "yes", "satisfied")
    # T14, filed in October, accepted in November.
    t[14] = new(10, 30, 9, category=talent)
    at(11, 2, 9), accept(park, t[14], lead=park.hr_head)
    at(11, 5, 9), handle(park, t[14], by=park.hr_head)
    feedback(t[14], 11, 6, 9, "yes", "satisfied")
    # T1
    t[1] = new(11, 2, 9)
    at(11, 2, 15), accept(park, t[1])
    at(11, 5, 15), handle(park, t[1])
    feedback(t[1], 11, 6, 15, "yes", "satisfied")
    # T2
    t[2] = new(11, 2, 9)
    at(11, 3, 9), accept(park, t[2])
    at(11, 11, 9), handle(park, t[2])
    feedback(t[2], 11, 16, 9, "partly", "basically_satisfied")
    # T3: extended, then reworked
    t[3] = new(11, 2, 10)
    at(11, 2, 16), accept(park, t[3])
    at(11, 4, 10), perform(t[3], "request_extension", park.hr_official, days=3, reason="协调", public_reason="协调")
    at(11, 4, 11), perform(t[3], "decide_extension", park.hr_head, decision="approve", comment="")
    at(11, 11, 16), handle(park, t[3])
    feedback(t[3], 11, 12, 16, "no", "dissatisfied", "还是缺人")
    at(11, 16, 16), handle(park, t[3])
    feedback(t[3], 11, 17, 16, "yes", "satisfied")
    # T4: closed unconfirmed
    t[4] = new(11, 3, 9)
    at(11, 4, 15), accept(park, t[4])
    at(11, 6, 15), handle(park, t[4])
    at(11, 16, 9), perform(t[4], "expire", None)
    # T5: late acceptance, closed by force
    t[5] = new(11, 4, 9)
    at(11, 6, 9), accept(park, t[5])
    at(11, 10, 9), perform(t[5], "force_close", park.coordinator, reason="企业已迁出")
    # T6
    t[6] = new(11, 2, 9, user=b, category=financing)
    at(11, 2, 15), accept(park, t[6], lead=park.fin_official)
    at(11, 9, 15), handle(park, t[6], by=park.fin_official)
    feedback(t[6], 11, 11, 21, "no", "basically_satisfied")
    # T7: rework still open
    t[7] = new(11, 3, 9, user=b, category=financing)
    at(11, 3, 15), accept(park, t[7], lead=park.fin_official)
    at(11, 5, 15), handle(park, t[7], by=park.fin_official)
    feedback(t[7], 11, 6, 15, "no", "dissatisfied", "没有解决")
    # T8: final feedback in December
    t[8] = new(11, 23, 9, user=b, category=financing)
    at(11, 23, 15), accept(park, t[8], lead=park.fin_official)
    at(11, 27, 15), handle(park, t[8], by=park.fin_official)
    feedback(t[8], 12, 1, 15, "yes", "satisfied")
    # T9: extended, still late
    t[9] = new(11, 2, 9, user=b, category=financing)
    at(11, 2, 15), accept(park, t[9], lead=park.fin_official)
    at(11, 12, 10), perform(t[9], "request_extension", park.fin_official, days=2, reason="审批", public_reason="审批")
    at(11, 12, 11), perform(t[9], "decide_extension", park.fin_head, decision="approve", comment="")
    at(11, 19, 15), handle(park, t[9], by=park.fin_official)
    # T10: transferred across departments
    t[10] = new(11, 3, 9)
    at(11, 3, 15), accept(park, t[10])
    at(11, 4, 10), perform(t[10], "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id,
                           to_lead_id=park.fin_head.id, reason="属财政")
    at(11, 4, 11), perform(t[10], "transfer", park.coordinator, comment="同意")
    at(11, 9, 15), handle(park, t[10], by=park.fin_head)
    feedback(t[10], 11, 10, 15, "yes", "basically_satisfied")
    # T11: transferred inside hr, still open
    t[11] = new(11, 4, 9)
    at(11, 4, 15), accept(park, t[11])
    at(11, 5, 10), perform(t[11], "request_transfer", park.hr_official, to_department_id=park.depts["hr"].id,
                           to_lead_id=park.hr_other.id, reason="换人")
    at(11, 5, 11), perform(t[11], "transfer", park.hr_head, comment="同意")
    # T12 rejected, T13 withdrawn
    t[12] = new(11, 5, 9, user=b, category=financing)
    at(11, 5, 15), perform(t[12], "reject", park.coordinator, reason="不属本园区")
    t[13] = new(11, 5, 9)
    at(11, 5, 12), perform(t[13], "withdraw", a, reason="")
    # T16: accepted in December
    t[16] = new(11, 30, 9, user=b, category=financing)
    at(12, 1, 9), accept(park, t[16], lead=park.fin_official)
    return t


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One app and one data set for the whole module (the tests only read): built once, not per test.

    Mirrors the `app` fixture of conftest (same config, same database choice, same teardown).
    """
    tmp = tmp_path_factory.mktemp("rates")

    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp / "uploads")
        SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", f"sqlite:///{tmp / 'test.db'}")

    app = create_app(Cfg)

    @app.before_request
    def _own_request_user():
        g.pop("_login_user", None)

    real_hash = security.generate_password_hash
    with pytest.MonkeyPatch.context() as mp, app.app_context():
        mp.setattr(org, "generate_password_hash",
                   lambda password, method=None, salt_length=16: real_hash(password, "pbkdf2:sha256:1000"))
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        park = Park()
        seed_year(2026)
        db.session.commit()
        tickets = build(park, lambda *args: set_now(from_local(datetime(*args))))
        set_now(from_local(datetime(2026, 12, 10, 9)))
        yield SimpleNamespace(app=app, park=park, t=tickets)
        db.session.remove()
        drop_everything()
    set_now(None)


@pytest.fixture(autouse=True)
def known_now(world):
    """This module's known moment (overrides tests/conftest.py's): 10 December 2026, 09:00 Shanghai."""
    set_now(from_local(datetime(2026, 12, 10, 9)))
    yield
    set_now(None)


@pytest.fixture
def data(world):
    return world.t


@pytest.fixture
def park(world):
    return world.park


NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def test_scenario_is_what_the_table_says(data, park):
    t = data
    states = {n: t[n].state for n in t}
    assert states == {1: "fed_back", 2: "fed_back", 3: "fed_back", 4: "closed_unconfirmed", 5: "closed_forced",
                      6: "fed_back", 7: "accepted", 8: "fed_back", 9: "handled", 10: "fed_back",
                      11: "accepted", 12: "rejected", 13: "withdrawn", 14: "fed_back", 15: "fed_back",
                      16: "accepted"}
    assert (t[3].round, t[7].round, t[10].transfer_count, t[11].transfer_count) == (2, 2, 1, 1)
    assert (t[10].lead_id, t[11].lead_id) == (park.fin_head.id, park.hr_other.id)


# The counts of a row, in this order, for compact expectations below.
COUNTS = ("tickets", "accept_on_time", "accept_decisions", "handled_on_time", "rounds_handled", "extended_rounds",
          "extended_on_time", "solved_yes", "solved_partly", "final_feedback", "satisfied", "rated_satisfied",
          "rated_basically", "dissatisfied_ratings", "reworked", "closed", "transfers", "accepted",
          "closed_unconfirmed", "closed_forced", "rejected", "withdrawn")
RATES = ("acceptance_pct", "handling_pct", "resolution_pct", "satisfaction_pct", "rework_pct",
         "transfers_per_ticket")
STAGE_FIELDS = ("accept_days_n", "accept_days_median", "accept_days_p90", "handle_days_n", "handle_days_median",
                "handle_days_p90", "feedback_days_n", "feedback_days_median", "feedback_days_p90")


def counts(row):
    return dict(zip(COUNTS, (row[f] for f in COUNTS)))


def c(*values):
    return dict(zip(COUNTS, values))


def rates(row):
    return tuple(row[f] for f in RATES)


def stages(row):
    return tuple(row[f] for f in STAGE_FIELDS)


# November, all units together (worked out from the table in the module docstring):
# tickets: T1-T14 have a step in November (T15: October only; T16: accepted in December) = 14.
# acceptance: decisions T1-T12, T14 (T13 withdrawn is none) = 13; late T5 -> 12 / 13 = 92.3 %.
# handling: rounds T1, T2, T3 r1, T3 r2, T4, T6, T7, T8, T9, T10, T14 = 11 (T5 closed by force,
#   never handled; T11 open); late T2, T9 -> 9 / 11 = 81.8 %; extended T3 r1 (on time), T9 (late).
# final feedback: T1 yes/sat, T2 partly/basically, T3 yes/sat (round 2; its round-1 "dissatisfied"
#   is not final), T6 no/basically, T10 yes/basically, T14 yes/sat = 6 (T7 reworked, open; T8 in
#   December); resolution yes 4 / 6 = 66.7 %, partly 1; satisfaction 6 / 6 = 100 % (3 satisfied,
#   3 basically); dissatisfied answers in November: T3 (12 Nov), T7 (6 Nov) = 2.
# rework: closed after acceptance T1, T2, T3, T4 (unconfirmed), T5 (forced), T6, T10, T14 = 8;
#   2+ rounds: T3 -> 1 / 8 = 12.5 %.
# transfers: accepted in November T1-T11, T14 = 12; transfers T10, T11 = 2 -> 0.17 per ticket.
# apart: closed_unconfirmed T4, closed_forced T5, rejected T12, withdrawn T13: 1 each.
NOVEMBER_TOTAL = c(14, 12, 13, 9, 11, 2, 1, 4, 1, 6, 6, 3, 3, 2, 1, 8, 2, 12, 1, 1, 1, 1)
NOVEMBER_RATES = (92.3, 81.8, 66.7, 100.0, 12.5, 0.17)
# Stage times in November, in working days:
# accept: T1 .25, T2 1 (Mon 09 -> Tue 09), T3 .25, T4 1.25 (Tue 09 -> Wed 15), T5 2 (Wed 09 -> Fri 09),
#   T6-T12 .25 each (7), T14 1 (Fri 30 Oct 09 -> Mon 2 Nov 09: the weekend does not count);
#   sorted: .25 x9, 1, 1, 1.25, 2 (n 13): median the 7th = .25; 90th percentile rank ceil(11.7) = 12: 1.25.
# handle: T1 3, T2 6, T3 r1 7 (Mon 2 16 -> Wed 11 16), T3 r2 2, T4 2, T6 5, T7 2, T8 4, T9 13, T10 4,
#   T14 3; sorted 2 2 2 3 3 4 4 5 6 7 13 (n 11): median 4; rank ceil(9.9) = 10: 7.
# feedback (every answer, "dissatisfied" too): T1 1, T2 3 (Wed 11 09 -> Mon 16 09), T3 1 and 1, T6 2.25
#   (Mon 9 15 -> Wed 11 21: .375 + 1 + .875), T7 1, T10 1, T14 1; sorted 1 x6, 2.25, 3 (n 8):
#   median (1 + 1) / 2 = 1; rank ceil(7.2) = 8: 3.
NOVEMBER_STAGES = (13, 0.25, 1.25, 11, 4.0, 7.0, 8, 1.0, 3.0)


def test_total_for_november(data):
    report = compute(NOVEMBER, "total")
    assert report.hidden == 0
    assert len(report.rows) == 1 and report.rows[0] is report.total
    row = report.total
    assert counts(row) == NOVEMBER_TOTAL
    assert rates(row) == NOVEMBER_RATES
    assert stages(row) == NOVEMBER_STAGES


def test_by_department(data):
    report = compute(NOVEMBER, "department")
    # Not assigned (T12 rejected, T13 withdrawn): 2 tickets, hidden.
    assert report.hidden == 1
    assert [r["label"] for r in report.rows] == ["人力资源和社会保障局", "财政金融局"]
    hr, fin = report.rows
    # hr: T1-T5, T11 (hr_other), T14 (hr_head) = 7 tickets.
    # acceptance T1 T2 T3 T4 T5(late) T11 T14: 6 / 7; handling T1 T2(late) T3r1(ext) T3r2 T4 T14: 5 / 6;
    # final T1 yes/sat, T2 partly/basically, T3 yes/sat, T14 yes/sat: yes 3 / 4, satisfied 4 / 4 (3 + 1);
    # dissatisfied T3; closed T1 T2 T3 T4 T5 T14 = 6, reworked T3; accepted 7, transferred T11.
    assert counts(hr) == c(7, 6, 7, 5, 6, 1, 1, 3, 1, 4, 4, 3, 1, 1, 1, 6, 1, 7, 1, 1, 0, 0)
    assert rates(hr) == (85.7, 83.3, 75.0, 100.0, 16.7, 0.14)
    # accept .25 1 .25 1.25 2 .25 1 -> sorted .25 .25 .25 1 1 1.25 2: median 1, rank 7: 2;
    # handle 3 6 7 2 2 3 -> 2 2 3 3 6 7: median (3+3)/2 = 3, rank ceil(5.4) = 6: 7;
    # feedback 1 3 1 1 1 -> median 1, rank ceil(4.5) = 5: 3.
    assert stages(hr) == (7, 1.0, 2.0, 6, 3.0, 7.0, 5, 1.0, 3.0)
    # finance: T6-T9 (fin_official), T10 (fin_head) = 5 tickets, shown.
    # acceptance 5 / 5; handling T6 T7 T8 T9(late, ext) T10: 4 / 5; final T6 no/basically, T10 yes/basically:
    # yes 1 / 2, satisfied 2 / 2 (0 + 2); dissatisfied T7; closed T6 T10 = 2, none reworked;
    # accepted 5, transferred T10.
    assert counts(fin) == c(5, 5, 5, 4, 5, 1, 0, 1, 0, 2, 2, 0, 2, 1, 0, 2, 1, 5, 0, 0, 0, 0)
    assert rates(fin) == (100.0, 80.0, 50.0, 100.0, 0.0, 0.2)
    # accept .25 x5; handle 5 2 4 13 4 -> 2 4 4 5 13: median 4, rank 5: 13; feedback 2.25 1 1 -> median 1, rank 3: 2.25.
    assert stages(fin) == (5, 0.25, 0.25, 5, 4.0, 13.0, 3, 1.0, 2.25)
    # The total row is all of November, hidden units included.
    assert counts(report.total) == NOVEMBER_TOTAL


def test_by_official_hides_four_shows_five(data, park):
    report = compute(NOVEMBER, "official")
    # Shown: hr_official with exactly 5 tickets (T1-T5). Hidden: fin_official with 4 (T6-T9), fin_head (T10),
    # hr_other (T11), hr_head (T14), not assigned (T12, T13) = 5 units.
    assert [(r["unit"], r["label"]) for r in report.rows] == [(park.hr_official.id, "Hr Off")]
    assert report.hidden == 5
    (row,) = report.rows
    # acceptance T1-T4 on time, T5 late: 4 / 5; handling T1 T2(late) T3r1(ext, on time) T3r2 T4: 4 / 5;
    # final T1 yes/sat, T2 partly/basically, T3 yes/sat (once, as satisfied): yes 2 / 3, satisfied 3 / 3;
    # closed T1-T5 = 5, reworked T3: 1 / 5; accepted 5, no transfer (T10, T11 left this official).
    assert counts(row) == c(5, 4, 5, 4, 5, 1, 1, 2, 1, 3, 3, 2, 1, 1, 1, 5, 0, 5, 1, 1, 0, 0)
    assert rates(row) == (80.0, 80.0, 66.7, 100.0, 20.0, 0.0)
    with force_locale("en"):
        assert export.hidden_note(report) == "5 units hidden: fewer than 5 tickets in the period."


def test_by_category(data):
    report = compute(NOVEMBER, "category", locale="en")
    assert [r["label"] for r in report.rows] == ["Financing", "Labor shortage"]  # talent (T14 only) hidden
    assert report.hidden == 1
    financing, labor = report.rows
    # financing: T6-T9, T12 = 5. acceptance 5 / 5 (T12's rejection on time); handling T6 T7 T8 T9(late, ext):
    # 3 / 4; final T6 no/basically: yes 0 / 1, satisfied 1 / 1; dissatisfied T7; closed T6: 0 / 1;
    # accepted T6-T9 = 4, no transfer; rejected T12.
    assert counts(financing) == c(5, 5, 5, 3, 4, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 4, 0, 0, 1, 0)
    assert rates(financing) == (100.0, 75.0, 0.0, 100.0, 0.0, 0.0)
    # labor: T1-T5, T10, T11, T13 = 8. acceptance T1-T5, T10, T11 (T13 withdrawn): 6 / 7;
    # handling T1 T2(late) T3r1(ext) T3r2 T4 T10: 5 / 6; final T1 yes/sat, T2 partly/basically, T3 yes/sat,
    # T10 yes/basically: yes 3 / 4, satisfied 4 / 4 (2 + 2); dissatisfied T3; closed T1-T5, T10 = 6,
    # reworked T3; accepted 7, transfers T10 + T11 = 2 -> 0.29; unconfirmed T4, forced T5, withdrawn T13.
    assert counts(labor) == c(8, 6, 7, 5, 6, 1, 1, 3, 1, 4, 4, 2, 2, 1, 1, 6, 2, 7, 1, 1, 0, 1)
    assert rates(labor) == (85.7, 83.3, 75.0, 100.0, 16.7, 0.29)


def test_by_week(data):
    report = compute(Period(date(2026, 11, 2), date(2026, 11, 15)), "week")
    assert report.hidden == 0  # weeks are periods, not a ranking: never hidden
    assert [r["unit"] for r in report.rows] == ["2026-W45", "2026-W46"]
    w45, w46 = report.rows
    # W45 (Mon 2 - Sun 8 Nov): tickets T1-T7, T9-T14 = 13 (T8 starts on 23 Nov).
    # acceptance T1-T7, T9-T12, T14 = 12, late T5: 11 / 12; handling T1 (5th), T4 (6th), T7 (5th), T14 (5th):
    # 4 / 4; final T1, T14 yes/sat: 2 / 2; dissatisfied T7 (6th); closed T1, T14 (6th): 0 / 2;
    # accepted T1-T7, T9-T11, T14 = 11 with 2 transfers; rejected T12, withdrawn T13.
    assert counts(w45) == c(13, 11, 12, 4, 4, 0, 0, 2, 0, 2, 2, 2, 0, 1, 0, 2, 2, 11, 0, 0, 1, 1)
    assert rates(w45) == (91.7, 100.0, 100.0, 100.0, 0.0, 0.18)
    # W46 (Mon 9 - Sun 15): tickets T2, T3, T5, T6, T10 = 5. no decision; handling T2 (late), T3 r1
    # (extended, on time), T6, T10: 3 / 4; final T6 no/basically, T10 yes/basically: yes 1 / 2;
    # dissatisfied T3 (12th); closed T5 (forced, 10th), T6 (11th), T10 (10th): 0 / 3; nothing accepted.
    assert counts(w46) == c(5, 0, 0, 3, 4, 1, 1, 1, 0, 2, 2, 0, 2, 1, 0, 3, 0, 0, 0, 1, 0, 0)
    assert rates(w46) == (None, 75.0, 50.0, 100.0, 0.0, None)
    # The total counts a ticket once though it has steps in both weeks: T1-T7, T9-T14 = 13.
    assert report.total["tickets"] == 13
    assert report.total["rounds_handled"] == 8


def test_by_month_and_the_period_rule(data):
    report = compute(Period(date(2026, 10, 1), date(2026, 12, 31)), "month")
    assert [r["unit"] for r in report.rows] == ["2026-10", "2026-11", "2026-12"]
    october, november, december = report.rows
    # October: only T15 (T14 was filed on 30 Oct but accepted on 2 Nov: its decision counts in November).
    assert counts(october) == c(1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0)
    # T15: accept Mon 26 09 -> 15 = .25; handle Mon 26 15 -> Wed 28 15 = 2; feedback Wed 28 15 -> Thu 29 15 = 1.
    assert stages(october) == (1, 0.25, 0.25, 1, 2.0, 2.0, 1, 1.0, 1.0)
    assert counts(november) == NOVEMBER_TOTAL
    # December: T8's final feedback (1 Dec; handled in November) and closing, T16's acceptance (1 Dec; filed
    # 30 Nov, so November has no step of T16).
    assert counts(december) == c(2, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0)
    # T8 feedback: Fri 27 Nov 15 -> Tue 1 Dec 15 = .375 + 1 (Mon 30) + .625 = 2; T16 accept Mon 09 -> Tue 09 = 1.
    assert stages(december) == (1, 1.0, 1.0, 0, None, None, 1, 2.0, 2.0)
    # T1-T16 over the three months; 14 of 15 decisions on time.
    assert (report.total["tickets"], report.total["accept_on_time"], report.total["accept_decisions"]) == (16, 14, 15)


def test_final_feedback_counts_once(data):
    # T3: "dissatisfied" on 12 Nov (W46), "yes / satisfied" on 17 Nov (W47): counted once, in W47, as satisfied.
    # T7: "dissatisfied" on 6 Nov, reworked and still open: never a final feedback.
    w46 = compute(Period(date(2026, 11, 9), date(2026, 11, 15)), "total").total
    w47 = compute(Period(date(2026, 11, 16), date(2026, 11, 22)), "total").total
    # W46: final T6, T10 only; T3's answer counts among the dissatisfied ones.
    assert (w46["final_feedback"], w46["dissatisfied_ratings"]) == (2, 1)
    # W47: final T2 (partly/basically, 16 Nov) and T3 (yes/satisfied): yes 1 / 2, satisfied 2 / 2 (1 + 1).
    assert (w47["final_feedback"], w47["solved_yes"], w47["solved_partly"], w47["rated_satisfied"],
            w47["rated_basically"], w47["dissatisfied_ratings"]) == (2, 1, 1, 1, 1, 0)
    # W47's closings: T2 (16th), T3 (17th, 2 rounds), T4 (unconfirmed, 16th): rework 1 / 3 = 33.3 %.
    assert (w47["reworked"], w47["closed"], w47["rework_pct"], w47["closed_unconfirmed"]) == (1, 3, 33.3, 1)


def test_trend_is_twelve_weeks(data):
    weeks = trend(date(2026, 11, 30))
    assert [w["unit"] for w in weeks] == [f"2026-W{n}" for n in range(38, 50)]
    by = {w["unit"]: w for w in weeks}
    # (handled on time, rounds; yes, final; satisfied, final) per week, from the table:
    # W44 (26 Oct - 1 Nov): T15. W45: T1 T4 T7 T14 handled, T1 T14 final. W46: T2(late) T3 T6 T10 handled,
    # T6 T10 final. W47: T3 r2, T9 (late) handled; T2, T3 final. W48: T8 handled. W49 (Mon 30 Nov - Sun 6 Dec:
    # the trend shows whole weeks, past the period's last day): T8's final feedback, yes/satisfied on 1 Dec.
    got = {k: (w["handled_on_time"], w["rounds_handled"], w["solved_yes"], w["final_feedback"], w["satisfied"])
           for k, w in by.items() if k >= "2026-W44"}
    assert got == {"2026-W44": (1, 1, 1, 1, 1), "2026-W45": (4, 4, 2, 2, 2), "2026-W46": (3, 4, 1, 2, 2),
                   "2026-W47": (1, 2, 1, 2, 2), "2026-W48": (1, 1, 0, 0, 0), "2026-W49": (0, 0, 1, 1, 1)}
    assert by["2026-W40"]["handling_pct"] is None


def test_cli_json_for_a_period(world):
    result = world.app.test_cli_runner().invoke(args=["report", "rates", "--from", "2026-11-01", "--to", "2026-11-30",
                                                "--by", "department", "--format", "json", "--locale", "en"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert "1 unit hidden: fewer than 5 tickets in the period." in result.stderr
    head = {"from": "2026-11-01", "to": "2026-11-30", "by": "department"}
    dept = {d: park_dept for d, park_dept in ((r["label"], r["unit"]) for r in rows)}
    # Sorted by name: "Finance Bureau" before "Human Resources ...".
    assert rows == [
        {**head, "unit": dept["Finance Bureau"], "label": "Finance Bureau", "tickets": 5,
         "accept_on_time": 5, "accept_decisions": 5, "acceptance_pct": 100.0,
         "handled_on_time": 4, "rounds_handled": 5, "handling_pct": 80.0, "extended_rounds": 1, "extended_on_time": 0,
         "solved_yes": 1, "final_feedback": 2, "resolution_pct": 50.0, "solved_partly": 0,
         "satisfied": 2, "satisfaction_pct": 100.0, "rated_satisfied": 0, "rated_basically": 2,
         "dissatisfied_ratings": 1, "reworked": 0, "closed": 2, "rework_pct": 0.0,
         "transfers": 1, "accepted": 5, "transfers_per_ticket": 0.2,
         "closed_unconfirmed": 0, "closed_forced": 0, "rejected": 0, "withdrawn": 0,
         "accept_days_n": 5, "accept_days_median": 0.25, "accept_days_p90": 0.25,
         "handle_days_n": 5, "handle_days_median": 4.0, "handle_days_p90": 13.0,
         "feedback_days_n": 3, "feedback_days_median": 1.0, "feedback_days_p90": 2.25},
        {**head, "unit": dept["Human Resources and Social Security Bureau"], "label": "Human Resources and Social Security Bureau", "tickets": 7,
         "accept_on_time": 6, "accept_decisions": 7, "acceptance_pct": 85.7,
         "handled_on_time": 5, "rounds_handled": 6, "handling_pct": 83.3, "extended_rounds": 1, "extended_on_time": 1,
         "solved_yes": 3, "final_feedback": 4, "resolution_pct": 75.0, "solved_partly": 1,
         "satisfied": 4, "satisfaction_pct": 100.0, "rated_satisfied": 3, "rated_basically": 1,
         "dissatisfied_ratings": 1, "reworked": 1, "closed": 6, "rework_pct": 16.7,
         "transfers": 1, "accepted": 7, "transfers_per_ticket": 0.14,
         "closed_unconfirmed": 1, "closed_forced": 1, "rejected": 0, "withdrawn": 0,
         "accept_days_n": 7, "accept_days_median": 1.0, "accept_days_p90": 2.0,
         "handle_days_n": 6, "handle_days_median": 3.0, "handle_days_p90": 7.0,
         "feedback_days_n": 5, "feedback_days_median": 1.0, "feedback_days_p90": 3.0},
        {**head, "unit": "total", "label": "Total", "tickets": 14,
         "accept_on_time": 12, "accept_decisions": 13, "acceptance_pct": 92.3,
         "handled_on_time": 9, "rounds_handled": 11, "handling_pct": 81.8, "extended_rounds": 2, "extended_on_time": 1,
         "solved_yes": 4, "final_feedback": 6, "resolution_pct": 66.7, "solved_partly": 1,
         "satisfied": 6, "satisfaction_pct": 100.0, "rated_satisfied": 3, "rated_basically": 3,
         "dissatisfied_ratings": 2, "reworked": 1, "closed": 8, "rework_pct": 12.5,
         "transfers": 2, "accepted": 12, "transfers_per_ticket": 0.17,
         "closed_unconfirmed": 1, "closed_forced": 1, "rejected": 1, "withdrawn": 1,
         "accept_days_n": 13, "accept_days_median": 0.25, "accept_days_p90": 1.25,
         "handle_days_n": 11, "handle_days_median": 4.0, "handle_days_p90": 7.0,
         "feedback_days_n": 8, "feedback_days_median": 1.0, "feedback_days_p90": 3.0},
    ]
    assert list(rows[0]) == export.columns()


@pytest.fixture
def client(world):
    client = world.app.test_client()

    def login(user):
        client.post("/logout")
        resp = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert resp.status_code == 302
        return client

    client.login = login
    return client


def test_dashboard_who_may_see_it(world, client):
    p = world.park
    assert client.get("/rates/").status_code == 302  # to the login page
    for user in (p.firm_user, p.hr_official):
        assert client.login(user).get("/rates/").status_code == 403
    for user in (p.coordinator, p.leader, p.inspector, p.hr_head):
        assert client.login(user).get("/rates/").status_code == 200


def test_dashboard_shows_numerators_denominators_formulas_and_trend(world, client):
    html = client.login(world.park.leader).get("/rates/?from=2026-11-01&to=2026-11-30&by=department").get_data(
        as_text=True)
    # The total (see NOVEMBER_TOTAL) and the two departments shown, each measure as n / d = rate.
    for figure in ("12 / 13 = 92.3 %", "9 / 11 = 81.8 %", "4 / 6 = 66.7 %", "6 / 6 = 100.0 %", "1 / 8 = 12.5 %",
                   "2 / 12 = 0.17",  # total
                   "6 / 7 = 85.7 %", "5 / 6 = 83.3 %", "3 / 4 = 75.0 %", "1 / 6 = 16.7 %", "1 / 7 = 0.14",  # hr
                   "5 / 5 = 100.0 %", "4 / 5 = 80.0 %", "1 / 2 = 50.0 %", "0 / 2 = 0.0 %", "1 / 5 = 0.20"):  # finance
        assert figure in html, figure
    assert 'data-testid="hidden-note"' in html  # not assigned (2 tickets) left out
    assert html.count('<tr data-unit="') == 3 * 3  # hr, finance, total in the ranking, apart and stage tables
    assert "÷" in html and 'data-testid="formulas"' in html
    # Three server-drawn charts over W38-W49; W45's on-time handling 4 / 4, W46's 3 / 4 (see test_trend...).
    assert html.count("<svg") == 3 and "<script" not in html and "cdn" not in html.lower()
    assert '<title>2026-W45: 4 / 4 = 100 %</title>' in html and '<title>2026-W46: 3 / 4 = 75 %</title>' in html


def test_dashboard_every_grouping_renders(world, client):
    c = client.login(world.park.hr_head)
    for by in ("department", "official", "category", "week", "month", "total"):
        resp = c.get(f"/rates/?from=2026-11-01&to=2026-11-30&by={by}")
        assert resp.status_code == 200, by
        assert "12 / 13 = 92.3 %" in resp.get_data(as_text=True), by  # the total is there whatever the grouping
    html = c.get("/rates/?from=2026-11-01&to=2026-11-30&by=week").get_data(as_text=True)
    # W44 (1 Nov only) to W49 (30 Nov only), then the total.
    assert [u for u in ("2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49")
            if f'<tr data-unit="{u}"' in html] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48",
                                                   "2026-W49"]
    assert 'data-testid="hidden-note"' not in html


def test_dashboard_period_picker(world, client):
    c = client.login(world.park.coordinator)
    html = c.get("/rates/?week=2026-W46&by=total").get_data(as_text=True)
    assert "2026-11-09" in html and "2026-11-15" in html
    assert "3 / 4 = 75.0 %" in html  # W46's on-time handling
    html = c.get("/rates/?month=2026-12&by=month").get_data(as_text=True)
    assert "2026-12-01" in html and "2026-12-31" in html and "1 / 1 = 100.0 %" in html
    # A bad period says so and shows the current month (the frozen clock: December 2026).
    resp = c.get("/rates/?from=2026-11-30&to=2026-11-01")
    assert resp.status_code == 200 and "flash-error" in resp.get_data(as_text=True)
    assert "2026-12-01" in resp.get_data(as_text=True)


def test_download_csv_and_xlsx(world, client, tmp_path):
    c = client.login(world.park.inspector)

    def park_category(code):
        return world.park.category(code).id

    resp = c.get("/rates/download?from=2026-11-01&to=2026-11-30&by=category&format=csv")
    assert resp.status_code == 200 and resp.data.startswith("\ufeff".encode())
    lines = resp.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("from,to,by,unit,label,tickets,accept_on_time,accept_decisions,acceptance_pct")
    # Labor and financing shown (talent hidden), then the total; names in the inspector's language (zh),
    # sorted by name: 用 (U+7528) before 融 (U+878D).
    assert [line.split(",")[3:5] for line in lines[1:3]] == [[str(park_category("labor")), "用工招工"],
                                                            [str(park_category("financing")), "融资贷款"]]
    assert lines[3].split(",")[3] == "total" and len(lines) == 4
    resp = c.get("/rates/download?from=2026-11-01&to=2026-11-30&by=total&format=xlsx")
    path = tmp_path / "rates.xlsx"
    path.write_bytes(resp.data)
    ws = load_workbook(path).active
    header, total = [cell.value for cell in ws[1]], [cell.value for cell in ws[2]]
    got = dict(zip(header, total))
    assert (got["accept_on_time"], got["accept_decisions"], got["handled_on_time"], got["rounds_handled"]) == (12, 13, 9, 11)
    assert c.get("/rates/download?from=x&format=csv").status_code == 400


def test_cli_csv_and_xlsx(world, tmp_path):
    runner = world.app.test_cli_runner()
    result = runner.invoke(args=["report", "rates", "--from", "2026-11-02", "--to", "2026-11-15", "--by", "week",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # W45, W46, total: decisions 12, 0, 12 (see test_by_week).
    assert [line.split(",")[3] for line in lines[1:]] == ["2026-W45", "2026-W46", "total"]
    assert [line.split(",")[7] for line in lines[1:]] == ["12", "0", "12"]
    out = tmp_path / "r.xlsx"
    result = runner.invoke(args=["report", "rates", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "xlsx",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    ws = load_workbook(out).active
    got = dict(zip([cell.value for cell in ws[1]], [cell.value for cell in ws[2]]))
    assert (got["unit"], got["tickets"], got["accept_decisions"], got["final_feedback"]) == ("total", 1, 1, 1)  # T15
    result = runner.invoke(args=["report", "rates", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "xlsx"])
    assert result.exit_code != 0
    result = runner.invoke(args=["report", "rates", "--from", "2026-10-31", "--to", "2026-10-01"])
    assert result.exit_code != 0 and "--to" in result.output


def test_parse_period():
    assert parse_period(week="2026-W45") == Period(date(2026, 11, 2), date(2026, 11, 8))
    assert parse_period(month="2026-02") == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period("2026-10-01", "2026-10-31") == Period(date(2026, 10, 1), date(2026, 10, 31))
    # 00:00 Shanghai of 1 Oct is 16:00 UTC on 30 Sep; the end is 24:00 of 31 Oct, exclusive.
    p = Period(date(2026, 10, 1), date(2026, 10, 31))
    assert (p.start, p.end) == (datetime(2026, 9, 30, 16), datetime(2026, 10, 31, 16))
    assert [b.key for b in Period(date(2026, 11, 1), date(2026, 11, 30)).buckets("week")] == [
        "2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert [b.key for b in Period(date(2026, 12, 20), date(2027, 1, 5)).buckets("month")] == ["2026-12", "2027-01"]
