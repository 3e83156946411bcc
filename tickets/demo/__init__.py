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
from sqlalchemy import event as sa_event

from ..extensions import db
from ..models import Category, RatingReview, Ticket, User
from ..reference import ensure_reference_data
from ..services.calendar import seed_known_years
from ..services.sweep import sweep
from ..timeutil import from_local, now, set_now
from ..workdays import WorkCalendar
from .director import Director
from .people import create_people
from .plans import Planner
from .timeline import Days

RANDOM_SEED = 20261123


def _sqlite_normal_sync(dbapi_connection, connection_record, connection_proxy):
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()




def seed_oversight(end: datetime) -> None:
    """What the oversight pages show on a park that has run for a while: the week's
    meeting list, a week of daily digests, a recorded audit run, and supervision
    notices on two tickets that have been red for 3 working days."""
    from ..services.actions import perform
    from ..services.digest import keep_digest, run_verify, yesterday
    from ..services.meeting import build_due

    last = yesterday(end)
    for back in range(6, -1, -1):
        keep_digest(last - timedelta(days=back), mail=False)
    run_verify("cli")
    build_due()
    inspector = db.session.scalar(db.select(User).filter_by(username="inspector"))
    supervised = db.session.scalars(
        db.select(Ticket).where(Ticket.supervised_at.is_not(None), Ticket.state == "accepted")
        .order_by(Ticket.id).limit(2)).all()
    reasons = ["超期3个工作日以上未办结，请说明原因及下一步办理计划。",
               "企业多次反映未获答复，请书面说明办理进展。"]
    for ticket, reason in zip(supervised, reasons):
        perform(ticket, "issue_notice", inspector, reason=reason)
    seed_reviews(inspector)


def seed_reviews(inspector: User) -> None:
    """Two reviews (甄别) of dissatisfied ratings: one confirmed (the rating excluded, counted
    apart on the rates page), one waiting for the inspector."""
    from ..models import Feedback
    from ..services.actions import perform

    coordinator = db.session.scalar(db.select(User).filter_by(username="coord"))
    ratings = db.session.scalars(db.select(Feedback).where(Feedback.rating == "dissatisfied")
                                 .order_by(Feedback.given_at.desc(), Feedback.id).limit(2)).all()
    reasons = ["企业要求调整规划用地性质，超出园区职权范围，已向企业书面解释。",
               "企业对办理结果不满意系因银行授信政策，非承办单位原因。"]
    for n, (fb, reason) in enumerate(zip(ratings, reasons)):
        ticket = db.session.get(Ticket, fb.ticket_id)
        perform(ticket, "propose_exclusion", coordinator, feedback_id=fb.id, reason=reason)
        if n == 0:
            review = db.session.scalar(db.select(RatingReview).filter_by(feedback_id=fb.id))
            perform(ticket, "decide_exclusion", inspector, review_id=review.id, decision="confirm",
                    comment="经核实，情况属实，同意不计入满意率。")


def settle_history_notifications(end: datetime) -> None:
    """The story's notifications, as if the worker had delivered them when they happened.

    In-app entries get their original time (older than three days: already read);
    the story's e-mails are not sent now, weeks late: they are marked void.
    """
    from ..models import Notification, OutboxMessage

    old = end - timedelta(days=3)
    for row in db.session.scalars(db.select(OutboxMessage).filter_by(status="pending")):
        if row.channel == "inapp":
            db.session.add(Notification(key=row.key, user_id=row.user_id, ticket_id=row.ticket_id, kind=row.kind,
                                        params=row.params, created_at=row.created_at,
                                        read_at=row.created_at if row.created_at < old else None))
            row.status, row.sent_at, row.attempts = "sent", row.created_at, 1
        else:
            row.status, row.last_error = "void", "demo history: not mailed"
    db.session.commit()


def seed(tickets: int = 200, *, random_seed: int = RANDOM_SEED, quiet: bool = False,
         until: datetime | None = None) -> dict:
    """Build the demo park; refuses (nothing changed) when the database already has users.

    The story ends at `until` (naive UTC; default: the real now). Returns a summary:
    tickets per state, steps played, failures (empty when all went through), seconds taken.
    """
    if db.session.scalar(db.select(User.id).limit(1)) is not None:
        raise click.ClickException("The database already has users; the demo is only loaded into an empty one.")
    started = _time.monotonic()
    set_now(None)
    end = until or now()
    rng = random.Random(random_seed)
    # One writer, so what the session holds after a commit is what the database holds:
    # skip re-loading every user, firm and ticket after each of the thousand commits.
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        # A thousand small commits: in WAL mode, NORMAL syncs at checkpoints, not at each commit.
        sa_event.listen(engine, "checkout", _sqlite_normal_sync)
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
        set_now(None)
        settle_history_notifications(end)
        # The sweep at the real now: reminders for every clock that is yellow or
        # red today, left in the outbox for the worker of `make run` to deliver.
        sweep()
        seed_oversight(end)
        from ..services.tokens import seed_demo_tokens

        seed_demo_tokens()
    finally:
        set_now(None)
        db.session.rollback()
        session.expire_on_commit = expire_on_commit
        if sqlite:
            sa_event.remove(engine, "checkout", _sqlite_normal_sync)
            engine.dispose()  # later connections start with the usual full sync
        db.session.expire_all()

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


def seed_bulk(tickets: int, *, per_day: int = 1_000, random_seed: int = RANDOM_SEED, quiet: bool = False) -> dict:
    """A park with a long history, loaded in bulk (tickets/demo/bulk.py): for sizes the services cannot play.

    The park (calendar, reference data, staff and firms) is made as `seed` makes it, unless the
    database has its users already; the history ends now, `per_day` tickets a working or other day.
    Refuses (nothing changed) when the database already holds tickets.
    """
    from . import bulk

    if db.session.scalar(db.select(Ticket.id).limit(1)) is not None:
        raise click.ClickException("The database already holds tickets; the bulk demo is only loaded into a "
                                   "database without any.")
    started = _time.monotonic()
    end = now()  # the service clock: the real one, or a test's
    try:
        seed_known_years()
        ensure_reference_data()
        if db.session.scalar(db.select(User.id).limit(1)) is None:
            # The accounts were set up a couple of weeks before the first request.
            set_now(end - timedelta(days=tickets / max(per_day, 1) + 14))
            create_people(random.Random(random_seed))
        db.session.commit()
    finally:
        set_now(end)  # the history ends at `end`, and the rest of this process stays there
    park = _time.monotonic()
    if not quiet:
        click.echo(f"Demo park: {db.session.scalar(db.select(db.func.count(User.id)))} users "
                   f"in {park - started:.1f} s; loading {tickets:,} tickets in bulk ...")
    result = bulk.seed(max(0, tickets), max(1, per_day), quiet=quiet)
    result["seconds"] = round(_time.monotonic() - started, 1)
    if not quiet:
        click.echo(f"Wrote {result['rows_tickets']:,} tickets, {result['rows_events']:,} events, "
                   f"{result['rows_clocks']:,} clocks, {result['rows_handlings']:,} handlings, "
                   f"{result['rows_feedbacks']:,} feedbacks, {result['rows_transfers']:,} transfers, "
                   f"{result['rows_extensions']:,} extensions in {result['seconds']} s "
                   f"({result['open']:,} open, {result['overdue']:,} of them overdue; {result['round2']:,} reworked; "
                   f"{result['rejected']:,} rejected, {result['withdrawn']:,} withdrawn).")
    return result
