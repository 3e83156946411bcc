"""Errors as application/problem+json (RFC 9457), with the message in English and Chinese."""
from __future__ import annotations

import json

from flask import current_app, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from . import PREFIX

MEDIA_TYPE = "application/problem+json"
LANGUAGES = ("en", "zh")
# The code and English title of each status the API answers with.
STATUS = {
    400: ("invalid_input", "Invalid input"),
    401: ("unauthenticated", "Unauthenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too_large", "Request too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("invalid_input", "Invalid input"),
    429: ("too_many_requests", "Too many requests"),
    500: ("server_error", "Server error"),
    503: ("unavailable", "Service unavailable"),
}
MESSAGES = {
    400: _l("The request could not be read."),
    401: _l("A valid API token is required (Authorization: Bearer …)."),
    403: _l("Your token may not do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("This request was changed by someone else meanwhile. Please check and try again."),
    413: _l("The request is too large."),
    415: _l("Please send JSON (Content-Type: application/json)."),
    429: _l("Too many refused tokens from this address. Please try again later."),
    500: _l("Something went wrong on our side; nothing was changed. Please try again."),
}


def both(text) -> dict[str, str]:
    """A lazy string (or a label function's result) in each language; a dict of both stays as it is."""
    if isinstance(text, dict):
        return text
    out = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            out[lang] = str(text() if callable(text) else text)
    return out


def is_api_request() -> bool:
    return request.path.startswith(PREFIX) or request.path == PREFIX.rstrip("/")


def problem(status: int, message=None, errors: dict | None = None, code: str | None = None, headers=None):
    """A problem response: `message` and each of `errors` (field -> lazy string) in both languages."""
    default_code, title = STATUS.get(status, ("error", "Error"))
    messages = both(message if message is not None else MESSAGES.get(status, MESSAGES[500]))
    body = {"type": f"urn:bihuan:problem:{code or default_code}", "title": title, "status": status,
            "code": code or default_code, "detail": messages["en"], "messages": messages,
            "instance": request.path}
    if errors:
        body["errors"] = {str(field): msg if isinstance(msg, dict) else both(msg) for field, msg in errors.items()}
    resp = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def init_app(app) -> None:
    @app.after_request
    def api_no_store(resp):
        # An answer of the API holds a firm's requests (or the specification, which is cheap to send
        # again): no cache keeps it. Swagger UI's own files stay cacheable.
        if is_api_request() and request.endpoint != "api.docs_asset":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(HTTPException)
    def api_http_error(e):
        # Only the API answers in JSON; every other page keeps its own handlers and Flask's defaults.
        if not is_api_request() or e.code is None:
            return e
        headers = {"Allow": ", ".join(e.valid_methods)} if getattr(e, "valid_methods", None) else None
        return problem(e.code, headers=headers)
