"""The weekly meeting list (项目提速增效会议): built once per ISO week, kept as a frozen snapshot.

The list is built at the meeting moment (config MEETING_WEEKDAY, MEETING_HOUR,
Asia/Shanghai; on the week's first working day from then when that day is a
holiday) and never recomputed: a past week shows exactly what the meeting saw.
"New" and "closed" cover the previous ISO week, the week since the last
meeting: a list built on Monday morning would otherwise show almost nothing.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..audit import canonical_json, format_time
from ..extensions import db
from ..lifecycle import OPEN_STATES
from ..models import Category, Feedback, MeetingDecision, MeetingList, Ticket, User, UserRole
from ..timeutil import SHANGHAI, from_local, now, to_local
from ..views_common import fmt_due
from ..workdays import WorkCalendar, level
from .errors import InvalidInput

# The list's one name, on its page, in the navigation, on the printed list, in the workbook and its
# file name (项目提速增效会议诉求清单): no colon, so that it can also name a sheet or a file.
LIST_NAME = _l("Firms' requests for the project acceleration meeting")
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
# Closed after acceptance; rejected and withdrawn requests never reached the meeting.
CLOSED_STATES = ("fed_back", "closed_unconfirmed", "closed_forced")


# --- weeks ------------------------------------------------------------------------------


def week_of(at: datetime) -> str:
    """The ISO week ("2026-W48") of a naive UTC time, in Shanghai."""
    y, w, _d = to_local(at).date().isocalendar()
    return f"{y}-W{w:02d}"


def parse_week(week: str) -> date:
    """The Monday of an ISO week "YYYY-Www"; InvalidInput when it is not one."""
    m = WEEK_RE.match(str(week or ""))
    if m:
        try:
            return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            pass
    raise InvalidInput(_l("Please give a week as YYYY-Www, e.g. 2026-W48."))


def _midnight(day: date) -> datetime:
    return from_local(datetime.combine(day, time(0), SHANGHAI))


def build_moment(week: str, cal: WorkCalendar | None = None) -> datetime:
    """When the week's list is due (naive UTC): the configured day and hour, or the next working day."""
    cal = cal or WorkCalendar.load()
    cfg = current_app.config
    monday = parse_week(week)
    day = monday + timedelta(days=int(cfg.get("MEETING_WEEKDAY", 0)))
    for offset in range(7 - day.weekday()):
        if cal.is_workday(day + timedelta(days=offset)):
            day += timedelta(days=offset)
            break
    # A week with no working day left still gets its list, on the configured day.
    return from_local(datetime.combine(day, time(int(cfg.get("MEETING_HOUR", 8))), SHANGHAI))


# --- the snapshot -----------------------------------------------------------------------


def _item(t: Ticket, at: datetime) -> dict:
    return {
        "number": t.number,
        "firm": t.firm.name,
        "title": t.title,
        "category_zh": t.category.name_zh,
        "category_en": t.category.name_en,
        "department_zh": t.department.name_zh if t.department else "",
        "department_en": t.department.name_en if t.department else "",
        "lead": t.lead.name if t.lead else "",
        "state": t.state,
        "due": fmt_due(t.due_at) if t.due_at else "",
        "level": level(at, t.yellow_at, t.due_at, t.red3_at) or "",
        "round": t.round,
        "rating": t.rating or "",
        "solved": t.solved or "",
    }


def _tickets(*where):
    return db.session.scalars(
        db.select(Ticket).where(*where).options(
            selectinload(Ticket.firm), selectinload(Ticket.category), selectinload(Ticket.department),
            selectinload(Ticket.lead))
    ).all()


def _open_groups(at: datetime) -> list[dict]:
    """Open requests by category (in the category order) then department, red and overdue first, then by due."""
    tickets = _tickets(Ticket.state.in_(OPEN_STATES))
    cat_pos = {c.id: (c.position, c.id) for c in db.session.scalars(db.select(Category))}
    groups: dict[tuple, list[Ticket]] = {}
    for t in tickets:
        # Not yet accepted: no department; those come last in their category.
        dept_key = (0, t.department_id) if t.department_id else (1, 0)
        groups.setdefault((cat_pos[t.category_id], dept_key), []).append(t)
    out = []
    for key in sorted(groups):
        members = groups[key]
        members.sort(key=lambda t: (0 if t.due_at is not None and at >= t.due_at else 1,
                                    t.due_at or datetime.max, t.number))
        first = members[0]
        out.append({
            "category_zh": first.category.name_zh, "category_en": first.category.name_en,
            "department_zh": first.department.name_zh if first.department else "",
            "department_en": first.department.name_en if first.department else "",
            "items": [_item(t, at) for t in members],
        })
    return out


