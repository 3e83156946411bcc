"""The JSON schemas of the specification (OpenAPI 3.0), beside the code that fills them (serialize.py)."""
from __future__ import annotations

from ..models import CHANNELS, STATES, URGENCIES
from ..ticket.forms import FORMS

LABELS = {"type": "object", "required": ["zh", "en"], "properties": {"zh": {"type": "string"},
                                                                     "en": {"type": "string"}}}


def _coded(codes=None, nullable=False) -> dict:
    code = {"type": "string", **({"enum": list(codes)} if codes else {})}
    out = {"type": "object", "required": ["code", "label"],
           "properties": {"code": code, "label": {"$ref": "#/components/schemas/Labels"}}}
    if nullable:
        out["nullable"] = True
    return out


def _str(nullable=False, **kw) -> dict:
    return {"type": "string", **({"nullable": True} if nullable else {}), **kw}


TIME = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with Z"}
NTIME = {**TIME, "nullable": True}
NAMED = {"type": "object", "required": ["code", "name"],
         "properties": {"code": {"type": "string"}, "name": {"$ref": "#/components/schemas/Labels"}}}

TICKET = {
    "type": "object",
    "required": ["number", "url", "title", "description", "state", "firm", "category", "department", "lead",
                 "urgency", "channel", "contact_name", "contact_phone", "round", "follows", "created_at",
                 "updated_at", "closed_at", "clock", "due_at", "warning_level", "solved", "rating", "version"],
    "properties": {
        "number": _str(example="2026-000123"), "url": _str(), "title": _str(), "description": _str(),
        "state": _coded(STATES),
        "firm": {"type": "object", "required": ["name", "credit_code"],
                 "properties": {"name": _str(), "credit_code": _str()}},
        "category": NAMED,
        "department": {**NAMED, "nullable": True},
        "lead": {"type": "object", "nullable": True, "required": ["id", "name"],
                 "properties": {"id": {"type": "integer"}, "name": _str()}},
        "urgency": _coded(URGENCIES), "channel": _coded(CHANNELS),
        "contact_name": _str(), "contact_phone": _str(),
        "round": {"type": "integer", "minimum": 0}, "follows": _str(nullable=True),
        "created_at": TIME, "updated_at": TIME, "closed_at": NTIME,
        "clock": _coded(("accept", "handle", "feedback"), nullable=True), "due_at": NTIME,
        "warning_level": _coded(("green", "yellow", "red", "red3"), nullable=True),
        "solved": _coded(("yes", "partly", "no"), nullable=True),
        "rating": _coded(("satisfied", "basically_satisfied", "dissatisfied"), nullable=True),
        "version": {"type": "integer", "description": "Send it back with an action to refuse a stale change (409)"},
    },
}
ENTRY = {
    "type": "object",
    "required": ["seq", "at", "event", "actor", "visibility", "from_state", "to_state", "details", "detail_labels"],
    "properties": {
        "seq": {"type": "integer"}, "at": TIME, "event": _coded(), "actor": _str(nullable=True),
        "visibility": _coded(("public", "internal", "inspector")),
        "from_state": _coded(STATES, nullable=True), "to_state": _coded(STATES, nullable=True),
        "details": {"type": "object", "description": "What the record holds of the event, as far as you may read it"},
        "detail_labels": {"type": "object", "additionalProperties": _coded(),
                          "description": "Labels of the codes among the details (outcome, rating, ...)"},
    },
}
TICKET_DETAIL = {"allOf": [{"$ref": "#/components/schemas/Ticket"}, {
    "type": "object", "required": ["timeline", "actions"],
    "properties": {"timeline": {"type": "array", "items": {"$ref": "#/components/schemas/TimelineEntry"}},
                   "actions": {"type": "array", "items": _coded(),
                               "description": "The actions your token may take now"}}}]}
TICKET_LIST = {"type": "object", "required": ["items", "next_cursor"], "properties": {
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}},
    "next_cursor": _str(nullable=True, description="Give it as `cursor` for the next page; null on the last")}}
