"""An event's details (stored as JSON) in words, for the event log export.

Each field the record writes has its label here and says how its value reads:
codes go through tickets/labels.py, ids become names, stored UTC times become
Beijing time. Internal ids nobody reads (a request's or a question's id) are left out.
"""
from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l

from ..labels import label
from ..views_common import fmt_iso_due

SKIP = None
# field -> (label, how the value reads)
FIELDS: dict[str, tuple[object, str] | None] = {
    "title": (_l("Title"), "text"),
    "channel": (_l("Channel"), "label:channel"),
    "urgency": (_l("Urgency"), "label:urgency"),
    "category": (_l("Category"), "category"),
    "follows": (_l("Follows the earlier request"), "text"),
    "lead": (_l("Lead official"), "text"),
    "department_zh": (_l("Department"), "zh"),
    "department_en": (_l("Department"), "en"),
    "note": (_l("Note"), "text"),
    "clock": (_l("Clock"), "label:clock"),
    "round": (_l("Round"), "text"),
    "due": (_l("Due"), "due"),
    "old_due": (_l("Former due date"), "due"),
    "new_due": (_l("New due date"), "due"),
    "limit_days": (_l("Working days"), "text"),
    "days": (_l("Working days"), "text"),
    "reason": (_l("Reason"), "text"),
    "public_reason": (_l("Reason shown to the firm"), "text"),
    "outcome": (_l("Outcome"), "label:outcome"),
    "what_was_done": (_l("What was done"), "text"),
    "explanation": (_l("Explanation"), "text"),
    "contact_method": (_l("Contacted by"), "label:contact_method"),
    "contacted_on": (_l("Contacted on"), "text"),
    "solved": (_l("Solved"), "label:solved"),
    "rating": (_l("Rating"), "label:rating"),
    "comment": (_l("Comment"), "text"),
    "text": (_l("Text"), "text"),
    "attachments": (_l("Attachments"), "attachments"),
    "ended_by": (_l("Ended by"), "label:event"),
    "from_department_id": (_l("From department"), "department"),
    "to_department_id": (_l("To department"), "department"),
    "to_lead_id": (_l("New lead official"), "user"),
    "notice": (_l("Supervision notice"), "text"),
    "official": (_l("Official"), "text"),
    "heads": (_l("Heads copied"), "users"),
    "late": (_l("Late"), "label:boolean"),
    "conclusion": (_l("Conclusion"), "label:conclusion"),
    "decision": (_l("Decision"), "label:decision"),
    "week": (_l("Week"), "text"),
    "meeting_week": (_l("Week"), "text"),
    "what": (_l("What was decided"), "text"),
    "who": (_l("Who"), "text"),
    "by_date": (_l("By"), "text"),
    "chair": (_l("Chaired by"), "text"),
    "level": (_l("Warning level"), "label:level"),
    "recipients": (_l("Sent to"), "users"),
    "supervision_list": (_l("On the supervision list"), "label:boolean"),
    # The lower levels a sweep found passed at once and did not send (only the highest is sent).
    "skipped": (_l("Levels skipped"), "levels"),
    "changed_day": (_l("Changed day"), "text"),
    "from_key": (_l("Former key"), "text"),
    "to_key": (_l("New key"), "text"),
    "deadline_version": (_l("Deadline version"), "text"),
    # Ids kept for the record and the chain; their names are in other fields.
    "request_id": SKIP, "question_id": SKIP, "lead_id": SKIP, "department_id": SKIP, "notice_id": SKIP,
    "seq": SKIP, "official_id": SKIP, "review_id": SKIP, "feedback_id": SKIP, "list_id": SKIP,
    "who_user_id": SKIP, "chair_id": SKIP, "extension_request_id": SKIP,
}

ORDER = {key: i for i, key in enumerate(FIELDS)}


def _value(how: str, value, names, locale: str) -> str:
    if how.startswith("label:"):
        return label(how[6:], value)
    if how == "due":
        return fmt_iso_due(value)
    if how == "category":
        return names.category_names.get(value, "—")
    if how == "department":
        return names.departments.get(value, "—")
    if how == "user":
        names.load_users([value])
        return names.users.get(value, "—")
    if how == "users":
        names.load_users(value)
        return "、".join(names.users.get(i, "—") for i in value) if locale == "zh" else \
            ", ".join(names.users.get(i, "—") for i in value)
    if how == "levels":
        return ("、" if locale == "zh" else ", ").join(label("level", v) for v in value) or "—"
    if how == "attachments":
        return ", ".join(str(a.get("name", "")) for a in value)
    return str(value)


def describe(details_json: str, names, locale: str) -> str:
    """The details of one event as "Label: value" parts, in the reader's language."""
    details = json.loads(details_json or "{}")
    parts = []
    # In the order of FIELDS (a reading order), not the stored (sorted) one; unknown fields last.
    for key, value in sorted(details.items(), key=lambda kv: ORDER.get(kv[0], len(ORDER))):
        if value is None or value == "" or value == []:
            continue
        spec = FIELDS.get(key, (_l("Other"), "json"))
        if spec is SKIP:
            continue
        words, how = spec
        if how in ("zh", "en"):
            if how != ("en" if locale == "en" else "zh"):
                continue
            how = "text"
        text = json.dumps(value, ensure_ascii=False) if how == "json" else _value(how, value, names, locale)
        parts.append(f"{words}: {text}" if locale == "en" else f"{words}：{text}")
    return "; ".join(parts) if locale == "en" else "；".join(parts)
