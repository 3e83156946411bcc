"""Files in UPLOAD_DIR that no attachment holds: what a crash in the middle of an upload leaves.

An upload is written under a temporary name, renamed to its stored name, and its row is
committed; a failed commit removes the file again (common.SavedFiles). A process killed in
between leaves a temporary file, or a stored file with no row. The worker removes both once
they are an hour old (an upload in progress is seconds old), and logs each one. Nothing
else in the folder is touched.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app

from .. import attachments as att
from ..extensions import db
from ..models import Attachment
from ..timeutil import now

log = logging.getLogger(__name__)

GRACE = timedelta(hours=1)
_BATCH = 500  # stored names looked up per query


@dataclass(frozen=True)
class Removed:
    name: str
    why: str        # "temporary" or "no attachment"
    size: int
    modified: datetime


def _modified(entry: os.DirEntry) -> datetime | None:
    """The file's modification time, naive UTC like every time the services compare (None: gone)."""
    try:
        mtime = entry.stat().st_mtime  # cached on the entry from here on
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(mtime, timezone.utc).replace(tzinfo=None)


def _held(names: list[str]) -> set[str]:
    held: set[str] = set()
    for i in range(0, len(names), _BATCH):
        chunk = names[i:i + _BATCH]
        held |= set(db.session.scalars(db.select(Attachment.stored_name).where(Attachment.stored_name.in_(chunk))))
    return held


def sweep_orphan_files(at: datetime | None = None, grace: timedelta = GRACE,
                       upload_dir: str | None = None) -> list[Removed]:
    """Remove temporary files and stored files no attachment holds, modified before `at` - `grace`."""
    upload_dir = upload_dir or current_app.config["UPLOAD_DIR"]
    cutoff = (at or now()) - grace
    try:
        entries = [e for e in os.scandir(upload_dir) if e.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    old = [(e, m) for e, m in ((e, _modified(e)) for e in entries) if m is not None and m < cutoff]
    gone = [(e, m, "temporary") for e, m in old if att.is_temporary_name(e.name)]
    stored = [(e, m) for e, m in old if att.is_stored_name(e.name)]
    held = _held([e.name for e, _ in stored])
    gone += [(e, m, "no attachment") for e, m in stored if e.name not in held]
    removed = []
    for entry, modified, why in gone:
        size = entry.stat().st_size
        try:
            os.remove(entry.path)
        except FileNotFoundError:
            continue  # another sweep took it
        log.info("removed upload file %s (%s, %d bytes, modified %s UTC)", entry.name, why, size,
                 modified.isoformat(timespec="seconds"))
        removed.append(Removed(entry.name, why, size, modified))
    return removed
