"""Checking and storing uploaded attachments.

An upload is judged by its bytes alone: the name the user gave it and the
Content-Type the browser declared are never trusted. Accepted are PDF, PNG,
JPEG and the three Office Open XML formats (.docx, .xlsx, .pptx), the latter
checked inside the zip. Files are stored under a random name with no
extension; the user's (cleaned) name is kept only for display.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from urllib.parse import quote

from flask_babel import lazy_gettext as _l

# Limits on the zip container of Office files (module constants so that tests
# can lower them).
MAX_ZIP_UNCOMPRESSED = 100 * 1024 * 1024
MAX_ZIP_MEMBERS = 5000
# [Content_Types].xml is a few kilobytes in practice.
MAX_CONTENT_TYPES_BYTES = 1024 * 1024

MAX_NAME_CHARS = 120
FALLBACK_NAME = "attachment"

PDF = ("application/pdf", ".pdf")
PNG = ("image/png", ".png")
JPEG = ("image/jpeg", ".jpg")
DOCX = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
XLSX = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
PPTX = ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx")

# (main part, content type the main part must be declared with, result)
_OOXML = (
    ("word/document.xml",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
     DOCX),
    ("xl/workbook.xml",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
     XLSX),
    ("ppt/presentation.xml",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
     PPTX),
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_STORED_NAME = re.compile(r"[0-9a-f]{32}")
# An upload is written under a temporary name first (store); one a crash left behind is
# swept by the worker (services/orphan_files.py), as is a stored file no row holds.
TEMP_PREFIX, TEMP_SUFFIX = ".upload-", ".tmp"
# Characters that Windows refuses in file names; replaced so that a download
# keeps a usable name.
_RESERVED = set('<>:"|?*')


class AttachmentRefused(Exception):
    """An upload that is not accepted; ``message`` is a lazy, translatable string.

    ``code`` says why, for logs and tests: "empty", "too_large" or "type".
    """

    def __init__(self, message, code: str = "type"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


def _refuse_type(filename: str) -> AttachmentRefused:
    return AttachmentRefused(
        _l(
            "“%(name)s” is not an accepted file type. Accepted: PDF, PNG, JPEG, "
            "Word, Excel, PowerPoint (.docx, .xlsx, .pptx).",
            name=safe_filename(filename),
        ),
        "type",
    )


def _format_mb(max_bytes: int) -> str:
    mb = max_bytes / (1024 * 1024)
    return f"{mb:.0f}" if mb == int(mb) else f"{mb:.1f}"


def check(filename: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """Refuse empty or oversized files, then return ``sniff(data)``."""
    if not data:
        raise AttachmentRefused(
            _l("“%(name)s” is empty.", name=safe_filename(filename)), "empty")
    if len(data) > max_bytes:
        raise AttachmentRefused(
            _l("“%(name)s” is larger than the limit of %(limit)s MB.",
               name=safe_filename(filename), limit=_format_mb(max_bytes)),
            "too_large")
    return sniff(data, filename)


def sniff(data: bytes, filename: str = "") -> tuple[str, str]:
    """Return (content_type, extension) judged from the content alone.

    Raises AttachmentRefused for anything not accepted; ``filename`` only
    goes into the message.
    """
    data = bytes(data)
    if data.startswith(b"%PDF-"):
        return PDF
    if (data.startswith(_PNG_SIGNATURE)
            and data[8:12] == b"\x00\x00\x00\x0d" and data[12:16] == b"IHDR"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    # A zip that starts at byte 0; zipfile alone would also accept data with a
    # zip appended at the end (an HTML/zip polyglot, say).
    if data.startswith(b"PK\x03\x04"):
        try:
            result = _sniff_ooxml(data)
        except Exception:  # BadZipFile, zlib.error, EOFError, ParseError, ...
            result = None
        if result is not None:
            return result
    raise _refuse_type(filename)


def _sniff_ooxml(data: bytes) -> tuple[str, str] | None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            return None
        if sum(i.file_size for i in infos) > MAX_ZIP_UNCOMPRESSED:
            return None
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):  # which of the duplicates counts?
            return None
        present = set(names)
        if "[Content_Types].xml" not in present:
            return None
        main = [entry for entry in _OOXML if entry[0] in present]
        if len(main) != 1:
            return None
        part, content_type, result = main[0]
        ct_info = zf.getinfo("[Content_Types].xml")
        if ct_info.file_size > MAX_CONTENT_TYPES_BYTES:
            return None
        with zf.open(ct_info) as fh:
            xml = fh.read(MAX_CONTENT_TYPES_BYTES + 1)
        if len(xml) > MAX_CONTENT_TYPES_BYTES:
            return None
        # No DTDs: nothing legitimate needs them and they enable entity bombs.
        if b"<!DOCTYPE" in xml.upper() or b"<!ENTITY" in xml.upper():
            return None
        root = ET.fromstring(xml)  # nosec B314  # DTDs and entities refused just above, size bounded by MAX_CONTENT_TYPES_BYTES
        if root.tag != f"{_CT_NS}Types":
            return None
        want = "/" + part.lower()
        for el in root.iter(f"{_CT_NS}Override"):
            # Part names compare case-insensitively in OPC.
            if ((el.get("PartName") or "").lower() == want
                    and (el.get("ContentType") or "").strip() == content_type):
                return result
        return None


def safe_filename(name: str) -> str:
    """A display name: no path, no control characters, no leading dots."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        "_" if c in _RESERVED else c
        for c in name
        if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
    )
    name = name.strip().lstrip(".").strip()
    name = name.rstrip(". ")  # Windows drops these anyway.
    if not name:
        return FALLBACK_NAME
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            ext = "." + ext
            name = stem[: MAX_NAME_CHARS - len(ext)].rstrip(". ") + ext
        else:
            name = name[:MAX_NAME_CHARS].rstrip(". ")
        if not name.lstrip("."):
            return FALLBACK_NAME
    return name


