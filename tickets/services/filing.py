"""Filing a request: by the firm on the web form, or on its behalf by staff."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..audit import append_event
from ..extensions import db
from ..models import CHANNELS, URGENCIES, Category, Firm, Ticket, UsedFormToken, User
from ..permissions import may_file_for
from ..timeutil import now, to_local
from ..validators import is_valid_phone
from .clocks import start_clock
from .common import SavedFiles, Upload, check_uploads, parse_id, raise_if, require_choice, require_text
from .errors import AlreadyFiled, InvalidInput, Refused
from .notify import on_action

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
# A one-time form token (forms_common.new_form_token): 32 URL-safe characters.
FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
FORM_TOKEN_EXPIRED = _l("This form has expired. Please check it and submit it again.")


def _raise_if_used(form_token: str, actor: User) -> None:
    """AlreadyFiled when this user's form filed a ticket before; another user's token is no token of theirs."""
    used = db.session.get(UsedFormToken, form_token)
    if used is None:
        return
    if used.user_id != actor.id:
        raise InvalidInput(FORM_TOKEN_EXPIRED, {"form_token": FORM_TOKEN_EXPIRED})
    raise AlreadyFiled(db.session.get(Ticket, used.ticket_id))


def file_ticket(
    actor: User,
    *,
    firm_id: int,
    category_id,
    title: str,
    description: str,
    urgency: str = "normal",
    contact_name: str = "",
    contact_phone: str = "",
    channel: str = "web",
    follows_number: str = "",
    uploads: list[Upload] | None = None,
    form_token: str | None = None,
) -> Ticket:
    """File a new request; returns the committed ticket with its number and accept clock.

    `form_token` is the one-time token of the web form (None where there is no form: the
    demo, the tests); a token that filed a ticket before raises AlreadyFiled and writes nothing.
    """
    if form_token is not None and FORM_TOKEN.fullmatch(form_token):
        # Before anything else: a resubmitted form is answered with its ticket, whatever it holds now.
        _raise_if_used(form_token, actor)
    firm = db.session.get(Firm, parse_id(firm_id)) if parse_id(firm_id) else None
    if firm is None:
        raise Refused(_l("Unknown firm."))
    if channel == "web":
        if not (actor.has("firm") and actor.firm_id == firm.id):
            raise Refused(_l("You may only file requests for your own firm."))
    elif not may_file_for(actor, firm):
        raise Refused(_l("You may not file on behalf of this firm."))

    errors: dict = {}
    if form_token is not None and not FORM_TOKEN.fullmatch(form_token):
        errors["form_token"] = FORM_TOKEN_EXPIRED
    title = require_text(errors, "title", title, _l("Title"), TITLE_MAX)
    description = require_text(errors, "description", description, _l("Description"), DESCRIPTION_MAX)
    contact_name = require_text(errors, "contact_name", contact_name, _l("Contact person"), 100)
    contact_phone = (contact_phone or "").strip()
    if not is_valid_phone(contact_phone):
        errors["contact_phone"] = _l("Please enter a valid mobile or landline number.")
    require_choice(errors, "urgency", urgency, URGENCIES, _l("urgency"))
    require_choice(errors, "channel", channel, CHANNELS, _l("channel"))
    category_pk = parse_id(category_id)
    category = db.session.get(Category, category_pk) if category_pk else None
    if category is None or not category.active:
        errors["category_id"] = _l("Please choose a category from the list.")
    follows = None
    if follows_number:
        follows = db.session.scalar(db.select(Ticket).filter_by(number=follows_number.strip()))
        if follows is None or follows.firm_id != firm.id:
            errors["follows_number"] = _l("No earlier request %(n)s of this firm.", n=follows_number)
    checked = check_uploads(errors, uploads or [])
    raise_if(errors)

    from .numbers import next_number

    files = SavedFiles()
    try:
        ticket = Ticket(
            number=next_number(to_local(now()).year),
            firm_id=firm.id,
            submitter_id=actor.id,
            channel=channel,
            category_id=category.id,
            category=category,
            title=title,
            description=description,
            urgency=urgency,
            contact_name=contact_name,
            contact_phone=contact_phone,
            state="submitted",
            round=0,
            follows_id=follows.id if follows else None,
            created_at=now(),
        )
        db.session.add(ticket)
        db.session.flush()
        if form_token is not None:
            # The primary key settles a race of two posts: the second waits for the first to
            # commit, then fails here, before it writes a file.
            db.session.add(UsedFormToken(token=form_token, user_id=actor.id, ticket_id=ticket.id, used_at=now()))
            db.session.flush()
        saved = files.save(ticket, checked, actor.id)
        append_event(
            ticket,
            actor.id,
            "file",
            to_state="submitted",
            visibility="public",
            details={
                "channel": channel,
                "category": category.code,
                "title": title,
                "urgency": urgency,
                "follows": follows.number if follows else None,
                "attachments": saved,
            },
        )
        start_clock(ticket, "accept")
        on_action(ticket, "file", actor.id)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        files.discard()
        if form_token is not None and isinstance(exc, IntegrityError):
            _raise_if_used(form_token, actor)  # the other post won: show its ticket
        raise
    return ticket
