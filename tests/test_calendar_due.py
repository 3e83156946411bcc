"""`flask --app wsgi calendar due`: the due time the app would set, and whether it is provisional.

By hand (Shanghai; 24:00 of a day is how the app shows a due time):

2026, loaded from chinese-calendar: National Day Thu 1 - Wed 7 October off, make-up working
days Sun 20 September and Sat 10 October. A 5-day clock started Wed 30 September 16:00:
Thu 8 (1), Fri 9 (2), Sat 10 (3, worked), Mon 12 (4), Tue 13 October (5): due 24:00 Tue 13
October; yellow from 24:00 Mon 12 October (one working day left); red for 3 days at 24:00
Fri 16 October (14, 15, 16).

2027, not loaded: Fri 1 January is New Year's Day, a provisional holiday. A 5-day clock
started Thu 31 December 2026 16:00: Mon 4 (1), 5, 6, 7, Fri 8 January (5): due 24:00 Fri
8 January 2027; yellow from 24:00 Thu 7 January; red for 3 days at 24:00 Wed 13 January
(11, 12, 13). National Day 2027: 1-3 October (Fri-Sun) and Mon 4, Tue 5 made up; a 5-day
clock started Thu 30 September 2027 16:00: Wed 6 (1), Thu 7, Fri 8, Mon 11, Tue 12 October
(5): due 24:00 Tue 12 October 2027.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from tickets.extensions import db
from tickets.services.calendar import seed_year

from .conftest import accept, file_request


@pytest.fixture
def runner(app):
    assert seed_year(2026) > 0
    db.session.commit()
    return app.test_cli_runner()


def due(runner, start, days):
    return runner.invoke(args=["calendar", "due", "--start", start, "--days", str(days)])


def test_due_in_2026_on_the_loaded_schedule(runner):
    result = due(runner, "2026-09-30 16:00", 5)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "started: 2026-09-30 16:00 Asia/Shanghai, limit 5 working days\n"
        "due: 2026-10-13 24:00 Asia/Shanghai\n"
        "yellow from: 2026-10-12 24:00\n"
        "red for 3 days from: 2026-10-16 24:00\n"
        "official: every year it touches has its schedule loaded\n"
    )


def test_due_in_2027_is_provisional(runner):
    result = due(runner, "2026-12-31 16:00", 5)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "started: 2026-12-31 16:00 Asia/Shanghai, limit 5 working days\n"
        "due: 2027-01-08 24:00 Asia/Shanghai\n"
        "yellow from: 2027-01-07 24:00\n"
        "red for 3 days from: 2027-01-13 24:00\n"
        "provisional: the 2027 holiday schedule is not loaded yet\n"
    )
    result = due(runner, "2027-09-30T16:00", 5)
    assert "due: 2027-10-12 24:00 Asia/Shanghai\n" in result.output
    assert result.output.endswith("provisional: the 2027 holiday schedule is not loaded yet\n")


def test_due_says_what_start_clock_sets(runner, park, clock):
    """The command and a real clock agree: the handle clock of a labor request (5 days)."""
    clock(2026, 12, 31, 16)
    t = accept(park, file_request(park))
    assert t.due_at == datetime(2027, 1, 8, 16, 0)  # 24:00 Fri 8 January, Shanghai
    assert "due: 2027-01-08 24:00 Asia/Shanghai\n" in due(runner, "2026-12-31 16:00", 5).output


@pytest.mark.parametrize("args, message", [
    (["--start", "tomorrow", "--days", "5"], 'use "YYYY-MM-DD HH:MM" (Asia/Shanghai)'),
    (["--start", "2026-02-30 10:00", "--days", "5"], 'use "YYYY-MM-DD HH:MM" (Asia/Shanghai)'),
    (["--start", "2026-09-30 16:00+08:00", "--days", "5"], "without an offset"),
    (["--start", "1999-09-30 16:00", "--days", "5"], "between 2000 and 2100"),
    (["--start", "2026-09-30 16:00", "--days", "0"], "0 is not in the range 1<=x<=365"),
    (["--start", "2026-09-30 16:00", "--days", "five"], "'five' is not a valid integer"),
    (["--days", "5"], "Missing option '--start'"),
])
def test_due_refuses_bad_arguments(runner, args, message):
    result = runner.invoke(args=["calendar", "due", *args])
    assert result.exit_code == 2
    assert message in result.output
