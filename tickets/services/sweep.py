"""The sweep: raise each clock's reminder steps once, and close expired feedback windows.

Beat runs it every minute; `flask --app wsgi deadlines sweep` runs it once.
Each step is owed once per (clock, level, deadline version): the unique key of
`reminder_steps` decides, so concurrent sweeps or a redelivered task raise
nothing twice. Each raised step is an event on the ticket's record.

A sweep that finds a clock past several levels at once (a day-old deadline after
the worker was down) sends only the highest, to everyone the levels passed over
would have told; those are kept as skipped steps, so they are never sent later.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..audit import append_event, canonical_json, format_time
from ..extensions import db
from ..models import Clock, ReminderStep, SweepRun, Ticket, User
from ..timeutil import now
from . import notify
from .errors import ServiceError

LADDER = (("yellow", "yellow_at"), ("red", "due_at"), ("red3", "red3_at"))


class Audience:
    """Who hears of a step, looked up once per sweep batch: roles, heads, leads and liaisons.

    A sweep raising thousands of steps would otherwise read the coordinators (or a department's
    heads) again for each one. Forgotten at each commit, so that a batch never uses a user read
    before another transaction changed them.
    """

    def __init__(self):
        self.forget()

    def forget(self) -> None:
        self._roles: dict[str, list[User]] = {}
        self._heads: dict[int | None, list[User]] = {}
        self._users: dict[int, User | None] = {}

    def role(self, role: str) -> list[User]:
        if role not in self._roles:
            self._roles[role] = notify.users_with_role(role)
        return self._roles[role]

    def heads(self, department_id: int | None) -> list[User]:
        if department_id not in self._heads:
            self._heads[department_id] = notify.heads_of(department_id)
        return self._heads[department_id]

    def _active(self, user_id: int | None) -> list[User]:
        if user_id is None:
            return []
        if user_id not in self._users:
            self._users[user_id] = db.session.get(User, user_id)
        user = self._users[user_id]
        return [user] if user is not None and user.active else []

    def lead(self, ticket: Ticket) -> list[User]:
        return self._active(ticket.lead_id)

    def liaison(self, ticket: Ticket) -> list[User]:
        return self._active(ticket.firm.liaison_id)


def recipients(ticket: Ticket, kind: str, level: str, clock: Clock | None = None,
               audience: Audience | None = None) -> list[User]:
    """DESIGN.md, Clocks: who hears of each step of each clock (an explanation clock names its notice)."""
    a = audience or Audience()
    if kind == "explanation":
        from .notices import explanation_recipients

        return explanation_recipients(clock, level)
    if kind == "accept":
        if level in ("yellow", "red"):
            return a.role("coordinator")
        return a.role("coordinator") + a.role("leader") + a.role("inspector")
    if kind == "handle":
        if level == "yellow":
            return a.lead(ticket)
        if level == "red":
            return a.lead(ticket) + a.heads(ticket.department_id) + a.liaison(ticket)
        return a.role("inspector") + a.heads(ticket.department_id) + a.liaison(ticket)
    if kind == "feedback" and level == "yellow":
        return notify.firm_users(ticket)
    return []


def _next_step_time(clock: Clock, done: set[str]) -> datetime | None:
    for level, attr in LADDER:
        if clock.kind == "feedback" and level == "red3":
            continue
        if level not in done:
            return getattr(clock, attr)
    return None


def raise_step(clock_id: int, level: str, at: datetime, passed: tuple[str, ...] = (),
               audience: Audience | None = None, batched: bool = False) -> str:
    """Raise one step: 'raised', 'duplicate' or 'stopped'.

    On its own it commits; `batched` (the sweep) writes it in a savepoint of the batch's
    transaction instead, so that a step another sweep raised first rolls back alone.
    `passed` are the lower levels this sweep found past as well: each is kept as a
    skipped step (never sent), and their people hear of the highest level instead, once.
    """
    clock = db.session.get(Clock, clock_id)
    if clock is None or clock.stopped_at is not None:
        return "stopped"
    ticket = clock.ticket
    version = clock.deadline_version
    users = notify.unique(u for lv in (level, *passed) for u in recipients(ticket, clock.kind, lv, clock, audience))
    savepoint = db.session.begin_nested() if batched else None
    try:
        _skip(clock, passed, at)
        step = ReminderStep(ticket_id=ticket.id, clock_id=clock.id, clock_kind=clock.kind, level=level,
                            deadline_version=version, raised_at=at, recipients=len(users))
        db.session.add(step)
        db.session.flush()
        supervised = level == "red3" and clock.kind in ("accept", "handle")
        if supervised and ticket.supervised_at is None:
            ticket.supervised_at = at
        append_event(ticket, None, "reminder", visibility="internal", details={
            "clock": clock.kind, "round": clock.round, "level": level, "deadline_version": version,
            "due": format_time(clock.due_at), "recipients": [u.id for u in users],
            "supervision_list": supervised, "skipped": list(passed),
        })
        # The start too: the message says whether the due time is provisional when it is read.
        params = {"number": ticket.number, "title": ticket.title, "firm": ticket.firm.name,
                  "clock": clock.kind, "round": clock.round, "level": level, "due": format_time(clock.due_at),
                  "start": format_time(clock.started_at)}
        notify.enqueue(users, f"step:{step.id}", "reminder", ticket, params, step_id=step.id)
        if savepoint is not None:
            db.session.flush()
            savepoint.commit()
        else:
            db.session.commit()
    except (IntegrityError, StaleDataError):
        # Another sweep raised it first, or changed the ticket meanwhile: owed once.
        if savepoint is not None:
            savepoint.rollback()
        else:
            db.session.rollback()
        return "duplicate"
    return "raised"


def _skip(clock: Clock, levels, at: datetime) -> None:
    """Keep `levels` of the clock's current deadline version as done without sending them."""
    for level in levels:
        db.session.add(ReminderStep(ticket_id=clock.ticket_id, clock_id=clock.id, clock_kind=clock.kind,
                                    level=level, deadline_version=clock.deadline_version, raised_at=at,
                                    recipients=0, skipped=True))
    db.session.flush()


