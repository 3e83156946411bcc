"""The text of each kind of notification, in the reader's language.

Params are stored, not text, so the inbox and the e-mail are written in the
language of the person reading them, at the time they read them.
"""
from __future__ import annotations

import json

from flask_babel import force_locale
from flask_babel import gettext as _

from .provisional import deadline_note
from .views_common import fmt_iso_due, meeting_list_name


def _due(p: dict) -> str:
    """The due time of a message, with "(provisional: ...)" while its year's schedule is not loaded.

    Decided when the message is read, not when it was raised: once the schedule is loaded
    the note goes (and a changed deadline raises its own reminders as a new version).
    """
    due = fmt_iso_due(p.get("due"))
    note = deadline_note(_parsed(p.get("start") or p.get("due")), _parsed(p.get("due")))
    # The brackets are the language's own: "(...)" in English, "（…）" in Chinese.
    return _("%(due)s (%(note)s)", due=due, note=note) if note else due


def _parsed(text):
    from datetime import datetime

    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ") if text else None
    except (TypeError, ValueError):
        return None


def _clock_text(clock: str) -> str:
    return {"accept": _("acceptance"), "handle": _("handling"), "feedback": _("feedback"),
            "explanation": _("explanation")}.get(clock, clock)


def _later_round(p: dict) -> int | None:
    """The round of a message from the second handling round on (the first one goes unnamed)."""
    try:
        r = int(p.get("round") or 1)
    except (TypeError, ValueError):
        return None
    return r if r > 1 else None


def _reminder(p: dict) -> str:
    due = _due(p)
    clock = _clock_text(p.get("clock", ""))
    number = p["number"]
    r = _later_round(p) if p.get("clock") in ("handle", "feedback") else None
    if r:
        # A rework's clocks are new ones: the reader must tell them from round 1's.
        number = _("%(number)s (handling round %(round)s)", number=number, round=r)
    if p.get("level") == "yellow":
        return _("%(number)s: the %(clock)s deadline %(due)s is near.", number=number, clock=clock, due=due)
    if p.get("level") == "red":
        return _("%(number)s: the %(clock)s deadline %(due)s has passed.", number=number, clock=clock, due=due)
    return _("%(number)s: the %(clock)s deadline %(due)s passed 3 working days ago; it is on the supervision list.",
             number=number, clock=clock, due=due)


def _handled(p: dict) -> str:
    n, r = p.get("number", ""), _later_round(p)
    if r:
        return _("%(number)s: the outcome of handling round %(round)s is recorded, please give your feedback",
                 number=n, round=r)
    return _("%(number)s: the outcome is recorded, please give your feedback", number=n)


def _fed_back(p: dict) -> str:
    n, r = p.get("number", ""), _later_round(p)
    if r:
        return _("%(number)s: the firm gave its feedback on handling round %(round)s", number=n, round=r)
    return _("%(number)s: the firm gave its feedback", number=n)


def subject(kind: str, p: dict) -> str:
    n = p.get("number", "")
    texts = {
        "filed": lambda: _("New request %(number)s from %(firm)s", number=n, firm=p.get("firm", "")),
        "accepted": lambda: _("%(number)s accepted; lead official %(lead)s", number=n, lead=p.get("lead", "")),
        "handled": lambda: _handled(p),
        "rework": lambda: _("%(number)s was rated dissatisfied: handling round %(round)s", number=n,
                            round=p.get("round", "")),
        "fed_back": lambda: _fed_back(p),
        "closed": lambda: _("%(number)s was closed", number=n),
        "question": lambda: _("%(number)s: a question for you", number=n),
        "reply": lambda: _("%(number)s: the firm replied", number=n),
        "extension_requested": lambda: _("%(number)s: an extension awaits your decision", number=n),
        "extension_decided": lambda: (_("%(number)s: the deadline was extended", number=n) if p.get("approved")
                                      else _("%(number)s: the extension was denied", number=n)),
        "transfer_requested": lambda: _("%(number)s: a transfer awaits your decision", number=n),
        "transferred": lambda: _("%(number)s was transferred to %(lead)s", number=n, lead=p.get("lead", "")),
        "transfer_denied": lambda: _("%(number)s: the transfer was denied", number=n),
        "meeting_decision": lambda: _("%(number)s: the weekly meeting recorded a decision", number=n),
        "reminder": lambda: _reminder(p),
        "meeting_list": lambda: _("%(name)s %(week)s: %(open)s open requests, %(overdue)s overdue",
                                  name=meeting_list_name(), week=p.get("week", ""), open=p.get("open", 0),
                                  overdue=p.get("overdue", 0)),
        "digest": lambda: _("Record digest of %(day)s: %(digest)s", day=p.get("day", ""), digest=p.get("digest", "")),
        "notice_issued": lambda: _("%(number)s: supervision notice %(notice)s; a written explanation is due %(due)s",
                                   number=n, notice=p.get("notice", ""), due=_due(p)),
        "notice_explained": lambda: _("%(number)s: the explanation to supervision notice %(notice)s was filed",
                                      number=n, notice=p.get("notice", "")),
        "notice_concluded": lambda: _("%(number)s: supervision notice %(notice)s was concluded",
                                      number=n, notice=p.get("notice", "")),
        "review_proposed": lambda: _("%(number)s: a proposal to exclude a dissatisfied rating awaits your decision",
                                     number=n),
        "review_decided": lambda: _("%(number)s: your proposal to exclude a rating was decided", number=n),
    }
    return texts[kind]() if kind in texts else n


def render(kind: str, params: str | dict, locale: str) -> tuple[str, str]:
    """(subject, one-line body) in `locale`."""
    p = json.loads(params) if isinstance(params, str) else params
    with force_locale(locale):
        return subject(kind, p), p.get("title", "")
