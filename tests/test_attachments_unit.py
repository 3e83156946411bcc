"""Unit tests of tickets.attachments: content sniffing, names, storage."""
from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import zipfile
import zlib

import pytest
from flask import Flask
from flask_babel import Babel

from tickets import attachments as att
from tickets.attachments import AttachmentRefused

LIMIT = 10 * 1024 * 1024

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"


@pytest.fixture(autouse=True)
def app_ctx():
    """Lazy strings are rendered inside a minimal app with Babel."""
    app = Flask(__name__)
    Babel(app)
    with app.app_context(), app.test_request_context():
        yield app


# --- sample files ---------------------------------------------------------

def make_pdf() -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n" % (len(objs) + 1))
    out.write(b"0000000000 65535 f \n")
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, xref))
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def make_png(width: int = 2, height: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(raw)) + _png_chunk(b"IEND", b""))


def make_jpeg() -> bytes:
    # SOI + APP0/JFIF header; enough for a signature check.
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def content_types_xml(overrides: dict[str, str]) -> str:
    lines = "".join(
        f'<Override PartName="{part}" ContentType="{ct}"/>' for part, ct in overrides.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<Types xmlns="{CT_NS}">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{lines}</Types>"
    )


DOCUMENT_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>工单附件</w:t></w:r></w:p></w:body></w:document>"
)
RELS_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


