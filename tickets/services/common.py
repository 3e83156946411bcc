"""Helpers shared by the services: input checks and attachment saving."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import attachments as att
from ..audit import rotate_if_needed
from ..extensions import db
from ..models import Attachment, Ticket
from .errors import InvalidInput


@dataclass
class Upload:
    """A file as the service sees it: the name the user gave and its bytes."""

    filename: str
    data: bytes


# The largest id a row can have: the id columns are INTEGER, which PostgreSQL holds in 4 bytes and
# refuses to compare with a larger number (an error, not "no row"); SQLite would take up to 2**63 - 1.
MAX_ID = 2**31 - 1


def parse_id(value) -> int | None:
    """A row id from user input: a positive integer in range, else None (never an error)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        n = value
    else:
        text = str(value or "").strip()
        # Not str.isdigit(): it accepts "²", which int() refuses.
        if not re.fullmatch(r"[0-9]{1,19}", text):
            return None
        n = int(text)
    return n if 0 < n <= MAX_ID else None


# Control characters other than tab and newlines: never meaningful in a request, and
# they break XML (XLSX exports, e-mail) downstream.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def require_text(errors: dict, field: str, value, label, max_len: int, min_len: int = 1) -> str:
    value = CONTROL_CHARS.sub("", value or "").strip()
    if len(value) < min_len:
        errors[field] = _l("%(label)s is required.", label=label)
    elif len(value) > max_len:
        errors[field] = _l("%(label)s may have at most %(n)d characters.", label=label, n=max_len)
    return value


def require_choice(errors: dict, field: str, value, choices, label) -> str:
    if value not in choices:
        errors[field] = _l("Please choose a valid %(label)s.", label=label)
    return value


def raise_if(errors: dict) -> None:
    if errors:
        raise InvalidInput(next(iter(errors.values())), errors)


def check_uploads(errors: dict, uploads: list[Upload]) -> list[tuple[Upload, str]]:
    """Validate files by content; returns (upload, content type) pairs."""
    uploads = [u for u in uploads or [] if u.filename or u.data]
    cfg = current_app.config
    if len(uploads) > cfg["MAX_ATTACHMENTS"]:
        errors["attachments"] = _l("At most %(n)d attachments.", n=cfg["MAX_ATTACHMENTS"])
        return []
    checked = []
    for u in uploads:
        try:
            ctype, _ext = att.check(u.filename, u.data, cfg["MAX_ATTACHMENT_BYTES"])
        except att.AttachmentRefused as e:
            errors["attachments"] = e.message
            return []
        checked.append((u, ctype))
    return checked


class SavedFiles:
    """Files written to disk for one request; removed again if the commit fails."""

    def __init__(self):
        self.names: list[str] = []

    def save(self, ticket: Ticket, uploads, user_id: int, public: bool = True) -> list[dict]:
        out = []
        upload_dir = current_app.config["UPLOAD_DIR"]
        # A key_rotated event would take the seq below: let it come first (tickets/audit.py).
        rotate_if_needed(ticket)
        for u, ctype in uploads:
            stored, sha = att.store(upload_dir, u.data)
            self.names.append(stored)
            a = Attachment(
                ticket_id=ticket.id,
                event_seq=ticket.event_count + 1,
                filename=att.safe_filename(u.filename),
                stored_name=stored,
                content_type=ctype,
                size=len(u.data),
                sha256=sha,
                public=public,
                uploaded_by_id=user_id,
            )
            db.session.add(a)
            out.append({"name": a.filename, "sha256": sha, "size": a.size})
        return out

    def discard(self) -> None:
        for name in self.names:
            att.remove(current_app.config["UPLOAD_DIR"], name)
        self.names.clear()
