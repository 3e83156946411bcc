"""A download is saved under the extension of the type detected at upload, never the one the user chose.

A PDF that is also an HTML page (a polyglot) uploaded as "poly.html" is accepted as the PDF it is;
saved as poly.html it would open in the browser and run its script. Uploaded and downloaded
through HTTP; the record keeps the name the user gave.
"""
from __future__ import annotations

import io
import re

import pytest

from tickets.attachments import content_disposition, download_name
from tickets.extensions import db
from tickets.forms_common import new_form_token
from tickets.models import Attachment, Event

POLYGLOT = (b"%PDF-1.4\n%<html><body><script>document.title = document.cookie</script></body></html>\n"
            b"1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def upload_and_download(park, login, name: str, content: bytes):
    client = login(park.firm_user)
    data = dict(category_id=str(park.category("labor").id), title="附件", description="见附件", urgency="normal",
                contact_name="王经理", contact_phone="13800138000", form_token=new_form_token(),
                attachments=[(io.BytesIO(content), name)])
    resp = client.post("/firm/requests/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    number = resp.headers["Location"].rsplit("/", 1)[-1]
    a = db.session.scalars(db.select(Attachment)).one()
    got = client.get(f"/tickets/{number}/attachments/{a.id}")
    assert got.status_code == 200
    assert got.data == content
    got.close()
    return a, got


def test_polyglot_named_html_downloads_as_pdf(park, login):
    a, resp = upload_and_download(park, login, "poly.html", POLYGLOT)
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"] == "attachment; filename=poly.pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # The record keeps what the user called it (and the chain what it hashed).
    assert a.filename == "poly.html" and a.content_type == "application/pdf"
    event = db.session.scalars(db.select(Event).filter_by(action="file")).one()
    assert '"name": "poly.html"' in event.details or '"name":"poly.html"' in event.details


def test_a_chinese_name_keeps_both_forms_with_the_detected_extension(park, login):
    _, resp = upload_and_download(park, login, "说明 第1页.htm", POLYGLOT)
    cd = resp.headers["Content-Disposition"]
    assert cd == "attachment; filename=1.pdf; filename*=UTF-8''%E8%AF%B4%E6%98%8E%20%E7%AC%AC1%E9%A1%B5.pdf", cd
    filenames = re.findall(r"filename\*?=([^;]+)", cd)
    assert filenames and all(f.endswith(".pdf") for f in filenames)


@pytest.mark.parametrize("name, ctype, expected", [
    ("poly.html", "application/pdf", "poly.pdf"),
    ("report.PDF", "application/pdf", "report.PDF"),
    ("report", "application/pdf", "report.pdf"),
    ("photo.jpeg", "image/jpeg", "photo.jpeg"),
    ("photo.png", "image/jpeg", "photo.jpg"),
    ("scan.jpg.exe", "image/png", "scan.jpg.png"),
    ("page.svg", "image/png", "page.png"),
    (".htaccess", "application/pdf", "htaccess.pdf"),
    ("表.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "表.xlsx"),
    ("表.xls", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "表.xlsx"),
    ("x.html", "text/html", "x.bin"),   # a type never accepted: no extension that opens it
])
def test_download_name(name, ctype, expected):
    assert download_name(name, ctype) == expected


def test_png_uploaded_as_svg(park, login):
    _, resp = upload_and_download(park, login, "logo.svg", PNG)
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"] == "attachment; filename=logo.png"


def test_content_disposition_ascii_fallback():
    assert content_disposition("a b.pdf") == {"filename": "a b.pdf"}
    assert content_disposition("说明.pdf")["filename"] == "attachment.pdf"
    assert content_disposition("Café.pdf")["filename"] == "Cafe.pdf"
