"""Requests: list, file, read, and every lifecycle action, through the services the pages use."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone

from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..forms_common import RequestForm
from ..lifecycle import ACTIONS, OPEN_STATES, target_state
from ..models import (STATES, Category, Department, Firm, ServiceFirm, SupervisionNotice, Ticket,
                      TransferRequest)
from ..permissions import allowed_actions, can_view, may
from ..services.actions import take_form_action
from ..services.errors import AlreadyFiled, ServiceError
from ..services.filing import file_ticket
from ..ticket.forms import FORMS
from ..ticket.timeline import timeline
from ..timeutil import now
from . import bp, serialize
from .auth import caller, token_required
from .input import BadBody, formdata, json_object, validate
from .problems import problem
from .spec import operation

NUMBER = re.compile(r"[0-9]{4}-[0-9]{6}")
CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# The names for two actions, beside the lifecycle's own codes.
ALIASES = {"rate": "feedback", "extension": "request_extension"}
LEVELS = ("yellow", "red", "red3")
PAGE_MAX, PAGE_DEFAULT = 100, 50
SELECTS = ("department_id", "lead_id", "to_department_id", "to_lead_id", "notice_id", "feedback_id", "review_id")
STAFF_WIDE = ("coordinator", "leader", "inspector")


def _param(name, description, schema=None):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


LIST_PARAMS = [
    _param("state", "One or more state codes, separated by commas"),
    _param("category", "A category code"),
    _param("department", "A department code"),
    _param("warning_level", "Open requests whose deadline is due soon, overdue, or overdue 3+ working days",
           {"type": "string", "enum": list(LEVELS)}),
    _param("updated_since", "Changed at or after this time (ISO 8601; without an offset, UTC)",
           {"type": "string", "format": "date-time"}),
    _param("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT}),
    _param("cursor", "The next_cursor of the previous page"),
]
IDEMPOTENCY_PARAM = {"name": "Idempotency-Key", "in": "header", "required": False,
                     "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]+$"},
                     "description": "Send the same key when you retry: you get the first result, never a second "
                                    "request"}


def visible_to(user):
    """The SQL of `can_view`: which tickets exist for `user` (the list asks can_view again per row)."""
    if user.has(*STAFF_WIDE):
        return true()
    ors = []
    if user.has("firm") and user.firm_id is not None:
        ors.append(Ticket.firm_id == user.firm_id)
    if user.is_service:
        ors.append(Ticket.firm_id.in_(select(ServiceFirm.firm_id).where(ServiceFirm.user_id == user.id)))
    if user.has("official"):
        ors.append(Ticket.lead_id == user.id)
        if user.department_id is not None:
            ors.append(Ticket.department_id == user.department_id)
            ors.append(Ticket.id.in_(select(TransferRequest.ticket_id).where(
                TransferRequest.status == "pending", TransferRequest.to_department_id == user.department_id)))
        mine = SupervisionNotice.official_id == user.id
        if user.is_head and user.department_id is not None:
            mine = or_(mine, SupervisionNotice.department_id == user.department_id)
        ors.append(Ticket.id.in_(select(SupervisionNotice.ticket_id).where(SupervisionNotice.status == "issued", mine)))
    return or_(*ors) if ors else false()


def _load(number: str) -> Ticket | None:
    if not NUMBER.fullmatch(number):
        return None
    t = db.session.scalar(select(Ticket).filter_by(number=number))
    return t if t is not None and can_view(caller(), t) else None


def _detail(t: Ticket) -> dict:
    user = caller()
    out = serialize.ticket(t)
    out["timeline"] = [serialize.entry(e) for e in timeline(t, user)]
    out["actions"] = [serialize.action(a) for a in allowed_actions(user, t)]
    return out


def _cursor(t: Ticket) -> str:
    raw = json.dumps([t.updated_at.isoformat(), t.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = json.loads(raw)
        return datetime.fromisoformat(at), int(ident)
    except (ValueError, TypeError):
        return None


def _since(text: str):
    try:
        at = datetime.fromisoformat(text.strip().replace("z", "Z"))
        if at.tzinfo is not None:
            at = at.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return at


def _by_code(model, code):
    if not CODE.fullmatch(code or ""):
        return None
    return db.session.scalar(select(model).filter_by(code=code))


def _filters(args, errors: dict) -> list:
    where = []
    if args.get("state"):
        states = [s.strip() for s in args["state"].split(",") if s.strip()]
        if not states or any(s not in STATES for s in states):
            errors["state"] = _l("Please give state codes from the list (e.g. submitted,accepted).")
        where.append(Ticket.state.in_(states))
    for name, model, column, unknown in (
            ("category", Category, Ticket.category_id, _l("There is no category with this code.")),
            ("department", Department, Ticket.department_id, _l("There is no department with this code."))):
        if name in args:
            row = _by_code(model, args[name])
            if row is None:
                errors[name] = unknown
            else:
                where.append(column == row.id)
    lv = args.get("warning_level")
    if lv is not None:
        at = now()
        if lv not in LEVELS:
            errors["warning_level"] = _l("Please give yellow, red or red3.")
        elif lv == "red3":
            where += [Ticket.red3_at <= at]
        elif lv == "red":
            where += [Ticket.due_at <= at, or_(Ticket.red3_at.is_(None), Ticket.red3_at > at)]
        else:
            where += [Ticket.yellow_at <= at, Ticket.due_at > at]
        where.append(Ticket.state.in_(OPEN_STATES))
    if "updated_since" in args:
        since = _since(args["updated_since"])
        if since is None:
            errors["updated_since"] = _l("Please give a time in ISO 8601, e.g. 2026-11-24T08:00:00Z.")
        else:
            where.append(Ticket.updated_at >= since)
    if "cursor" in args:
        after = _after(args["cursor"])
        if after is None:
            errors["cursor"] = _l("This cursor is not one of ours: start again without it.")
        else:
            at, ident = after
            where.append(or_(Ticket.updated_at > at, and_(Ticket.updated_at == at, Ticket.id > ident)))
    return where


def _limit(args, errors: dict) -> int:
    text = args.get("limit", str(PAGE_DEFAULT))
    if not text.isdigit() or not 1 <= int(text) <= PAGE_MAX:
        errors["limit"] = _l("Please give a page size from 1 to %(n)d.", n=PAGE_MAX)
        return PAGE_DEFAULT
    return int(text)


@bp.route("/tickets", methods=["GET"])
@operation("get", "List the requests you may see", tag="tickets", params=LIST_PARAMS, ok=(200, "TicketList"),
           errors=(400,), description="In the order of the last change (oldest first), paged by keyset: "
                                      "to sync, keep the last page's `next_cursor`, or pass `updated_since`.")
@token_required("read")
def list_tickets():
    user, errors = caller(), {}
    where = _filters(request.args, errors)
    limit = _limit(request.args, errors)
    if errors:
        return problem(400, next(iter(errors.values())), errors)
    rows = db.session.scalars(
        select(Ticket).where(visible_to(user), *where).order_by(Ticket.updated_at, Ticket.id).limit(limit + 1)
        .options(selectinload(Ticket.firm), selectinload(Ticket.category), selectinload(Ticket.department),
                 selectinload(Ticket.lead), selectinload(Ticket.follows))).all()
    page = rows[:limit]
    return {"items": [serialize.ticket(t) for t in page if can_view(user, t)],
            "next_cursor": _cursor(page[-1]) if len(rows) > limit else None}


def _firm_for(user, data, errors):
    code = data.get("firm")
    if code is None or code == "":
        if user.has("firm") and user.firm_id is not None:
            return user.firm, None
        errors["firm"] = _l("Please give the firm's unified social credit code.")
        return None, None
    if not isinstance(code, str) or len(code) > 18:
        errors["firm"] = _l("Please give the firm's unified social credit code.")
        return None, None
    firm = db.session.scalar(select(Firm).filter_by(credit_code=code.strip().upper()))
    if user.has("coordinator"):
        if firm is None:
            errors["firm"] = _l("No firm in the park has the credit code %(codes)s.", codes=code)
        return firm, None
    # A firm's or an integration's token learns nothing of firms that are not its own.
    own = firm is not None and (firm.id == user.firm_id or firm.id in user.service_firm_ids
                                or (user.has("leader") and firm.liaison_id == user.id))
    if not own:
        return None, problem(403, _l("You may not file on behalf of this firm."))
    return firm, None


def _form_token(user, key: str) -> str:
    """The Idempotency-Key as a one-time form token of this user: the filing service keeps it with the ticket."""
    digest = hashlib.sha256(f"api:{user.id}:{key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


@bp.route("/tickets", methods=["POST"])
@operation("post", "File a request", tag="tickets", scope="write", body="NewTicket", ok=(201, "Ticket"),
           params=[IDEMPOTENCY_PARAM], errors=(400,),
           description="A firm's token files for its own firm; a service token for the firms of its integration "
                       "(channel platform); a coordinator's for any firm. Validated as the request form is.")
@token_required("write")
def create_ticket():
    user = caller()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        return problem(400, _l("The Idempotency-Key must be 1 to 255 visible ASCII characters."))
    try:
        data = json_object()
        errors: dict = {}
        firm, refused = _firm_for(user, data, errors)
        if refused is not None:
            return refused
        fields = {"title": "title", "description": "description", "urgency": "urgency",
                  "contact_name": "contact_name", "contact_phone": "contact_phone", "follows": "follows_number"}
        fd = formdata(data, list(fields) + ["category", "channel"])
    except BadBody as e:
        return problem(400, e.message, e.errors)
    category = _by_code(Category, fd.get("category"))
    posted = MultiDict({form_name: fd[name] for name, form_name in fields.items() if name in fd})
    posted["category_id"] = str(category.id) if category else ""

    def make():
        form = RequestForm(formdata=posted, meta={"csrf": False})
        form.category_id.choices = []
        return form

    form, form_errors = validate(make)
    if "category_id" in form_errors or (fd.get("category") and category is None):
        form_errors.pop("category_id", None)
        errors["category"] = _l("Please choose a category from the list.")
    errors.update(form_errors)
    own_web = firm is not None and user.has("firm") and firm.id == user.firm_id
    channel = "web" if own_web else ("platform" if user.is_service else fd.get("channel") or "platform")
    if errors:
        return problem(400, next(iter(errors.values())), errors)
    try:
        ticket = file_ticket(user, firm_id=firm.id, category_id=category.id, title=form.title.data,
                             description=form.description.data, urgency=form.urgency.data,
                             contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
                             channel=channel, follows_number=form.follows_number.data or "",
                             form_token=_form_token(user, key) if key else None)
        replayed = False
    except AlreadyFiled as e:
        ticket, replayed = e.ticket, True
    except ServiceError as e:
        return problem(e.status, e.message, e.errors)
    headers = {"Location": f"/api/v1/tickets/{ticket.number}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return serialize.ticket(ticket), 201, headers


@bp.route("/tickets/<number>")
@operation("get", "Read a request, with the timeline you may see and the actions you may take", tag="tickets",
           ok=(200, "TicketDetail"), errors=(404,))
@token_required("read")
def get_ticket(number: str):
    t = _load(number)
    if t is None:
        return problem(404)
    return _detail(t)


ACTION_LIST = ", ".join(sorted(set(FORMS) | set(ALIASES)))


def _action_form(name: str, fd: MultiDict):
    form = FORMS[name](formdata=fd, meta={"csrf": False})
    for field in SELECTS:
        if hasattr(form, field):
            getattr(form, field).choices = []
    return form


@bp.route("/tickets/<number>/actions/<action>", methods=["POST"])
@operation("post", "Take a lifecycle action", tag="tickets", scope="write", body="ActionInput",
           ok=(200, "Ticket"), errors=(400, 404, 409),
           description="Actions: " + ACTION_LIST + ". `rate` is the firm's feedback (dissatisfied with a "
                       "reason: handled again); `extension` requests more working days. Each reads the fields "
                       "of its form on the ticket page and is validated the same way.")
@token_required("write")
def ticket_action(number: str, action: str):
    t = _load(number)
    name = ALIASES.get(action, action)
    if t is None or name not in FORMS:
        return problem(404)
    user = caller()
    if target_state(t.state, name) is not None and not may(user, name, t):
        return problem(403, _l("You may not do this on this request."))
    try:
        data = json_object()
        fd = formdata(data, [f for f in _action_form(name, MultiDict())._fields if f not in ("csrf_token",)])
    except BadBody as e:
        return problem(400, e.message, e.errors)
    form, errors = validate(lambda: _action_form(name, fd))
    if errors:
        return problem(400, next(iter(errors.values())), errors)
    values = {k: v for k, v in form.data.items() if k not in ("csrf_token", "version", "attachments")}
    values["uploads"] = []
    version = data.get("version")
    try:
        take_form_action(t, name, user, version, **values)
    except ServiceError as e:
        db.session.rollback()
        return problem(e.status, e.message, e.errors)
    db.session.expire_all()
    t = db.session.scalar(select(Ticket).filter_by(number=number))
    return serialize.ticket(t)


assert set(ALIASES.values()) <= set(ACTIONS)
