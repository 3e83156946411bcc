"""Demo data: a believable park, built by driving the real services under a moving clock.

`seed(tickets)` loads the working-day calendar and the reference data, creates the park's
staff and twenty firms, then plays about ten weeks of requests: every step (filing,
acceptance, handling, feedback, rework, transfers, extensions, questions, notes, expiry)
goes through `services.filing.file_ticket`, `services.actions.perform` or
`record_feedback` with `timeutil.set_now` at the step's moment, on working days in office
hours. Open tickets are anchored on today so that the lists show every warning level.
The random choices use a fixed seed: the same day gives the same park.
"""
from __future__ import annotations

import random
import time as _time
from collections import Counter
from datetime import datetime, time, timedelta

import click

from ..extensions import db
from ..models import Category, Ticket, User
from ..reference import ensure_reference_data
from ..services.calendar import seed_known_years
from ..timeutil import from_local, now, set_now
from ..workdays import WorkCalendar
from .director import Director
from .people import create_people
from .plans import Planner
from .timeline import Days

RANDOM_SEED = 20261123


def seed(tickets: int = 200, *, random_seed: int = RANDOM_SEED, quiet: bool = False) -> dict:
    """Build the demo park; refuses (nothing changed) when the database already has users.

    Returns a summary: tickets per state, steps played, failures (empty when all went
    through), and the seconds it took.
    """
    if db.session.scalar(db.select(User.id).limit(1)) is not None:
        raise click.ClickException("The database already has users; the demo is only loaded into an empty one.")
    started = _time.monotonic()
    set_now(None)
    end = now()
    rng = random.Random(random_seed)
    try:
        seed_known_years()
        ensure_reference_data()
        days = Days(WorkCalendar.load(), end, rng)
        limits = {c.code: c.limit_days for c in db.session.scalars(db.select(Category))}

        # The accounts were set up a couple of weeks before the first request.
        planner_start = days.today - timedelta(days=84)
        set_now(from_local(datetime.combine(planner_start, time(9, 12))))
        people = create_people(rng)
        db.session.commit()

        planner = Planner(rng, days, people, limits)
        plans = planner.plans(max(0, tickets))
        for p in plans:
            planner.make_keys(p)
            planner.position(p)
        planner.link_follow_ups(plans)

        director = Director(rng, days, people, plans)
        director.schedule()
        result = director.run()
    finally:
        set_now(None)
        db.session.rollback()

    states = Counter(db.session.scalars(db.select(Ticket.state)))
    summary = {
        "tickets": sum(states.values()),
        "states": dict(states),
        "users": db.session.scalar(db.select(db.func.count(User.id))),
        "steps": result.steps,
        "failures": result.failures,
        "seconds": round(_time.monotonic() - started, 1),
    }
    if not quiet:
        click.echo(f"Demo park: {summary['users']} users, {summary['tickets']} tickets "
                   f"({', '.join(f'{k} {v}' for k, v in sorted(states.items()))}); "
                   f"{summary['steps']} steps in {summary['seconds']} s.")
        for failure in result.failures:
            click.echo(f"  step refused: {failure}", err=True)
    return summary
