"""The security log: what happened to accounts, written as it happens, read by the admins."""
from __future__ import annotations

import json

from babel.lists import format_list

from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..labels import label
from ..models import SecurityEvent



def record(kind: str, user=None, actor=None, **detail) -> SecurityEvent:
    """Add one event to the session (the caller commits, with the change it records)."""
    address = (request.remote_addr or "")[:64] if has_request_context() else ""
    event = SecurityEvent(kind=kind, user_id=user.id if user is not None else None,
                          actor_id=actor.id if actor is not None else None, address=address,
                          detail=json.dumps(detail, sort_keys=True, ensure_ascii=False))
    db.session.add(event)
    return event


def details(event: SecurityEvent) -> dict:
    try:
        value = json.loads(event.detail or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _limit_text(text: str) -> str:
    """ "5 per 15 minutes" (a Flask-Limiter limit) in the reader's language."""
    from limits import parse

    try:
        item = parse(str(text))
    except ValueError:
        return str(text)
    units = {"second": _l("seconds"), "minute": _l("minutes"), "hour": _l("hours"), "day": _l("days")}
    unit = units.get(item.GRANULARITY.name, item.GRANULARITY.name)
    return str(_l("%(n)d per %(m)d %(unit)s", n=item.amount, m=item.multiples, unit=unit))


def describe(event: SecurityEvent, role_labels: dict) -> list[str]:
    """The details of an event as short phrases in the reader's language, one per detail."""
    d = details(event)

    def roles(codes) -> str:
        return format_list([str(role_labels.get(r, r)) for r in codes or []] or ["—"],
                           locale=str(get_locale() or "zh"))

    out = []
    if d.get("reason"):
        out.append(label("security_reason", d["reason"]))
    if d.get("limit"):
        out.append(str(_l("limit: %(limit)s", limit=_limit_text(d["limit"]))))
    if d.get("remember"):
        out.append(str(_l("remember me")))
    if isinstance(d.get("roles"), dict):
        out.append(str(_l("roles: %(old)s → %(new)s", old=roles(d["roles"].get("from")),
                          new=roles(d["roles"].get("to")))))
    elif d.get("roles"):
        out.append(str(_l("roles: %(new)s", new=roles(d["roles"]))))
    if isinstance(d.get("head"), dict):
        out.append(str(_l("department head: yes") if d["head"].get("to") else _l("department head: no")))
    if d.get("department_id"):
        out.append(str(_l("department changed")))
    if d.get("firm_id"):
        out.append(str(_l("firm changed")))
    if d.get("via") == "import":
        out.append(str(_l("XLSX import")))
    return out


def page(before: int | None = None, user_id: int | None = None, size: int | None = None):
    """Events newest first, one page at a time: (rows, id to continue before, or None on the last page)."""
    size = size or current_app.config["PAGE_SIZE"]
    stmt = db.select(SecurityEvent)
    if user_id is not None:
        stmt = stmt.where(SecurityEvent.user_id == user_id)
    if before:
        stmt = stmt.where(SecurityEvent.id < before)
    rows = db.session.scalars(stmt.order_by(SecurityEvent.id.desc()).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)
