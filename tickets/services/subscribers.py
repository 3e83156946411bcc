"""The admin's side of webhooks: subscribers, their delivery log, and the replay button."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from ..extensions import db
from ..models import OutboxAttempt, OutboxMessage, WebhookAttempt, WebhookSubscriber
from ..timeutil import now
from .common import raise_if, require_text
from .errors import Refused
from .webhooks import EVENTS, AddressRefused, check_url

REPLAYABLE = ("sent", "failed")


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _checked(errors: dict, name, url, events) -> tuple[str, str, str]:
    name = require_text(errors, "name", name, _l("Name"), 100)
    url = (url or "").strip()
    if len(url) > 500:
        errors["url"] = _l("The address is too long (at most 500 characters).")
    else:
        try:
            check_url(url)
        except AddressRefused as e:
            errors["url"] = e.message
    codes = [c for c in EVENTS if c in set(events or [])]
    if not codes or len(codes) != len(set(events or [])):
        errors["events"] = _l("Choose at least one event.") if not codes else _l("Choose from the list.")
    return name, url, ",".join(codes)


def _service(errors: dict, service_id):
    """The integration whose firms the subscriber hears of (None: every firm)."""
    if service_id in (None, "", 0, "0"):
        return None
    from ..models import User
    from .common import parse_id

    user = db.session.get(User, parse_id(service_id)) if parse_id(service_id) else None
    if user is None or not user.is_service:
        errors["service_id"] = _l("Choose from the list.")
        return None
    return user.id


def create_subscriber(actor, *, name, url, events, active: bool = True, service_id=None) -> WebhookSubscriber:
    """Register a subscriber after checking its address now; its secret is made here (shown once)."""
    errors: dict = {}
    name, url, codes = _checked(errors, name, url, events)
    service = _service(errors, service_id)
    raise_if(errors)
    sub = WebhookSubscriber(name=name, url=url, secret=_new_secret(), events=codes, active=bool(active),
                            created_at=now(), created_by_id=actor.id, service_id=service)
    db.session.add(sub)
    db.session.commit()
    return sub


def update_subscriber(sub: WebhookSubscriber, *, name, url, events, active: bool, service_id=None) -> WebhookSubscriber:
    """Change the address, the events or whether it is active; the address is checked again."""
    errors: dict = {}
    name, url, codes = _checked(errors, name, url, events)
    service = _service(errors, service_id)
    raise_if(errors)
    sub.name, sub.url, sub.events, sub.active, sub.service_id = name, url, codes, bool(active), service
    db.session.commit()
    return sub


def renew_secret(sub: WebhookSubscriber) -> str:
    """A new signing secret; every delivery from now on is signed with it."""
    sub.secret = _new_secret()
    db.session.commit()
    return sub.secret


def counts() -> dict[int, dict[str, int]]:
    """{subscriber id: {status: deliveries}}."""
    out: dict[int, dict[str, int]] = {}
    for sub_id, status, n in db.session.execute(
            db.select(OutboxMessage.subscriber_id, OutboxMessage.status, func.count())
            .where(OutboxMessage.subscriber_id.is_not(None)).group_by(OutboxMessage.subscriber_id, OutboxMessage.status)):
        out.setdefault(sub_id, {})[status] = n
    return out


def list_subscribers() -> list[WebhookSubscriber]:
    return list(db.session.scalars(db.select(WebhookSubscriber).order_by(WebhookSubscriber.id)))


@dataclass
class LogPage:
    rows: list[OutboxMessage]
    attempts: dict[int, list[WebhookAttempt]]
    next_before: int | None


def delivery_log(sub: WebhookSubscriber, before: int | None = None, size: int | None = None) -> LogPage:
    """A subscriber's deliveries, newest first, a page at a time (keyset on the id), with their attempts."""
    size = size or current_app.config["PAGE_SIZE"]
    stmt = db.select(OutboxMessage).where(OutboxMessage.subscriber_id == sub.id)
    if before:
        stmt = stmt.where(OutboxMessage.id < before)
    rows = list(db.session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    attempts: dict[int, list[WebhookAttempt]] = {r.id: [] for r in rows}
    if rows:
        for a in db.session.scalars(db.select(WebhookAttempt).where(WebhookAttempt.outbox_id.in_(list(attempts)))
                                    .order_by(WebhookAttempt.outbox_id, WebhookAttempt.id)):
            attempts[a.outbox_id].append(a)
    return LogPage(rows, attempts, rows[-1].id if more else None)


def replay(sub: WebhookSubscriber, outbox_id: int) -> OutboxMessage:
    """Send a delivered or failed delivery again: back to pending with its attempts reset, the replay counted."""
    row = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                                           OutboxMessage.subscriber_id == sub.id).with_for_update())
    if row is None:
        raise Refused(_l("There is no such delivery."))
    if row.status not in REPLAYABLE:
        db.session.rollback()
        raise Refused(_l("Only a finished delivery (delivered or given up) can be replayed."))
    at = now()
    row.status, row.attempts, row.next_attempt_at, row.published_at = "pending", 0, at, None
    row.sent_at, row.last_error, row.claim, row.retry_until, row.taken_at = None, "", None, None, None
    db.session.add(OutboxAttempt(outbox_id=row.id, at=at, outcome="requeued"))
    row.replay_count, row.replayed_at = (row.replay_count or 0) + 1, at
    db.session.commit()
    return row
