"""The rates (DESIGN.md, Measures) on a fixed data set, against numbers worked out by hand.

The data set is built through the services under a frozen clock; the figures are
taken at 10 December 2026, 09:00 (every November due time has passed). All times
are Shanghai wall-clock times. The 2026 calendar (chinese-calendar) has no holiday
from late October to early December: working days are Monday to Friday.
Weekdays: Mon 26 Oct; Mon 2 Nov, Fri 6, Mon 9, Fri 13, Mon 16, Fri 20, Mon 23,
Fri 27, Mon 30; Tue 1 Dec, Fri 4.

Limits: accept 1 working day, feedback 5; handling per category: labor 5,
financing 10. A limit of N days from day D is due at 24:00 of the N-th working
day after D; a due time of 24:00 belongs to the day it ends (24:00 Mon 30 Nov
falls in November).

Credit (who a step counts for): acceptance the coordinator who decided it (the
coordinator has no department: "not assigned"); a round's timeliness whoever held
it when it fell due; a rating and the feedback window whoever handled that round;
a transfer the department and lead it left; an acceptance the department and
lead it went to first; a closing the ticket's department and lead at the close.

| T   | firm, category | story                                                                                   |
|-----|----------------|-----------------------------------------------------------------------------------------|
| T1  | A labor        | filed Mon 2 Nov 09, accepted 15 (accept due 24:00 Tue 3: on time), lead hr_official;    |
|     |                | handled Thu 5 15 (due 24:00 Mon 9: on time); rated Fri 6 15 yes/satisfied.              |
| T2  | A labor        | filed Mon 2 09, accepted 11; r1 handled Wed 4 15 (due Mon 9: on time), rated Thu 5 15   |
|     |                | no/DISSATISFIED; a review proposed Fri 6 10, REFUSED Fri 6 11 (the rating counts).      |
|     |                | r2 (due 24:00 Thu 12) handled Tue 10 15, rated Wed 11 15 no/DISSATISFIED; review        |
|     |                | proposed Thu 12 10, CONFIRMED Thu 12 11 (EXCLUDED). r3 (due 24:00 Wed 18) handled       |
|     |                | Mon 16 15, rated Tue 17 15 partly/basically: fed_back, 3 rounds.                        |
| T3  | A labor        | filed Mon 2 09, accepted 15, lead hr_official (due 24:00 Mon 9); nothing done by then;  |
|     |                | TRANSFER OF A LATE ROUND Tue 10 (to finance, fin_official): the late round stays with   |
|     |                | hr_official; fin_official handles it Thu 12 15 (LATE) and the rating Fri 13 15          |
|     |                | yes/satisfied is fin_official's (finance).                                              |
| T4  | A labor        | filed Tue 3 09, accepted 15, lead hr_official (due 24:00 Tue 10); transferred in hr to  |
|     |                | hr_other Wed 4 10, before the due time: the round is hr_other's; handled Mon 9 15 (on   |
|     |                | time); no feedback (window to 24:00 Mon 16): closed_unconfirmed Tue 17 09.              |
| T5  | A labor        | filed Wed 4 09, accepted Thu 5 15 (due 24:00 Thu 5: on time), lead hr_official; round   |
|     |                | due 24:00 Thu 12, NEVER HANDLED, still open: late.                                      |
| T6  | B financing    | filed Mon 2 09, accepted Tue 3 15 (on time), lead fin_official; round due 24:00 Tue 17; |
|     |                | CLOSED BY FORCE Mon 16 10, never handled: late.                                         |
| T7  | B financing    | filed Thu 5 09, accepted Mon 9 10 (due 24:00 Fri 6: LATE), lead fin_official; due 24:00 |
|     |                | Mon 23, +2 approved Wed 18 -> 24:00 Wed 25; handled Tue 24 15 (on time, EXTENDED);      |
|     |                | rated Fri 27 09 yes/basically.                                                          |
| T8  | B financing    | filed Fri 6 09, rejected 15 (due 24:00 Mon 9: on time).                                 |
| T9  | A labor        | filed Fri 6 09, withdrawn 12 (before its accept due time: no decision was owed).        |
| T10 | A labor        | filed Wed 25 09; never accepted (accept due 24:00 Thu 26): late.                        |
| T11 | A labor        | OCTOBER: filed Mon 26 09, accepted 15 (due 24:00 Tue 27 Oct), lead hr_official; round   |
|     |                | due 24:00 Mon 2 NOV, handled Mon 2 Nov 10 (on time); rated Tue 3 10 yes/satisfied.      |
| T12 | B financing    | filed Mon 30 Nov 09, accepted Tue 1 DEC 09 (due 24:00 Tue 1 Dec), lead fin_official.    |
| T13 | B financing    | filed Mon 16 09, accepted 15 (due 24:00 Tue 17: on time), lead fin_official; r1 due     |
|     |                | 24:00 Mon 30 (in November), handled Thu 19 15; rated Fri 20 15 partly/DISSATISFIED;     |
|     |                | r2 due 24:00 Fri 4 Dec, still open.                                                     |
"""
from __future__ import annotations

