"""`audit verify` checks every attachment's file on disk against the SHA-256 in its event."""
from __future__ import annotations

import hashlib
import os

from tickets import audit_files
from tickets.extensions import db
from tickets.models import Attachment, User
from tickets.services import digest as digest_service

from .test_audit_chain import audit_verify, built, make_png, sql  # noqa: F401  (built: the fixture)


def attachment(ticket_id: int, content_type: str) -> tuple[int, str, str, str]:
    a = db.session.scalar(db.select(Attachment).filter_by(ticket_id=ticket_id, content_type=content_type))
    return a.id, a.filename, a.stored_name, a.sha256


def test_changed_file_is_named(app, built):
    t = built["full"]
    att_id, name, stored, _sha = attachment(t.id, "image/png")
    with open(os.path.join(app.config["UPLOAD_DIR"], stored), "r+b") as fh:
        fh.seek(30)
        fh.write(b"\x00")  # one byte
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event 1 " in result.output
    assert f"attachment {att_id} “{name}”: file changed on disk" in result.output
    assert "3 tickets checked, 1 broken" in result.output


def test_missing_file_is_named(app, built):
    t = built["full"]
    att_id, name, stored, _sha = attachment(t.id, "application/pdf")
    os.remove(os.path.join(app.config["UPLOAD_DIR"], stored))
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {t.number}: event " in result.output
    assert f"attachment {att_id} “{name}”: file missing on disk" in result.output


def test_file_swapped_with_its_row_updated_to_match_is_caught(app, built):
    """Whoever replaces the file and fixes attachments.sha256 still disagrees with the signed event."""
    t = built["full"]
    att_id, name, stored, _sha = attachment(t.id, "image/png")
    other = make_png(5, 5)
    with open(os.path.join(app.config["UPLOAD_DIR"], stored), "wb") as fh:
        fh.write(other)
    sql("UPDATE attachments SET sha256 = :s, size = :n WHERE id = :id",
        s=hashlib.sha256(other).hexdigest(), n=len(other), id=att_id)
    result = audit_verify(app)
    assert result.exit_code == 1, result.output
    assert f"attachment {att_id} “{name}”: its row's SHA-256 differs from the record" in result.output
    assert f"attachment {att_id} “{name}”: file changed on disk" in result.output


def test_attachment_row_removed_is_caught(app, built):
    t = built["full"]
    att_id, _name, _stored, _sha = attachment(t.id, "image/png")
    sql("DELETE FROM attachments WHERE id = :id", id=att_id)
    result = audit_verify(app)
    assert result.exit_code == 1 and "attachment “现场照片.png” of the record has no row" in result.output


def test_the_audit_page_run_names_a_changed_file(app, built, client, login, park):
    t = built["full"]
    inspector_id = park.inspector.id
    att_id, name, stored, _sha = attachment(t.id, "image/png")
    os.remove(os.path.join(app.config["UPLOAD_DIR"], stored))
    login(db.session.get(User, inspector_id))
    assert client.post("/inspect/audit/run").status_code == 302
    run = digest_service.last_run()
    assert (run.source, run.broken_count) == ("page", 1)
    html = client.get("/inspect/audit").get_data(as_text=True)
    assert f"attachment {att_id} “{name}”: file missing on disk" in html


def test_files_are_hashed_a_chunk_at_a_time(tmp_path, monkeypatch):
    data = os.urandom(1000)
    path = tmp_path / "f"
    path.write_bytes(data)
    reads = []
    real_open = open

    def spy_open(*args, **kwargs):
        fh = real_open(*args, **kwargs)
        real_read = fh.read

        class Spy:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                fh.close()

            def read(self, n=-1):
                reads.append(n)
                return real_read(n)

        return Spy()

    monkeypatch.setattr(audit_files, "CHUNK_BYTES", 64)
    monkeypatch.setattr(audit_files, "open", spy_open, raising=False)
    assert audit_files.file_sha256(str(path)) == hashlib.sha256(data).hexdigest()
    assert reads and all(0 < n <= 64 for n in reads) and len(reads) == 17  # 16 chunks, then the end
    assert audit_files.file_sha256(str(tmp_path / "none")) is None
