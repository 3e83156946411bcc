"""A crash in the middle of an upload leaves no file behind for long: the worker's sweep removes it.

File ages come from the service clock (KNOWN_NOW unless a test moves it) against modification
times the tests set themselves, never from the wall clock.
"""
from __future__ import annotations

import io
import logging
import os
from datetime import timedelta, timezone

import pytest

from tickets.extensions import db
from tickets.forms_common import new_form_token
from tickets.models import Attachment, Ticket
from tickets.services.common import Upload
from tickets.services.orphan_files import sweep_orphan_files
from tickets.timeutil import now

from .conftest import file_request

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def put(app, name: str, age: timedelta, content: bytes = b"x") -> str:
    """A file in UPLOAD_DIR last modified `age` before the service clock's now."""
    d = app.config["UPLOAD_DIR"]
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "wb") as fh:
        fh.write(content)
    touch(path, age)
    return name


def touch(path: str, age: timedelta) -> None:
    ts = (now() - age).replace(tzinfo=timezone.utc).timestamp()
    os.utime(path, (ts, ts))


def listing(app) -> set[str]:
    return set(os.listdir(app.config["UPLOAD_DIR"]))


def test_only_old_files_no_attachment_holds_go(app, park, caplog):
    t = file_request(park, uploads=[Upload("a.pdf", PDF)])
    held = db.session.scalars(db.select(Attachment.stored_name).filter_by(ticket_id=t.id)).one()
    touch(os.path.join(app.config["UPLOAD_DIR"], held), timedelta(days=30))   # old, but held: stays
    old_orphan = put(app, "0" * 32, timedelta(hours=2))
    fresh_orphan = put(app, "1" * 32, timedelta(minutes=10))          # an upload still committing
    old_temp = put(app, ".upload-abc123.tmp", timedelta(hours=1, seconds=1))
    fresh_temp = put(app, ".upload-def456.tmp", timedelta(minutes=59))  # being written
    other = put(app, "README.txt", timedelta(days=400))                # not ours to judge
    caplog.set_level(logging.INFO, logger="tickets.services.orphan_files")

    removed = sweep_orphan_files()

    assert sorted((r.name, r.why) for r in removed) == [(old_temp, "temporary"), (old_orphan, "no attachment")]
    assert listing(app) == {held, fresh_orphan, fresh_temp, other}
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert old_orphan in logged and old_temp in logged and fresh_orphan not in logged
    # Safe to run twice: nothing more goes.
    assert sweep_orphan_files() == []


def test_the_worker_task_sweeps(app, park, caplog):
    from worker.schedule import BEAT_SCHEDULE
    from worker.tasks import sweep_orphan_files as task

    entry = [e for e in BEAT_SCHEDULE.values() if e["task"] == "worker.tasks.sweep_orphan_files"]
    assert len(entry) == 1 and entry[0]["schedule"] <= 3600
    assert task.name == "worker.tasks.sweep_orphan_files"
    old_orphan = put(app, "a" * 32, timedelta(hours=3))
    fresh = put(app, "b" * 32, timedelta(minutes=1))
    caplog.set_level(logging.INFO)
    # The task's body in this test's app (task() would push the app of whichever Celery app an
    # earlier test created, with its own upload folder).
    assert task.run() == [old_orphan]
    assert listing(app) == {fresh}
    assert any("orphan" in r.getMessage() and old_orphan in r.getMessage() for r in caplog.records)


class Crash(BaseException):
    """The process dies here: no `except Exception` cleans up after it."""


def test_a_crash_in_the_middle_of_an_upload(app, park, login, monkeypatch):
    """The file is on disk, its ticket never committed; an hour later the sweep takes it."""
    from tickets.services import filing

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(filing, "append_event", crash)   # after the files were written
    client = login(park.firm_user)
    data = dict(category_id=str(park.category("labor").id), title="招工难", description="缺人", urgency="normal",
                contact_name="王经理", contact_phone="13800138000", form_token=new_form_token(),
                attachments=[(io.BytesIO(PDF), "a.pdf")])
    with pytest.raises(Crash):
        client.post("/firm/requests/new", data=data, content_type="multipart/form-data")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    left = listing(app)
    assert len(left) == 1
    (name,) = left
    touch(os.path.join(app.config["UPLOAD_DIR"], name), timedelta(seconds=5))   # just written

    assert sweep_orphan_files() == []                      # too fresh: could be an upload in progress
    removed = sweep_orphan_files(at=now() + timedelta(hours=1))
    assert [r.name for r in removed] == [name] and listing(app) == set()


def test_no_upload_folder_yet(app):
    assert not os.path.exists(app.config["UPLOAD_DIR"])
    assert sweep_orphan_files() == []
