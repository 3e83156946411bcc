"""What an integration reads besides requests: categories, departments, the rates, the meeting list."""
from __future__ import annotations

import re

from flask import request
from sqlalchemy import select

from ..extensions import db
from ..models import Category, Department, User, UserRole
from ..permissions import may_see_page
from ..services import meeting
from ..services.errors import InvalidInput
from ..services.rates import BY, MEASURES, compute, export, parse_period
from . import bp
from .auth import caller, token_required
from .problems import both, problem
from .serialize import coded, names
from .spec import operation

WEEK = re.compile(r"[0-9]{4}-W[0-9]{2}")
STAFF = ("official", "coordinator", "leader", "inspector", "admin")


@bp.route("/categories")
@operation("get", "The categories of requests, with their handling limits", tag="reference",
           ok=(200, "CategoryList"))
@token_required("read")
def categories():
    rows = db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()
    depts = {d.id: d.code for d in db.session.scalars(select(Department))}
    return {"items": [{"code": c.code, "name": names(c), "department": depts.get(c.department_id, ""),
                       "limit_days": c.limit_days, "active": bool(c.active)} for c in rows]}


@bp.route("/departments")
@operation("get", "The departments; for staff tokens, with the officials who may lead a request", tag="reference",
           ok=(200, "DepartmentList"))
@token_required("read")
def departments():
    staff = caller().has(*STAFF)
    officials: dict[int, list] = {}
    if staff:
        for u in db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                    .where(UserRole.role == "official", User.active.is_(True))
                                    .order_by(User.name)):
            officials.setdefault(u.department_id, []).append({"id": u.id, "name": u.name, "is_head": bool(u.is_head)})
    out = []
    for d in db.session.scalars(select(Department).order_by(Department.id)):
        item = {"id": d.id, "code": d.code, "name": names(d)}
        if staff:
            item["officials"] = officials.get(d.id, [])
        out.append(item)
    return {"items": out}


RATE_PARAMS = [
    {"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in (
        ("from", {"type": "string", "format": "date"}, "First day (with `to`)"),
        ("to", {"type": "string", "format": "date"}, "Last day (with `from`)"),
        ("week", {"type": "string", "example": "2026-W48"}, "An ISO week instead"),
        ("month", {"type": "string", "example": "2026-11"}, "A month instead (the default: this month)"),
        ("by", {"type": "string", "enum": list(BY), "default": "department"}, "How the rows are grouped"),
    )]


@bp.route("/rates")
@operation("get", "The rates of the oversight dashboard, each with its numerator and denominator", tag="oversight",
           params=RATE_PARAMS, ok=(200, "Rates"), errors=(400, 403))
@token_required("read")
def rates():
    if not may_see_page(caller(), "rates"):
        return problem(403)
    a = request.args
    by = a.get("by", "department")
    if by not in BY:
        return problem(400)
    try:
        period = parse_period(a.get("from"), a.get("to"), a.get("week"), a.get("month"))
    except InvalidInput as exc:
        return problem(400, exc.message, exc.errors)
    reports = {lang: compute(period, by, locale=lang) for lang in ("zh", "en")}
    english = {str(r["unit"]): r["label"] for r in export.structured(reports["en"])}
    rows = []
    for rec in export.structured(reports["zh"]):
        rec = dict(rec, unit=str(rec["unit"]))
        rec["label"] = {"zh": str(rec["label"]), "en": str(english.get(rec["unit"], rec["label"]))}
        for k in ("from", "to", "by"):
            rec.pop(k, None)
        rows.append(rec)
    return {"from": period.first.isoformat(), "to": period.last.isoformat(), "by": coded("rate_by", by),
            "hidden_units": reports["zh"].hidden,
            "measures": [{"key": m.key, "label": both(m.label)} for m in MEASURES], "rows": rows}


@bp.route("/meeting")
@operation("get", "The weeks that have a meeting list", tag="oversight", ok=(200, "MeetingWeeks"), errors=(403,))
@token_required("read")
def meeting_weeks():
    if not may_see_page(caller(), "meeting"):
        return problem(403)
    return {"weeks": meeting.built_weeks()}


ITEM_CODES = {"state": "state", "level": "level", "rating": "rating", "solved": "solved"}


def _coded_items(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        item = dict(item)
        for key, kind in ITEM_CODES.items():
            item[key] = coded(kind, item.get(key) or None)
        out.append(item)
    return out


@bp.route("/meeting/<week>")
@operation("get", "The weekly meeting list of a week, as it was built", tag="oversight", ok=(200, "MeetingList"),
           errors=(403, 404))
@token_required("read")
def meeting_list(week: str):
    if not may_see_page(caller(), "meeting"):
        return problem(403)
    ml = meeting.get_list(week) if WEEK.fullmatch(week) else None
    if ml is None:
        return problem(404)
    data = meeting.snapshot(ml)
    for part in ("new", "closed", "reworked"):
        data[part] = _coded_items(data.get(part, []))
    data["open"] = [dict(g, items=_coded_items(g.get("items", []))) for g in data.get("open", [])]
    data["name"] = both(meeting.LIST_NAME)
    return data