import json
import re
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
from tickets.models import Clock, Event
from tickets.reference import ensure_reference_data
from tickets.services.actions import perform, record_feedback
from tickets.services.rates import export as rates_export
from tickets.services.calendar import seed_year
from tickets.services.rates import Period, compute, parse_period, trend
from tickets.services.rates import export
from tickets.timeutil import from_local, set_now

from .conftest import PASSWORD, Park, accept, drop_everything, file_request, handle
from .pgsuite import separate_url
from .conftest_browser import translator

AT = from_local(datetime(2026, 12, 10, 9))


def build(park, clock):
    def at(month, day, hour):
        clock(2026, month, day, hour)

    a, b = park.firm_user, park.firm_b_user
    labor, financing = park.category("labor").id, park.category("financing").id

    def new(month, day, hour, user=a, category=labor):
        at(month, day, hour)
        return file_request(park, user=user, category_id=category)

    def rate(t, month, day, hour, solved, rating):
        at(month, day, hour)
        record_feedback(t, b if t.firm_id == park.firm_b.id else a, solved=solved, rating=rating, comment="意见")

    def review(t, month, day, hour, decision):
        at(month, day, hour)
        (fb,) = [f for f in review_choices_of(t)]
        perform(t, "propose_exclusion", park.coordinator, feedback_id=fb, reason="企业诉求超出园区职权")
        at(month, day, hour + 1)
        from tickets.models import RatingReview

        rid = db.session.scalar(db.select(RatingReview.id).filter_by(ticket_id=t.id, status="proposed"))
        perform(t, "decide_exclusion", park.inspector, review_id=rid, decision=decision,
                comment="" if decision == "confirm" else "企业诉求合理，评价有效")

    t = {}
    t[11] = new(10, 26, 9)
    at(10, 26, 15), accept(park, t[11])
    at(11, 2, 10), handle(park, t[11])
    rate(t[11], 11, 3, 10, "yes", "satisfied")

    t[1] = new(11, 2, 9)
    at(11, 2, 15), accept(park, t[1])
    at(11, 5, 15), handle(park, t[1])
    rate(t[1], 11, 6, 15, "yes", "satisfied")

    t[2] = new(11, 2, 9)
    at(11, 2, 11), accept(park, t[2])
    at(11, 4, 15), handle(park, t[2])
    rate(t[2], 11, 5, 15, "no", "dissatisfied")
    review(t[2], 11, 6, 10, "refuse")
    at(11, 10, 15), handle(park, t[2])
    rate(t[2], 11, 11, 15, "no", "dissatisfied")
    review(t[2], 11, 12, 10, "confirm")
    at(11, 16, 15), handle(park, t[2])
    rate(t[2], 11, 17, 15, "partly", "basically_satisfied")

    t[3] = new(11, 2, 9)
    at(11, 2, 15), accept(park, t[3])
    at(11, 10, 9), perform(t[3], "request_transfer", park.hr_official, to_department_id=park.depts["finance"].id,
                           to_lead_id=park.fin_official.id, reason="属财政金融局职责")
    at(11, 10, 10), perform(t[3], "transfer", park.coordinator, comment="同意")
    at(11, 12, 15), handle(park, t[3], by=park.fin_official)
    rate(t[3], 11, 13, 15, "yes", "satisfied")

    t[4] = new(11, 3, 9)
    at(11, 3, 15), accept(park, t[4])
    at(11, 4, 9), perform(t[4], "request_transfer", park.hr_official, to_department_id=park.depts["hr"].id,
                          to_lead_id=park.hr_other.id, reason="换人办理")
    at(11, 4, 10), perform(t[4], "transfer", park.hr_head, comment="同意")
    at(11, 9, 15), handle(park, t[4], by=park.hr_other)
    at(11, 17, 9), perform(t[4], "expire", None)

    t[5] = new(11, 4, 9)
    at(11, 5, 15), accept(park, t[5])

    t[6] = new(11, 2, 9, user=b, category=financing)
    at(11, 3, 15), accept(park, t[6], lead=park.fin_official)
    at(11, 16, 10), perform(t[6], "force_close", park.coordinator, reason="企业已迁出园区")

    t[7] = new(11, 5, 9, user=b, category=financing)
    at(11, 9, 10), accept(park, t[7], lead=park.fin_official)
    at(11, 18, 10), perform(t[7], "request_extension", park.fin_official, days=2, reason="等待银行审批",
                            public_reason="等待审批")
    at(11, 18, 11), perform(t[7], "decide_extension", park.fin_head, decision="approve", comment="")
    at(11, 24, 15), handle(park, t[7], by=park.fin_official)
    rate(t[7], 11, 27, 9, "yes", "basically_satisfied")

    t[8] = new(11, 6, 9, user=b, category=financing)
    at(11, 6, 15), perform(t[8], "reject", park.coordinator, reason="不属本园区")
    t[9] = new(11, 6, 9)
    at(11, 6, 12), perform(t[9], "withdraw", a, reason="")
    t[10] = new(11, 25, 9)

    t[13] = new(11, 16, 9, user=b, category=financing)
    at(11, 16, 15), accept(park, t[13], lead=park.fin_official)
    at(11, 19, 15), handle(park, t[13], by=park.fin_official)
    rate(t[13], 11, 20, 15, "partly", "dissatisfied")

    t[12] = new(11, 30, 9, user=b, category=financing)
    at(12, 1, 9), accept(park, t[12], lead=park.fin_official)
    return t