NEW_TICKET = {
    "type": "object", "required": ["category", "title", "description", "contact_name", "contact_phone"],
    "properties": {
        "firm": _str(description="The firm's unified social credit code (18 characters); a firm's own token "
                                 "may leave it out", maxLength=18),
        "category": _str(description="A category code (GET /api/v1/categories)", maxLength=32),
        "title": _str(maxLength=200), "description": _str(maxLength=10000),
        "urgency": _str(enum=list(URGENCIES), default="normal"),
        "contact_name": _str(maxLength=100), "contact_phone": _str(maxLength=20),
        "channel": _str(enum=[c for c in CHANNELS if c != "web"],
                        description="Filing on a firm's behalf: how the request came (a service token: platform)"),
        "follows": _str(description="The number of an earlier request of the same firm that this one repeats"),
    },
}
ACTION_BODY = {
    "type": "object",
    "description": "The fields of the action's form on the ticket page; each action reads its own.",
    "properties": {
        "version": {"type": "integer", "description": "The ticket's version you read (optional)"},
        "department_id": {"type": "integer"}, "lead_id": {"type": "integer"},
        "to_department_id": {"type": "integer"}, "to_lead_id": {"type": "integer"},
        "note": _str(), "reason": _str(), "public_reason": _str(), "text": _str(), "comment": _str(),
        "outcome": _str(enum=["resolved", "partly", "unresolved"]), "what_was_done": _str(), "explanation": _str(),
        "contact_method": _str(enum=["phone", "visit", "meeting", "letter", "platform", "sms"]),
        "contacted_on": _str(format="date"),
        "solved": _str(enum=["yes", "partly", "no"]),
        "rating": _str(enum=["satisfied", "basically_satisfied", "dissatisfied"]),
        "days": {"type": "integer", "minimum": 1, "maximum": 30},
        "decision": _str(enum=["approve", "deny", "confirm", "refuse"]),
        "visibility": _str(enum=["internal", "public"]),
        "confirm": {"type": "boolean"},
        "notice_id": {"type": "integer"}, "feedback_id": {"type": "integer"}, "review_id": {"type": "integer"},
        "conclusion": _str(enum=["accepted", "talk", "circulated_criticism", "committee"]),
    },
}
CATEGORY = {"type": "object", "required": ["code", "name", "department", "limit_days", "active"], "properties": {
    "code": _str(), "name": {"$ref": "#/components/schemas/Labels"}, "department": _str(),
    "limit_days": {"type": "integer"}, "active": {"type": "boolean"}}}
DEPARTMENT = {"type": "object", "required": ["id", "code", "name"], "properties": {
    "id": {"type": "integer"}, "code": _str(), "name": {"$ref": "#/components/schemas/Labels"},
    "officials": {"type": "array", "description": "Staff tokens only: who may lead a request (accept: lead_id)",
                  "items": {"type": "object", "required": ["id", "name", "is_head"], "properties": {
                      "id": {"type": "integer"}, "name": _str(), "is_head": {"type": "boolean"}}}}}}
PROBLEM = {"type": "object", "required": ["type", "title", "status", "code", "detail", "messages"], "properties": {
    "type": _str(), "title": _str(), "status": {"type": "integer"}, "code": _str(), "detail": _str(),
    "messages": {"$ref": "#/components/schemas/Labels"}, "instance": _str(),
    "errors": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Labels"},
               "description": "Each refused field with its message"}}}
FIGURE = {"type": "object", "properties": {"numerator": {"type": "integer"}, "denominator": {"type": "integer"},
                                           "rate": {"type": "number", "nullable": True}}}
RATES = {"type": "object", "required": ["from", "to", "by", "hidden_units", "measures", "rows"], "properties": {
    "from": _str(format="date"), "to": _str(format="date"), "by": _coded(),
    "hidden_units": {"type": "integer", "description": "Units hidden: fewer than 5 in every denominator"},
    "measures": {"type": "array", "items": {"type": "object", "required": ["key", "label"], "properties": {
        "key": _str(), "label": {"$ref": "#/components/schemas/Labels"}}}},
    "rows": {"type": "array", "items": {"type": "object", "required": ["unit", "label"], "properties": {
        "unit": _str(), "label": {"$ref": "#/components/schemas/Labels"}},
        "additionalProperties": True}}}}
MEETING_WEEKS = {"type": "object", "required": ["weeks"], "properties": {
    "weeks": {"type": "array", "items": _str(example="2026-W48")}}}
MEETING = {"type": "object", "required": ["week", "name", "built_at", "counts", "open", "new", "closed", "reworked"],
           "properties": {"week": _str(), "name": {"$ref": "#/components/schemas/Labels"}, "built_at": _str(),
                          "counts": {"type": "object"}, "open": {"type": "array", "items": {"type": "object"}},
                          "new": {"type": "array", "items": {"type": "object"}},
                          "closed": {"type": "array", "items": {"type": "object"}},
                          "reworked": {"type": "array", "items": {"type": "object"}},
                          "rates": {"type": "object", "nullable": True}}}
LISTS = {name: {"type": "object", "required": ["items"], "properties": {
    "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}}}
    for name, item in (("CategoryList", "Category"), ("DepartmentList", "Department"))}

SCHEMAS = {"Labels": LABELS, "Ticket": TICKET, "TimelineEntry": ENTRY, "TicketDetail": TICKET_DETAIL,
           "TicketList": TICKET_LIST, "NewTicket": NEW_TICKET, "ActionInput": ACTION_BODY, "Category": CATEGORY,
           "Department": DEPARTMENT, "Problem": PROBLEM, "Rates": RATES, "MeetingWeeks": MEETING_WEEKS,
           "MeetingList": MEETING, **LISTS}

PATH_PARAMS = {
    "number": {"name": "number", "in": "path", "required": True,
               "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{6}$"},
               "description": "The request's number, e.g. 2026-000123"},
    "action": {"name": "action", "in": "path", "required": True,
               "schema": {"type": "string", "enum": sorted(set(FORMS) | {"rate", "extension"})},
               "description": "A lifecycle action; `rate` is `feedback`, `extension` is `request_extension`"},
    "week": {"name": "week", "in": "path", "required": True, "schema": {"type": "string", "example": "2026-W48"}},
}


def problem_statuses() -> dict:
    from .problems import STATUS

    return STATUS