# Extensions a download may keep, by detected type; the first is the one given otherwise.
_EXTENSIONS = {PDF[0]: (".pdf",), PNG[0]: (".png",), JPEG[0]: (".jpg", ".jpeg"), DOCX[0]: (".docx",),
               XLSX[0]: (".xlsx",), PPTX[0]: (".pptx",)}
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()+-]+")


def download_name(filename: str, content_type: str) -> str:
    """The name a download is saved under: the user's, with the extension of the detected type.

    The browser and the desktop open a saved file by its extension, so a PDF/HTML polyglot
    uploaded as "poly.html" must be saved as "poly.pdf", never as HTML (which would run its
    script). The record keeps the name the user gave.
    """
    name = safe_filename(filename)
    allowed = _EXTENSIONS.get(content_type, (".bin",))
    stem, dot, ext = name.rpartition(".")
    if dot and stem and "." + ext.lower() in allowed:
        return name
    return (stem if dot and stem else name) + allowed[0]


def content_disposition(name: str) -> dict:
    """Content-Disposition parameters for `name`: an ASCII filename, and filename* when it is not ASCII."""
    try:
        name.encode("ascii")
        return {"filename": name}
    except UnicodeEncodeError:
        pass
    stem, dot, ext = name.rpartition(".")
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    plain = _ASCII_UNSAFE.sub("_", plain).strip(" ._") or FALLBACK_NAME
    return {"filename": plain + dot + ext, "filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")}


def path_of(upload_dir: str, stored_name: str) -> str:
    """The path of a stored file; refuses anything but a 32-hex-digit name."""
    if not isinstance(stored_name, str) or not _STORED_NAME.fullmatch(stored_name):
        raise ValueError("invalid stored attachment name")
    return os.path.join(upload_dir, stored_name)


def store(upload_dir: str, data: bytes) -> tuple[str, str]:
    """Write data under a random name; return (stored_name, sha256 hex)."""
    os.makedirs(upload_dir, mode=0o750, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    stored_name = secrets.token_hex(16)
    final = path_of(upload_dir, stored_name)
    fd, tmp = tempfile.mkstemp(dir=upload_dir, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, final)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return stored_name, digest


def is_stored_name(name: str) -> bool:
    return bool(_STORED_NAME.fullmatch(name))


def is_temporary_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def remove(upload_dir: str, stored_name: str) -> None:
    """Delete a stored file if it is there; never raises."""
    try:
        os.remove(path_of(upload_dir, stored_name))
    except (OSError, ValueError):
        pass