def review_choices_of(ticket):
    from tickets.services.reviews import reviewable

    return [f.id for f in reviewable(ticket)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One database for the module: the scenario is built once (through the services, which is slow).

    Mirrors the `app` fixture of conftest (same config, same database choice, same teardown).
    """
    tmp = tmp_path_factory.mktemp("rates")

    class Cfg(TestingConfig):
        UPLOAD_DIR = str(tmp / "uploads")
        SQLALCHEMY_DATABASE_URI = separate_url(tmp, "test")   # SQLite, or a database of its own in the run's PostgreSQL

    app = create_app(Cfg)

    def _own_request_user():
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, _own_request_user)

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
        set_now(AT)
        yield SimpleNamespace(app=app, park=park, t=tickets)
        db.session.remove()
        drop_everything()
    set_now(None)


@pytest.fixture(autouse=True)
def known_now(world):
    """This module's known moment (overrides tests/conftest.py's): 10 December 2026, 09:00 Shanghai."""
    set_now(AT)
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
    assert {n: t[n].state for n in t} == {
        1: "fed_back", 2: "fed_back", 3: "fed_back", 4: "closed_unconfirmed", 5: "accepted", 6: "closed_forced",
        7: "fed_back", 8: "rejected", 9: "withdrawn", 10: "submitted", 11: "fed_back", 12: "accepted",
        13: "accepted"}
    assert (t[2].round, t[13].round, t[3].transfer_count, t[4].transfer_count) == (3, 2, 1, 1)
    assert (t[3].lead_id, t[4].lead_id) == (park.fin_official.id, park.hr_other.id)


def test_a_late_round_stays_with_who_let_it_fall_due(data, park):
    def credit(t):
        clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=t.id, kind="handle", round=1))
        return clock.credit_department_id, clock.credit_user_id

    # T3 was transferred after its due time: the round stays hr_official's; T4 before: it moved to hr_other.
    assert credit(data[3]) == (park.depts["hr"].id, park.hr_official.id)
    assert credit(data[4]) == (park.depts["hr"].id, park.hr_other.id)
    # T6 never left fin_official; acceptance is credited to the coordinator who decided it.
    assert credit(data[6]) == (park.depts["finance"].id, park.fin_official.id)
    accept_clock = db.session.scalar(db.select(Clock).filter_by(ticket_id=data[7].id, kind="accept"))
    assert (accept_clock.credit_department_id, accept_clock.credit_user_id) == (None, park.coordinator.id)


def figures(row):
    """Every measure of a row as (numerator, denominator, rate)."""
    return {m: (row[n], row[d], row[m]) for m, n, d in (
        ("on_time_acceptance", "accept_on_time", "accept_due"),
        ("on_time_handling", "handled_on_time", "rounds_due"),
        ("resolution", "solved_yes", "ratings"),
        ("satisfaction", "satisfied", "ratings"),
        ("first_time_satisfaction", "first_satisfied", "first_ratings"),
        ("participation", "rated_rounds", "feedback_windows_ended"),
        ("rework", "reworked", "closed"),
        ("transfers_per_ticket", "transfers", "accepted"))}


DETAILS = ("extended_rounds", "extended_on_time", "rounds_open_late", "rounds_closed_unhandled", "solved_partly",
           "rated_satisfied", "rated_basically", "dissatisfied_ratings", "excluded_ratings", "closed_unconfirmed",
           "closed_forced", "rejected", "withdrawn")


def details(row):
    return tuple(row[f] for f in DETAILS)


# November, all units (worked out from the table above):
# acceptance: accept clocks due in November T1 T2 T3 T6 (24:00 Tue 3), T4 (Wed 4), T5 (Thu 5), T7 (Fri 6),
#   T8 (Mon 9), T13 (Tue 17), T10 (Thu 26) = 10 (T9 withdrawn in time; T11 due in October, T12 in December);
#   late T7 and T10 (never decided): 8 / 10.
# handling: rounds due in November T11 (Mon 2), T1 T2r1 T3 (Mon 9), T4 (Tue 10), T2r2 T5 (Thu 12), T6 (Tue 17),
#   T2r3 (Wed 18), T7 (Wed 25, extended), T13r1 (24:00 Mon 30) = 11; late T3 (handled Thu 12), T5 (open),
#   T6 (closed by force): 8 / 11 = 72.7 %; extended 1 (on time 1); late and open 1; closed unhandled 1.
# ratings given in November: T11 yes/sat, T2r1 no/dis, T1 yes/sat, T2r2 no/dis (EXCLUDED), T3 yes/sat,
#   T2r3 partly/basic, T13 partly/dis, T7 yes/basic = 8, 1 excluded: 7 counted.
#   resolution yes T11 T1 T3 T7: 4 / 7 = 57.1 % (partly 2); satisfaction T11 T1 T3 T2r3 T7: 5 / 7 = 71.4 %
#   (satisfied 3, basically 2, dissatisfied 2); first round T11 T2r1 T1 T3 T13 T7: 4 / 6 = 66.7 %.
# participation: feedback windows ended T11 T2r1 T1 T2r2 T3 T2r3 T13 T7 (rated) and T4 (expired) = 9: 8 / 9.
# rework: accepted tickets closed T11 (Tue 3) T1 (Fri 6) T3 (Fri 13) T6 (forced Mon 16) T2 (Tue 17, 3 rounds)
#   T4 (unconfirmed Tue 17) T7 (Fri 27) = 7: 1 / 7 = 14.3 %.
# transfers: T4 (Wed 4), T3 (Tue 10) = 2; accepted in November T1-T7, T13 = 8: 0.25.
# apart: closed_unconfirmed T4, closed_forced T6, rejected T8, withdrawn T9: 1 each.
NOVEMBER_FIGURES = {
    "on_time_acceptance": (8, 10, 80.0), "on_time_handling": (8, 11, 72.7), "resolution": (4, 7, 57.1),
    "satisfaction": (5, 7, 71.4), "first_time_satisfaction": (4, 6, 66.7), "participation": (8, 9, 88.9),
    "rework": (1, 7, 14.3), "transfers_per_ticket": (2, 8, 0.25)}
NOVEMBER_DETAILS = (1, 1, 1, 1, 2, 3, 2, 2, 1, 1, 1, 1, 1)
STAGE_FIELDS = ("accept_days_n", "accept_days_median", "accept_days_p90", "handle_days_n", "handle_days_median",
                "handle_days_p90", "feedback_days_n", "feedback_days_median", "feedback_days_p90")
# Stage times in November, in working days (the part of each working day between start and stop):
# accept (decisions taken in November): T1 .25 (09 -> 15), T2 .08 (09 -> 11: 2/24), T3 .25, T4 .25,
#   T5 1.25 (Wed 09 -> Thu 15: 15/24 + 15/24), T6 1.25, T7 2.04 (Thu 09 -> Mon 10: .625 + 1 + .417),
#   T8 .25, T13 .25; sorted .08 .25 x5 1.25 1.25 2.04 (n 9): median the 5th .25; rank ceil(8.1) = 9: 2.04.
# handle (rounds handled in November): T11 4.79 (Mon 26 Oct 15 -> Mon 2 Nov 10: .375 + 4 + .417),
#   T1 3, T2r1 2.17 (Mon 11 -> Wed 15: .542 + 1 + .625), T2r2 3, T2r3 3, T3 8 (Mon 2 15 -> Thu 12 15),
#   T4 4, T7 11.21 (Mon 9 10 -> Tue 24 15: .583 + 10 + .625), T13 3;
#   sorted 2.17 3 3 3 3 4 4.79 8 11.21 (n 9): median 3; rank 9: 11.21.
# feedback (every rating): each 1 (15:00 to 15:00 of the next working day, T11 10:00 to 10:00), but T7 2.75
#   (Tue 24 15 -> Fri 27 09: .375 + 2 + .375); n 8: median 1, rank ceil(7.2) = 8: 2.75.
NOVEMBER_STAGES = (9, 0.25, 2.04, 9, 3.0, 11.21, 8, 1.0, 2.75)


def test_total_for_november(data):
    report = compute(NOVEMBER, "total")
    assert report.hidden == 0 and report.rows == [report.total]
    row = report.total
    assert figures(row) == NOVEMBER_FIGURES
    assert details(row) == NOVEMBER_DETAILS
    assert tuple(row[f] for f in STAGE_FIELDS) == NOVEMBER_STAGES


def test_by_official_credits_who_held_the_step(data, park):
    report = compute(NOVEMBER, "official", locale="en")
    # Shown: the coordinator (acceptance: 9 clocks) and hr_official (7 rounds due). Hidden, fewer than 5 in
    # every denominator: fin_official (3 rounds, 3 ratings, 3 windows, 3 closings, 3 acceptances), hr_other
    # (T4: 1 round, 1 window, 1 closing) and "not assigned" (T10's undecided accept clock; T8, T9 closed).
    assert [(r["unit"], r["label"]) for r in report.rows] == [(park.coordinator.id, "Coord"),
                                                              (park.hr_official.id, "Hr Off")]
    assert report.hidden == 3
    coord, hr = report.rows
    # The coordinator decided T1-T8 and T13 (T10 never): on time all but T7 -> 8 / 9.
    assert figures(coord)["on_time_acceptance"] == (8, 9, 88.9)
    assert figures(coord)["on_time_handling"] == (0, 0, None)
    # hr_official: rounds T11 T1 T2r1 T2r2 T2r3 T3 (late: held when it fell due) T5 (late, open) = 7, on time 5;
    # windows T11 T1 T2r1 T2r2 T2r3, all rated: 5 / 5; ratings T11 T1 T2r1 T2r3 (T2r2 excluded) = 4: too few
    # to rank (the counts are kept); first round T11 T2r1 T1 = 3; closings T11 T1 T2 = 3 (T3 closed under
    # fin_official); accepted (first lead) T1-T5 = 5, transfers T3 and T4 left this official: 2 / 5.
    assert figures(hr) == {
        "on_time_acceptance": (0, 0, None), "on_time_handling": (5, 7, 71.4), "resolution": (2, 4, None),
        "satisfaction": (3, 4, None), "first_time_satisfaction": (2, 3, None), "participation": (5, 5, 100.0),
        "rework": (1, 3, None), "transfers_per_ticket": (2, 5, 0.4)}
    assert sorted(hr["too_few"]) == ["first_time_satisfaction", "resolution", "rework", "satisfaction"]
    assert (hr["rounds_open_late"], hr["excluded_ratings"], hr["dissatisfied_ratings"]) == (1, 1, 1)
    with force_locale("en"):
        assert export.hidden_note(report) == "3 units hidden: fewer than 5 in every denominator."
    # The total counts every unit, the hidden ones too.
    assert figures(report.total) == NOVEMBER_FIGURES


def test_by_department(data, park):
    report = compute(NOVEMBER, "department", locale="en")
    # hr (8 rounds) and "not assigned" (the 10 accept clocks: the coordinator has no department) are shown;
    # finance (3 rounds, 3 ratings, 3 windows, 3 closings, 3 acceptances) is hidden.
    assert [r["label"] for r in report.rows] == ["Human Resources and Social Security Bureau", "Not assigned"]
    assert report.hidden == 1
    hr, none = report.rows
    # hr: rounds of hr_official (7, 5 on time) and hr_other (T4, on time): 6 / 8; windows 5 + T4 (expired):
    # 5 / 6; ratings 4 and closings T11 T1 T2 T4 = 4: too few; accepted T1-T5, transfers T3 T4: 2 / 5.
    assert figures(hr) == {
        "on_time_acceptance": (0, 0, None), "on_time_handling": (6, 8, 75.0), "resolution": (2, 4, None),
        "satisfaction": (3, 4, None), "first_time_satisfaction": (2, 3, None), "participation": (5, 6, 83.3),
        "rework": (1, 4, None), "transfers_per_ticket": (2, 5, 0.4)}
    assert hr["closed_unconfirmed"] == 1
    assert figures(none)["on_time_acceptance"] == (8, 10, 80.0)
    assert (none["rejected"], none["withdrawn"]) == (1, 1)
    assert figures(report.total) == NOVEMBER_FIGURES


def test_by_week(data):
    report = compute(NOVEMBER, "week")
    assert report.hidden == 0  # weeks are periods, not a ranking: never hidden
    assert [r["unit"] for r in report.rows] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48",
                                                "2026-W49"]
    by = {r["unit"]: figures(r) for r in report.rows}
    # On-time handling by the week the due time fell in: W45 T11 (24:00 Mon 2); W46 T1 T2r1 T3 (24:00 Mon 9),
    # T4 (Tue 10), T2r2 T5 (Thu 12), late T3 T5: 4 / 6; W47 T6 (late) T2r3: 1 / 2; W48 T7; W49 (Mon 30
    # only) T13r1, due 24:00 Mon 30.
    assert [by[w]["on_time_handling"][:2] for w in sorted(by)] == [(0, 0), (1, 1), (4, 6), (1, 2), (1, 1), (1, 1)]
    # Acceptance: W45 T1 T2 T3 T6 T4 T5 T7 (late): 6 / 7; W46 T8; W47 T13; W48 T10 (never decided).
    assert [by[w]["on_time_acceptance"][:2] for w in sorted(by)] == [(0, 0), (6, 7), (1, 1), (1, 1), (0, 1), (0, 0)]
    # Satisfaction by the day of the rating: W45 T11 T2r1 (dis) T1: 2 / 3; W46 T3 (T2r2 excluded): 1 / 1;
    # W47 T2r3 T13 (dis): 1 / 2; W48 T7.
    assert [by[w]["satisfaction"][:2] for w in sorted(by)] == [(0, 0), (2, 3), (1, 1), (1, 2), (1, 1), (0, 0)]
    assert [r["excluded_ratings"] for r in report.rows] == [0, 0, 1, 0, 0, 0]
    assert figures(report.total) == NOVEMBER_FIGURES


def test_by_month_and_the_period_rule(data):
    report = compute(Period(date(2026, 10, 1), date(2026, 12, 31)), "month")
    october, november, december = (figures(r) for r in report.rows)
    # October: T11's acceptance (due 24:00 Tue 27 Oct) and its round's start; the round fell due in November.
    assert october["on_time_acceptance"] == (1, 1, 100.0)
    assert october["on_time_handling"] == (0, 0, None)
    assert october["transfers_per_ticket"] == (0, 1, 0.0)
    assert november == NOVEMBER_FIGURES
    # December (taken on 10 Dec): T12's acceptance (due 24:00 Tue 1 Dec); T13's round 2 fell due 24:00 Fri 4 Dec,
    # still open: late; T12's round falls due on 15 Dec, after the figures were taken: not counted yet.
    assert december["on_time_acceptance"] == (1, 1, 100.0)
    assert december["on_time_handling"] == (0, 1, 0.0)
    assert december["transfers_per_ticket"] == (0, 1, 0.0)


def test_a_rating_review_is_on_the_record_and_hidden_from_the_firm(data, park):
    from tickets.models import RatingReview
    from tickets.ticket.timeline import timeline

    t2 = data[2]
    reviews = db.session.scalars(db.select(RatingReview).filter_by(ticket_id=t2.id).order_by(RatingReview.id)).all()
    assert [(r.feedback.round, r.status, r.proposed_by_id, r.decided_by_id) for r in reviews] == [
        (1, "refused", park.coordinator.id, park.inspector.id), (2, "confirmed", park.coordinator.id, park.inspector.id)]
    events = db.session.scalars(db.select(Event).where(Event.ticket_id == t2.id,
                                                       Event.action.in_(("propose_exclusion", "decide_exclusion")))
                                .order_by(Event.seq)).all()
    assert [(e.action, json.loads(e.details).get("decision"), e.visibility) for e in events] == [
        ("propose_exclusion", None, "internal"), ("decide_exclusion", "refuse", "internal"),
        ("propose_exclusion", None, "internal"), ("decide_exclusion", "confirm", "internal")]
    assert t2.state == "fed_back"  # nothing of the review changed the ticket's state
    firm_sees = {e.action for e in timeline(t2, park.firm_user)}
    assert not firm_sees & {"propose_exclusion", "decide_exclusion"}
    assert {"propose_exclusion", "decide_exclusion"} <= {e.action for e in timeline(t2, park.inspector)}


def test_trend_is_twelve_weeks(data):
    weeks = trend(date(2026, 11, 30))
    assert [w["unit"] for w in weeks] == [f"2026-W{n}" for n in range(38, 50)]
    by = {w["unit"]: figures(w) for w in weeks}
    assert by["2026-W46"]["on_time_handling"] == (4, 6, 66.7)
    assert by["2026-W40"]["on_time_handling"] == (0, 0, None)
    # W49 is the whole week (30 Nov - 6 Dec) in the trend: T13r1 (Mon 30) and T13r2 (Fri 4 Dec, open): 1 / 2.
    assert by["2026-W49"]["on_time_handling"] == (1, 2, 50.0)


def test_cli_json_gives_every_measure_with_its_numerator_and_denominator(world):
    result = world.app.test_cli_runner().invoke(args=["report", "rates", "--from", "2026-11-01", "--to", "2026-11-30",
                                                      "--format", "json", "--locale", "en"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["from"], out["to"], out["by"], out["hidden_units"]) == ("2026-11-01", "2026-11-30", "total", 0)
    (total,) = out["rows"]
    assert {k: (v["numerator"], v["denominator"], v["rate"]) for k, v in total.items()
            if k in NOVEMBER_FIGURES} == NOVEMBER_FIGURES
    assert set(NOVEMBER_FIGURES) <= set(total)
    assert total["apart"] == {"closed_unconfirmed": 1, "closed_forced": 1, "rejected": 1, "withdrawn": 1}
    assert total["details"]["excluded_ratings"] == 1
    assert total["stage_days"]["accept"] == {"n": 9, "median": 0.25, "p90": 2.04}


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


def test_dashboard_shows_numerators_denominators_and_the_small_units(world, client):
    html = client.login(world.park.leader).get("/rates/?from=2026-11-01&to=2026-11-30&by=official").get_data(
        as_text=True)
    for figure in ("8 / 10 = 80.0 %", "8 / 11 = 72.7 %", "4 / 7 = 57.1 %", "5 / 7 = 71.4 %", "4 / 6 = 66.7 %",
                   "8 / 9 = 88.9 %", "1 / 7 = 14.3 %", "2 / 8 = 0.25",   # the total
                   "8 / 9 = 88.9 %",                                       # the coordinator's acceptance
                   "5 / 7 = 71.4 %", "5 / 5 = 100.0 %", "2 / 5 = 0.40"):  # hr_official
        assert figure in html, figure
    # hr_official's satisfaction over 4 ratings: the counts, no rate.
    assert "3 / 4 = " in html and "3 / 4 = 75.0 %" not in html
    assert 'data-testid="hidden-note"' in html
    assert "÷" in html and 'data-testid="formulas"' in html
    # Drawn on the server: no chart script, no CDN; the one script is the app's own static file.
    assert html.count("<svg") == 3 and "cdn" not in html.lower()
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']
    assert " style=" not in html
    assert '<title>2026-W46: 4 / 6 = 66.7 %</title>' in html


def test_dashboard_every_grouping_renders(world, client):
    c = client.login(world.park.hr_head)
    for by in ("department", "official", "category", "week", "month", "total"):
        resp = c.get(f"/rates/?from=2026-11-01&to=2026-11-30&by={by}")
        assert resp.status_code == 200, by
        assert "5 / 7 = 71.4 %" in resp.get_data(as_text=True), by  # the total is there whatever the grouping


def test_dashboard_period_picker(world, client):
    c = client.login(world.park.coordinator)
    html = c.get("/rates/?week=2026-W46&by=total").get_data(as_text=True)
    assert "2026-11-09" in html and "2026-11-15" in html
    assert "4 / 6 = 66.7 %" in html  # W46's on-time handling
    # A bad period says so and shows the current month (the module's clock: December 2026).
    resp = c.get("/rates/?from=2026-11-30&to=2026-11-01")
    assert resp.status_code == 200 and "flash-error" in resp.get_data(as_text=True)
    assert "2026-12-01" in resp.get_data(as_text=True)


def test_download_csv_and_xlsx(world, client, tmp_path):
    c = client.login(world.park.inspector)
    resp = c.get("/rates/download?from=2026-11-01&to=2026-11-30&by=department&format=csv")
    assert resp.status_code == 200 and resp.data.startswith("\ufeff".encode())
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert [r["unit"] for r in rows][-1] == "total" and len(rows) == 3
    total = rows[-1]
    assert (total["satisfaction_numerator"], total["satisfaction_denominator"], total["satisfaction_rate"]) == (
        "5", "7", "71.4")
    assert total["excluded_ratings"] == "1"
    resp = c.get("/rates/download?from=2026-11-01&to=2026-11-30&by=total&format=xlsx")
    path = tmp_path / "rates.xlsx"
    path.write_bytes(resp.data)
    ws = load_workbook(path).active
    # For people: headed in the reader's language (the inspector reads Chinese), no key column.
    got = dict(zip([cell.value for cell in ws[1]], [cell.value for cell in ws[2]]))
    zh = translator("zh")
    handling = zh("On-time handling")
    assert (got[f"{handling}：分子"], got[f"{handling}：分母"], got[f"{handling}：比率（%）"]) == (8, 11, 72.7)
    assert got[zh("Grouped by")] == zh("Total") and got[zh("Unit")] == zh("Total")
    assert not any(str(v).startswith(("on_time", "unit")) for v in got)
    assert ws.freeze_panes == "A2" and ws.page_setup.orientation == "landscape"
    assert c.get("/rates/download?from=x&format=csv").status_code == 400


def test_cli_csv_and_xlsx(world, tmp_path):
    runner = world.app.test_cli_runner()
    result = runner.invoke(args=["report", "rates", "--from", "2026-11-02", "--to", "2026-11-15", "--by", "week",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["unit"], r["on_time_handling_numerator"], r["on_time_handling_denominator"]) for r in rows] == [
        ("2026-W45", "1", "1"), ("2026-W46", "4", "6"), ("total", "5", "7")]
    out = tmp_path / "r.xlsx"
    result = runner.invoke(args=["report", "rates", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "xlsx",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    names = rates_export.headings()
    wanted = [c for c in rates_export.columns() if c != "unit"]
    assert list(rows[0]) == [names[c] for c in wanted]
    got = dict(zip(wanted, rows[1]))
    assert (got["on_time_acceptance_numerator"], got["on_time_acceptance_denominator"]) == (1, 1)
    result = runner.invoke(args=["report", "rates", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "xlsx"])
    assert result.exit_code != 0
    result = runner.invoke(args=["report", "rates", "--from", "2026-10-31", "--to", "2026-10-01"])
    assert result.exit_code != 0 and "--to" in result.output


def test_the_meeting_list_carries_the_same_figures(world, client, tmp_path):
    from tickets.services.meeting import build_list, snapshot
    from tickets.services.meeting_xlsx import workbook_bytes

    ml = build_list("2026-W47")  # the list of Monday 16 Nov: the week 9-15 Nov
    rates = snapshot(ml)["rates"]
    assert (rates["period_from"], rates["period_to"]) == ("2026-11-09", "2026-11-15")
    got = {k: (v["numerator"], v["denominator"], v["rate"]) for k, v in rates["total"]["measures"].items()}
    # 9-15 Nov: acceptance T8 (due 24:00 Mon 9); handling 4 / 6 (see test_by_week); ratings T3 (T2r2 excluded);
    # windows T2r2 T3, both rated; closed T3 (one round); transfer T3, accepted T7.
    assert got == {"on_time_acceptance": (1, 1, 100.0), "on_time_handling": (4, 6, 66.7), "resolution": (1, 1, 100.0),
                   "satisfaction": (1, 1, 100.0), "first_time_satisfaction": (1, 1, 100.0),
                   "participation": (2, 2, 100.0), "rework": (0, 1, 0.0), "transfers_per_ticket": (1, 1, 1.0)}
    week = compute(Period(date(2026, 11, 9), date(2026, 11, 15)), "total").total
    assert got == figures(week)
    # hr is shown (6 rounds due); finance and "not assigned" are below 5 everywhere.
    assert [d["label_zh"] for d in rates["departments"]] == ["人力资源和社会保障局"] and rates["hidden"] == 2
    html = client.login(world.park.coordinator).get("/meeting/2026-W47").get_data(as_text=True)
    assert 'data-testid="meeting-rates"' in html and "4 / 6 = 66.7 %" in html
    path = tmp_path / "m.xlsx"
    path.write_bytes(workbook_bytes(snapshot(ml)))
    ws = load_workbook(path)["办理指标"]
    header = [c.value for c in ws[1]]
    total = [c.value for c in ws[3]]
    assert total[0] == "合计" and total[header.index("按期办理率分子")] == 4 and total[header.index("按期办理率")] == 66.7


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
