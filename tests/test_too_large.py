"""A request body over the limit: 413, a page that says so in the user's language, nothing written.

The real limit (config.MAX_CONTENT_LENGTH: five 10 MB files and the form) is posted over by
a byte, to the firm's request form and a ticket action, with CSRF off and on (CSRFProtect
reads the form before the view does). A single text field larger than any form of ours
(Flask's MAX_FORM_MEMORY_SIZE) is refused the same way, with its own message.
"""
from __future__ import annotations

import html
import os

import pytest
from sqlalchemy import text

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.reference import ensure_reference_data

from .conftest import PASSWORD, Park, accept, drop_everything, file_request

BOUNDARY = "----bihuan-413"
UPLOAD_MESSAGE = {"en": "The upload is too large: at most 5 files of 10 MB each.",
                  "zh": "上传内容过大：最多5个文件，每个不超过 10 MB。"}
FIELD_MESSAGE = "The form is too large: a field holds more than any form of this site accepts."


def multipart(fields: dict, file_bytes: int = 0) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if file_bytes:
        head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; filename="big.pdf"\r\n'
                "Content-Type: application/pdf\r\n\r\n").encode()
        parts.append(head + b"%PDF-1.4\n" + b"0" * (file_bytes - 9) + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


def over_the_limit(app, fields: dict) -> bytes:
    """A multipart body exactly one byte longer than MAX_CONTENT_LENGTH."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    base = len(multipart(fields, file_bytes=10))
    body = multipart(fields, file_bytes=10 + limit + 1 - base)
    assert len(body) == limit + 1
    return body


def written(app) -> dict:
    db.session.expire_all()
    counts = {t.name: db.session.execute(text(f"SELECT COUNT(*) FROM {t.name}")).scalar()
              for t in db.metadata.sorted_tables}
    upload_dir = app.config["UPLOAD_DIR"]
    counts["files"] = sorted(os.listdir(upload_dir)) if os.path.isdir(upload_dir) else []
    return counts


def request_fields(park) -> dict:
    return dict(category_id=str(park.category("labor").id), title="招工难", description="缺少 30 名操作工",
                urgency="normal", contact_name="王经理", contact_phone="13800138000",
                form_token="A" * 32)


def post_body(client, url: str, body: bytes):
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")


def check_refused(app, resp, lang: str, message: str) -> None:
    assert resp.status_code == 413
    page = html.unescape(resp.get_data(as_text=True))
    assert message in page
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_request_form_over_the_limit(app, park, login, lang):
    park.firm_user.language = lang
    db.session.commit()
    client = login(park.firm_user)
    before = written(app)
    resp = post_body(client, "/firm/requests/new", over_the_limit(app, request_fields(park)))
    check_refused(app, resp, lang, UPLOAD_MESSAGE[lang])
    assert written(app) == before
    # One byte less is no 413: the limit is where the config says.
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = multipart(request_fields(park), file_bytes=10)
    body = multipart(request_fields(park), file_bytes=10 + limit - len(body))
    assert len(body) == limit
    assert post_body(client, "/firm/requests/new", body).status_code != 413


def test_ticket_action_over_the_limit(app, park, login):
    park.hr_official.language = "en"
    db.session.commit()
    t = file_request(park)
    accept(park, t)
    client = login(park.hr_official)
    before = written(app)
    fields = {"note-text": "附件见下", "note-visibility": "public", "note-version": str(t.version)}
    resp = post_body(client, f"/tickets/{t.number}/do/note", over_the_limit(app, fields))
    check_refused(app, resp, "en", UPLOAD_MESSAGE["en"])
    assert written(app) == before


def test_a_field_larger_than_any_form(app, park, login):
    park.firm_user.language = "en"
    db.session.commit()
    client = login(park.firm_user)
    before = written(app)
    big = app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000
    body = multipart(dict(request_fields(park), description="缺" * (big // 3 + 10)))
    assert len(body) < app.config["MAX_CONTENT_LENGTH"]
    resp = post_body(client, "/firm/requests/new", body)
    check_refused(app, resp, "en", FIELD_MESSAGE)
    assert written(app) == before


@pytest.fixture
def csrf_app(tmp_path):
    class Cfg(TestingConfig):
        WTF_CSRF_ENABLED = True
        UPLOAD_DIR = str(tmp_path / "uploads")
        SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'csrf.db'}")

    app = create_app(Cfg)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_reference_data()
        yield app
        db.session.remove()
        drop_everything()


def test_over_the_limit_with_csrf_on(csrf_app):
    import re

    park = Park()
    park.firm_user.language = "en"
    db.session.commit()
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": park.firm_user.username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    page = client.get("/firm/requests/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    before = written(csrf_app)
    resp = post_body(client, "/firm/requests/new",
                     over_the_limit(csrf_app, dict(request_fields(park), csrf_token=token)))
    check_refused(csrf_app, resp, "en", UPLOAD_MESSAGE["en"])
    assert written(csrf_app) == before
