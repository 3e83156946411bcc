"""The attachments on disk, checked against the record.

The SHA-256 of every attachment is in the details of the event that added it,
under the chain's HMAC; `attachments.sha256` and the file are not. So the event
is the reference: the row must agree with it, and the file must hash to it.
Files are hashed in chunks, so a verification holds one chunk in memory at a time.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from flask import current_app

from . import attachments as att
from .extensions import db
from .models import Attachment, Event

CHUNK_BYTES = 1024 * 1024


def file_sha256(path: str) -> str | None:
    """The file's SHA-256 hex, None when there is no file."""
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                sha.update(chunk)
    except FileNotFoundError:
        return None
    return sha.hexdigest()


def _file_problem(upload_dir: str, a: Attachment, recorded: str) -> str | None:
    try:
        path = att.path_of(upload_dir, a.stored_name)
    except ValueError:
        return f"stored name {a.stored_name!r} is not one the app writes"
    try:
        actual = file_sha256(path)
    except OSError as error:
        return f"file cannot be read ({error.strerror})"
    if actual is None:
        return "file missing on disk"
    if actual != recorded:
        return f"file changed on disk (SHA-256 {actual[:12]}…, the record says {recorded[:12]}…)"
    return None


# (ticket number, event seq, event id, problem): tickets.audit makes a Break of each.
Problem = tuple[str, "int | None", "int | None", str]


def check_attachments(numbers: dict[int, str], events: dict[int, list[Event]]) -> list[Problem]:
    """Every attachment of these tickets (id -> number; their events, loaded) that disagrees with its event."""
    upload_dir = current_app.config["UPLOAD_DIR"]
    rows: dict[tuple[int, int | None], list[Attachment]] = defaultdict(list)
    for a in db.session.scalars(db.select(Attachment).where(Attachment.ticket_id.in_(list(numbers)))
                                .order_by(Attachment.ticket_id, Attachment.id)):
        rows[(a.ticket_id, a.event_seq)].append(a)
    breaks: list[Problem] = []
    for ticket_id, number in numbers.items():
        by_seq = {ev.seq: ev for ev in events.get(ticket_id, [])}
        seqs = sorted({seq for (tid, seq) in rows if tid == ticket_id} | {
            seq for seq, ev in by_seq.items() if '"attachments"' in ev.details}, key=lambda s: (s is None, s or 0))
        for seq in seqs:
            ev = by_seq.get(seq)
            listed = json.loads(ev.details).get("attachments", []) if ev is not None else []
            saved = rows.get((ticket_id, seq), [])
            # The event lists its files in the order they were saved, which is the order of their ids.
            for i, a in enumerate(saved):
                where = f"attachment {a.id} “{a.filename}”"
                recorded = listed[i].get("sha256") if i < len(listed) else None
                if recorded is None:
                    breaks.append((number, seq, ev.id if ev else None, f"{where}: not in the record"))
                    recorded = a.sha256
                elif a.sha256 != recorded:
                    breaks.append((number, seq, ev.id, f"{where}: its row's SHA-256 differs from the record"))
                problem = _file_problem(upload_dir, a, recorded)
                if problem:
                    breaks.append((number, seq, ev.id if ev else None, f"{where}: {problem}"))
            for entry in listed[len(saved):]:
                breaks.append((number, seq, ev.id, f"attachment “{entry.get('name')}” of the record has no row"))
    return breaks