def _reworked(at: datetime, start: datetime, end: datetime) -> list[dict]:
    """Open requests in a second or later round, and any rated dissatisfied in the period."""
    rated = db.select(Feedback.ticket_id).where(
        Feedback.rating == "dissatisfied", Feedback.given_at >= start, Feedback.given_at < end)
    tickets = _tickets(db.or_(db.and_(Ticket.state.in_(OPEN_STATES), Ticket.round >= 2), Ticket.id.in_(rated)))
    return [_item(t, at) for t in sorted(tickets, key=lambda t: t.number)]


def _plain(value):
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _digest() -> dict | None:
    """The latest daily digest of every chain head, if the digest service exists and has one."""
    try:
        from .digest import latest_digest
    except ImportError:
        return None
    d = latest_digest()
    if d is None:
        return None
    if isinstance(d, dict):
        return {k: _plain(v) for k, v in d.items()}
    fields = ("day", "digest", "tickets", "computed_at")
    return {f: _plain(getattr(d, f)) for f in fields if hasattr(d, f)}


def _rates(first: date, last: date, at: datetime) -> dict:
    """The week's rates by department and in total, the same figures as the rates page."""
    from ..models import Department
    from .rates import MEASURES, Period, compute, figure

    report = compute(Period(first, last), "department", stages=False, at=at)
    names = {d.id: d for d in db.session.scalars(db.select(Department))}

    def row(r: dict) -> dict:
        dept = names.get(r["unit"])
        return {"unit": r["unit"], "label_zh": dept.name_zh if dept else "", "label_en": dept.name_en if dept else "",
                "measures": {m.key: figure(r, m) for m in MEASURES},
                "apart": {k: r[k] for k in ("closed_unconfirmed", "closed_forced", "excluded_ratings")}}

    return {"period_from": first.isoformat(), "period_to": last.isoformat(), "hidden": report.hidden,
            "departments": [row(r) for r in report.rows], "total": row(report.total)}


def compute_snapshot(week: str, at: datetime) -> dict:
    """The list as the database has it at `at`."""
    monday = parse_week(week)
    start, end = _midnight(monday - timedelta(days=7)), _midnight(monday)
    new = _tickets(Ticket.created_at >= start, Ticket.created_at < end)
    closed = _tickets(Ticket.state.in_(CLOSED_STATES), Ticket.closed_at >= start, Ticket.closed_at < end)
    groups = _open_groups(at)
    data = {
        "week": week,
        "built_at": format_time(at),
        "period_from": (monday - timedelta(days=7)).isoformat(),
        "period_to": (monday - timedelta(days=1)).isoformat(),
        "open": groups,
        "new": [_item(t, at) for t in sorted(new, key=lambda t: (t.created_at, t.number))],
        "closed": [_item(t, at) for t in sorted(closed, key=lambda t: (t.closed_at, t.number))],
        "reworked": _reworked(at, start, end),
        "rates": _rates(monday - timedelta(days=7), monday - timedelta(days=1), at),
        "digest": _digest(),
    }
    items = [i for g in groups for i in g["items"]]
    data["counts"] = {
        "open": len(items),
        "overdue": sum(1 for i in items if i["level"] in ("red", "red3")),
        "new": len(data["new"]), "closed": len(data["closed"]), "reworked": len(data["reworked"]),
    }
    return data


def get_list(week: str) -> MeetingList | None:
    return db.session.scalar(db.select(MeetingList).filter_by(week=week))


def build_list(week: str) -> MeetingList:
    """The week's list, built now from the database if it does not exist yet (never rebuilt)."""
    monday = parse_week(week)
    existing = get_list(week)
    if existing is not None:
        return existing
    at = now()
    if at < _midnight(monday):
        raise InvalidInput(_l("The week %(week)s has not begun yet.", week=week))
    ml = MeetingList(week=week, built_at=at, data=canonical_json(compute_snapshot(week, at)))
    db.session.add(ml)
    try:
        db.session.commit()
    except IntegrityError:
        # Another process built the same week at the same moment; theirs stands.
        db.session.rollback()
        return get_list(week)
    return ml