def _owed(clock: Clock, at: datetime) -> tuple[list[str], bool]:
    """The levels of the clock past by `at` and not yet raised or skipped; and whether its window closed.

    A feedback clock has no red step: once due, its window has closed (closed_unconfirmed).
    """
    done = set(db.session.scalars(db.select(ReminderStep.level).filter_by(
        clock_id=clock.id, deadline_version=clock.deadline_version)))
    owed = []
    for level, attr in LADDER:
        if getattr(clock, attr) > at:
            return owed, False
        if clock.kind == "feedback" and level != "yellow":
            return owed, True
        if level not in done:
            owed.append(level)
    return owed, False


def _advance(clock_id: int, batched: bool = False) -> None:
    clock = db.session.get(Clock, clock_id)
    if clock is None:
        return
    raised = set(db.session.scalars(db.select(ReminderStep.level).filter_by(
        clock_id=clock.id, deadline_version=clock.deadline_version)))
    nxt = None if clock.stopped_at else _next_step_time(clock, raised)
    if clock.next_step_at != nxt:
        clock.next_step_at = nxt
        try:
            if batched:
                with db.session.begin_nested():
                    db.session.flush()
            else:
                db.session.commit()
        except StaleDataError:
            if not batched:
                db.session.rollback()


def _begin_batch() -> None:
    """Open the batch's transaction; on SQLite with BEGIN IMMEDIATE.

    pysqlite opens no transaction before a SAVEPOINT, so the first step's savepoint would commit on
    its release; and a transaction that read before it wrote could not write once another process
    had (SQLite answers "busy" at once, not after its timeout). Taking the write lock first does both.
    """
    if db.engine.dialect.name == "sqlite":
        conn = db.session.connection()
        if not conn.connection.driver_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def candidates(at: datetime, after: tuple[datetime, int] | None, batch: int):
    """The sweep's batch query: clocks with a step due by `at`, in (next_step_at, id) order after `after`.

    An index range on clocks.next_step_at, read in index order (on SQLite the index
    entries end in the row id, so not even a sort). Ordering by id alone, with a
    keyset on id, made SQLite walk the primary key through every clock instead
    (bench/sweep_bench.py prints the plan).
    """
    stmt = db.select(Clock.id, Clock.kind, Clock.next_step_at).where(Clock.next_step_at <= at)
    if after is not None:
        last_at, last_id = after
        stmt = stmt.where(Clock.next_step_at >= last_at, or_(Clock.next_step_at > last_at, Clock.id > last_id))
    return stmt.order_by(Clock.next_step_at, Clock.id).limit(batch)


def sweep(batch: int = 1000, commit_every: int = 200) -> dict:
    """One sweep over every clock with a step due; returns counts of what it did.

    The steps are written in transactions of up to `commit_every` steps, each step in a savepoint:
    a step that another sweep raised first (the unique key) or whose ticket changed meanwhile rolls
    back alone, and is owed once all the same.
    """
    from .actions import perform

    audience = Audience()
    at = now()
    run = SweepRun(started_at=at)
    counts: Counter = Counter()
    after = None
    while True:
        # Keyset on (next_step_at, id) so a batch never repeats; a clock whose next step
        # moved later but is still due is met again further on (at most once per level).
        rows = db.session.execute(candidates(at, after, batch)).all()
        if not rows:
            break
        _begin_batch()
        steps = 0
        for clock_id, kind, step_at in rows:
            after = (step_at, clock_id)
            if steps >= commit_every:
                # A batch's steps are written together: one commit (and one fsync) per batch, not per step.
                db.session.commit()
                audience.forget()
                _begin_batch()
                steps = 0
            steps += 1
            clock = db.session.get(Clock, clock_id)
            if clock.stopped_at is None:
                owed, closed = _owed(clock, at)
                if closed:
                    # The firm hears that the request closed, not that its window is about to.
                    db.session.commit()  # the closing is a lifecycle action: it commits on its own
                    outcome = _expire(perform, clock, owed, at)
                    _begin_batch()
                    counts[outcome] += 1
                    if outcome == "feedback.expired":
                        counts.update(f"{kind}.{lv}.skipped" for lv in owed)
                elif owed:
                    # Only the highest level past is sent; a sweep that comes late (the worker was
                    # down, the app was off) does not send "due soon" and "overdue" at one moment.
                    outcome = raise_step(clock_id, owed[-1], at, passed=tuple(owed[:-1]), audience=audience,
                                         batched=True)
                    counts[f"{kind}.{owed[-1]}.{outcome}"] += 1
                    if outcome == "raised":
                        counts.update(f"{kind}.{lv}.skipped" for lv in owed[:-1])
            _advance(clock_id, batched=True)
        db.session.commit()
        audience.forget()
        db.session.expire_all()
    run.finished_at = now()
    run.counts = canonical_json(dict(sorted(counts.items())))
    db.session.add(run)
    db.session.commit()
    return dict(counts)


def _expire(perform, clock: Clock, passed: list[str], at: datetime) -> str:
    ticket = clock.ticket
    try:
        _skip(clock, passed, at)
        perform(ticket, "expire", None)
    except (ServiceError, IntegrityError):
        # Closed meanwhile, or another sweep closed it at the same moment (its event
        # took this event's place in the chain: IntegrityError on events' unique key).
        db.session.rollback()
        return "feedback.expired.skipped"
    return "feedback.expired"