def make_zip(members: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


def make_docx(content_type: str = WORD_MAIN, extra: dict | None = None) -> bytes:
    members = {
        "[Content_Types].xml": content_types_xml({"/word/document.xml": content_type}),
        "_rels/.rels": RELS_XML,
        "word/document.xml": DOCUMENT_XML,
    }
    members.update(extra or {})
    return make_zip(members)


def make_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "工单"
    wb.active["B1"] = 42
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- accepted -------------------------------------------------------------

def test_pdf():
    assert att.check("报告.pdf", make_pdf(), LIMIT) == ("application/pdf", ".pdf")


def test_png():
    assert att.check("a.png", make_png(), LIMIT) == ("image/png", ".png")


def test_jpeg():
    assert att.check("a.jpg", make_jpeg(), LIMIT) == ("image/jpeg", ".jpg")


def test_docx():
    assert att.check("a.docx", make_docx(), LIMIT) == att.DOCX
    assert att.DOCX[1] == ".docx"


def test_xlsx_from_openpyxl():
    assert att.check("a.xlsx", make_xlsx(), LIMIT) == att.XLSX
    assert att.XLSX[1] == ".xlsx"


def test_pptx():
    data = make_zip({
        "[Content_Types].xml": content_types_xml({
            "/ppt/presentation.xml":
                "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        }),
        "ppt/presentation.xml": "<p:presentation xmlns:p='x'/>",
    })
    assert att.sniff(data) == att.PPTX


def test_type_judged_by_content_not_name():
    # A real PDF named .png is still a PDF; the name plays no part.
    assert att.check("photo.png", make_pdf(), LIMIT) == att.PDF


def test_limit_is_inclusive():
    data = make_pdf()
    assert att.check("a.pdf", data, len(data)) == att.PDF


# --- refused --------------------------------------------------------------

def refused(filename: str, data: bytes, max_bytes: int = LIMIT) -> AttachmentRefused:
    with pytest.raises(AttachmentRefused) as info:
        att.check(filename, data, max_bytes)
    exc = info.value
    assert str(exc.message) == str(exc)
    return exc


def test_plain_zip_renamed_docx():
    exc = refused("renamed.docx", make_zip({"readme.txt": "hello"}))
    assert exc.code == "type"
    assert "renamed.docx" in str(exc.message)
    assert "Accepted: PDF" in str(exc.message)


def test_docx_without_content_type_declaration():
    data = make_zip({
        "[Content_Types].xml": content_types_xml({}),
        "word/document.xml": DOCUMENT_XML,
    })
    assert refused("x.docx", data).code == "type"


def test_docx_without_content_types_part():
    data = make_zip({"word/document.xml": DOCUMENT_XML, "_rels/.rels": RELS_XML})
    assert refused("x.docx", data).code == "type"


def test_docx_with_wrong_main_content_type():
    # A macro-enabled document (.docm) declares a different main type.
    data = make_docx("application/vnd.ms-word.document.macroEnabled.main+xml")
    assert refused("x.docx", data).code == "type"


def test_content_types_with_dtd_refused():
    xml = ('<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY a "aaaa">]>'
           + content_types_xml({"/word/document.xml": WORD_MAIN}).split("?>", 1)[1])
    data = make_zip({"[Content_Types].xml": xml, "word/document.xml": DOCUMENT_XML})
    refused("x.docx", data)


def test_duplicate_members_refused():
    buf = io.BytesIO()
    with pytest.warns(UserWarning):
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("[Content_Types].xml", content_types_xml({}))
            zf.writestr("[Content_Types].xml",
                        content_types_xml({"/word/document.xml": WORD_MAIN}))
            zf.writestr("word/document.xml", DOCUMENT_XML)
    refused("x.docx", buf.getvalue())


def test_svg():
    svg = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
           b"<script>alert(1)</script></svg>")
    refused("a.svg", svg)


def test_html():
    refused("a.html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")


def test_html_named_pdf():
    exc = refused("invoice.pdf", b"<html><body>%PDF-1.4</body></html>")
    assert "invoice.pdf" in str(exc.message)


def test_html_zip_polyglot():
    # zipfile would find the zip at the end; the file does not start with one.
    refused("a.docx", b"<html><script>alert(1)</script></html>" + make_docx())


def test_gif_exe_ole():
    refused("a.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 20)
    refused("a.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56)
    refused("a.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)


def test_png_signature_without_ihdr():
    refused("a.png", b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IDAT", b"x"))
    refused("a.png", b"\x89PNG\r\n")


def test_empty_file():
    exc = refused("empty.pdf", b"")
    assert exc.code == "empty"
    assert "empty.pdf" in str(exc.message)


def test_one_byte_over_limit():
    data = make_pdf()
    exc = refused("big.pdf", data + b"\x00" * (LIMIT - len(data) + 1))
    assert exc.code == "too_large"
    assert "big.pdf" in str(exc.message)
    assert "10 MB" in str(exc.message)


def test_corrupt_zip():
    good = make_docx()
    refused("a.docx", good[: len(good) // 2])  # truncated: no central directory
    # Flip bytes inside the compressed [Content_Types].xml.
    bad = bytearray(good)
    start = 30 + len("[Content_Types].xml")
    for i in range(start + 5, start + 40):
        bad[i] ^= 0xFF
    refused("a.docx", bytes(bad))
    refused("a.docx", b"PK\x03\x04" + b"\x00" * 100)


def test_zip_bomb_uncompressed_size(monkeypatch):
    # A valid docx plus a highly compressible member; lower the cap rather
    # than inflating 100 MB in a unit test.
    data = make_docx(extra={"word/media/zeros.bin": b"\x00" * (2 * 1024 * 1024)})
    assert len(data) < 64 * 1024
    assert att.sniff(data) == att.DOCX  # under the real 100 MB cap
    monkeypatch.setattr(att, "MAX_ZIP_UNCOMPRESSED", 1024 * 1024)
    refused("bomb.docx", data)


def test_zip_bomb_declared_sizes():
    # Declared sizes alone are summed: many members claiming 1 MB each would
    # inflate past the cap, whatever they really hold.
    members = {f"word/media/m{i}.bin": b"\x00" * (1024 * 1024) for i in range(101)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml",
                    content_types_xml({"/word/document.xml": WORD_MAIN}))
        zf.writestr("word/document.xml", DOCUMENT_XML)
        for name, body in members.items():
            zf.writestr(name, body)
    data = buf.getvalue()
    assert len(data) < LIMIT
    refused("bomb.docx", data)


def test_too_many_members():
    extra = {f"customXml/item{i}.xml": "" for i in range(att.MAX_ZIP_MEMBERS)}
    refused("many.docx", make_docx(extra=extra))


def test_message_without_filename():
    with pytest.raises(AttachmentRefused) as info:
        att.sniff(b"<svg/>")
    assert "Accepted" in str(info.value)


# --- safe_filename --------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\win.ini", "win.ini"),
    ("报告.pdf", "报告.pdf"),
    ("C:\\Users\\张三\\桌面\\合同 2024.docx", "合同 2024.docx"),
    (".htaccess", "htaccess"),
    ("...", "attachment"),
    ("", "attachment"),
    ("a/b/", "attachment"),
    ("bad\x00na\x1fme\x7f.pdf", "badname.pdf"),
    ("evil\u202egpj.exe", "evilgpj.exe"),
    ("  report.pdf  ", "report.pdf"),
])
def test_safe_filename(raw, expected):
    assert att.safe_filename(raw) == expected


def test_safe_filename_long_keeps_extension():
    name = "报" * 300 + ".xlsx"
    out = att.safe_filename(name)
    assert len(out) == 120
    assert out.endswith(".xlsx")
    assert out.startswith("报")


def test_safe_filename_long_without_extension():
    out = att.safe_filename("a" * 300)
    assert out == "a" * 120


# --- store / path_of / remove --------------------------------------------

def test_store_round_trip(tmp_path):
    upload_dir = str(tmp_path / "uploads" / "nested")
    data = make_pdf()
    name, digest = att.store(upload_dir, data)
    assert len(name) == 32 and all(c in "0123456789abcdef" for c in name)
    assert digest == hashlib.sha256(data).hexdigest()
    path = att.path_of(upload_dir, name)
    with open(path, "rb") as fh:
        assert fh.read() == data
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.listdir(upload_dir) == [name]  # no temp file left behind

    other, _ = att.store(upload_dir, data)
    assert other != name

    att.remove(upload_dir, name)
    assert not os.path.exists(path)
    att.remove(upload_dir, name)  # already gone: no error
    att.remove(upload_dir, "../../etc/passwd")  # invalid: no error


@pytest.mark.parametrize("bad", [
    "../../etc/passwd",
    "0" * 31,
    "0" * 33,
    "g" * 32,
    "A" * 32,
    "0" * 32 + "\n",
    "0" * 16 + "/" + "0" * 15,
    "",
    None,
])
def test_path_of_refuses(tmp_path, bad):
    with pytest.raises(ValueError):
        att.path_of(str(tmp_path), bad)


def test_path_of_accepts(tmp_path):
    assert att.path_of(str(tmp_path), "0123456789abcdef" * 2) == os.path.join(
        str(tmp_path), "0123456789abcdef" * 2)