def snapshot(ml: MeetingList) -> dict:
    return json.loads(ml.data)


def built_weeks() -> list[str]:
    """Every week with a list, newest first (the week picker)."""
    return list(db.session.scalars(db.select(MeetingList.week).order_by(MeetingList.week.desc())))


# --- the beat: build when the time has come, and mail ---------------------------------


def recipients() -> list[User]:
    """The coordinators and the department heads, each once."""
    coords = db.select(UserRole.user_id).where(UserRole.role == "coordinator")
    heads = db.select(UserRole.user_id).where(UserRole.role == "official")
    return list(db.session.scalars(
        db.select(User).where(User.active.is_(True),
                              db.or_(User.id.in_(coords), db.and_(User.is_head.is_(True), User.id.in_(heads))))
        .order_by(User.id)))


def mail_list(ml: MeetingList) -> int:
    """Put the list in the outbox for its readers, once (the outbox key is unique per week)."""
    from .notify import enqueue

    if ml.mailed_at is not None:
        return 0
    counts = snapshot(ml)["counts"]
    params = {"week": ml.week, "open": counts["open"], "overdue": counts["overdue"], "new": counts["new"],
              "closed": counts["closed"], "title": f"/meeting/{ml.week}"}
    told = enqueue(recipients(), f"meeting:{ml.week}", "meeting_list", None, params)
    ml.mailed_at = now()
    db.session.commit()
    return told


def build_due() -> MeetingList | None:
    """Hourly from beat: build and mail this week's list once its moment has come; safe to run twice."""
    week = week_of(now())
    if now() < build_moment(week):
        return None
    ml = build_list(week)
    if ml.mailed_at is None:
        # Lock the row so two workers do not both mail; the unique outbox key is the last guard.
        ml = db.session.scalar(db.select(MeetingList).filter_by(id=ml.id).with_for_update()
                               .execution_options(populate_existing=True))
        mail_list(ml)
    return ml


# --- decisions --------------------------------------------------------------------------


def record_decision(ml: MeetingList, number: str, actor: User, **form) -> Ticket:
    """The coordinator's decision on one item of `ml`: an event, and perhaps a new deadline version."""
    from .actions import perform

    if number not in numbers_on(snapshot(ml)):
        raise InvalidInput(_l("%(number)s is not on the list of %(week)s.", number=number, week=ml.week))
    ticket = db.session.scalar(db.select(Ticket).filter_by(number=number))
    fields = ("what", "who_user_id", "who_text", "by_date", "new_due", "chair_id")
    return perform(ticket, "meeting_decision", actor, None, list_id=ml.id,
                   **{k: form.get(k) for k in fields})


def numbers_on(data: dict) -> set[str]:
    items = [i for g in data["open"] for i in g["items"]]
    items += [i for section in ("new", "closed", "reworked") for i in data[section]]
    return {i["number"] for i in items}


def decisions_by_number(ml: MeetingList) -> dict[str, list[MeetingDecision]]:
    rows = db.session.scalars(
        db.select(MeetingDecision).where(MeetingDecision.list_id == ml.id)
        .options(selectinload(MeetingDecision.ticket), selectinload(MeetingDecision.who_user))
        .order_by(MeetingDecision.id)).all()
    out: dict[str, list[MeetingDecision]] = {}
    for d in rows:
        out.setdefault(d.ticket.number, []).append(d)
    return out


def chair_choices() -> list[User]:
    """Who may have chaired the meeting: active leaders (the chair approves a new due date)."""
    roles = db.select(UserRole.user_id).where(UserRole.role == "leader")
    return list(db.session.scalars(
        db.select(User).where(User.active.is_(True), User.id.in_(roles)).order_by(User.name, User.id)))


def staff_choices() -> list[User]:
    """Who a decision may name: active officials, coordinators and leaders."""
    roles = db.select(UserRole.user_id).where(UserRole.role.in_(("official", "coordinator", "leader")))
    return list(db.session.scalars(
        db.select(User).where(User.active.is_(True), User.id.in_(roles)).order_by(User.department_id, User.name)))
