"""The supervision notice as the paper a government office files (督办通知).

Its document number is the notice's yearly sequence written the official way,
〔2026〕1号 (with an optional prefix such as 园纪督), beside the system number
DB-2026-0001; its dates are written 2026年11月24日. The issuing body and the
contact come from the configuration (README, "Supervision notices on paper").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app

from ..models import SupervisionNotice
from ..timeutil import to_local

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


def document_number(notice: SupervisionNotice, prefix: str = "") -> str:
    """DB-2026-0007 as 〔2026〕7号: the year in tortoise-shell brackets, the sequence without zeros."""
    _db, year, seq = notice.number.split("-")
    return f"{prefix}〔{year}〕{int(seq)}号"


def written_date(day: date | None, locale: str) -> str:
    """A date as an official document writes it: 2026年11月24日, or 24 November 2026."""
    if day is None:
        return ""
    if locale == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def local_day(at: datetime | None, due: bool = False) -> date | None:
    """The Beijing day of a stored time; a due time at 24:00 is the day it ends."""
    local = to_local(at)
    if local is None:
        return None
    if due and (local.hour, local.minute, local.second) == (0, 0, 0):
        local -= timedelta(days=1)
    return local.date()


@dataclass(frozen=True)
class NoticeDocument:
    issuer: str
    number: str
    issued_on: str
    due_on: str
    contact: str


def document(notice: SupervisionNotice, locale: str) -> NoticeDocument:
    """What the printed notice says beyond the notice itself, in the reader's language."""
    config = current_app.config
    contact = config.get("NOTICE_CONTACT") or " ".join(
        part for part in (notice.issued_by.name, notice.issued_by.mobile or notice.issued_by.email) if part)
    return NoticeDocument(
        issuer=config.get("NOTICE_ISSUER") or "",
        number=document_number(notice, config.get("NOTICE_NUMBER_PREFIX") or ""),
        issued_on=written_date(local_day(notice.issued_at), locale),
        due_on=written_date(local_day(notice.due_at, due=True), locale),
        contact=contact,
    )
