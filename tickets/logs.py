"""Logs: one JSON object a line in production (LOG_FORMAT=json), with the request's id.

Each request gets an id: the incoming X-Request-ID when it is a sane token (a reverse proxy's,
so that its log and ours meet), else a new one; it is sent back in X-Request-ID and carried by
every line logged while the request runs, and by the one line that closes it (method, path,
status, duration_ms, user id). Never logged: a password, a token, a cookie, a query string
(a `next=` or a search may hold what someone typed), a form or a header other than the id.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEADER = "X-Request-ID"
ACCESS = logging.getLogger("bihuan.request")
# The fields a line may carry besides time, level, logger and message.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id")
_MARK = "_bihuan_handler"


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a sane token (<= 64 of A-Z a-z 0-9 . _ -), else a fresh one."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time (UTC, ISO 8601), level, logger, message, and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or current_request_id()
        if rid:
            out["request_id"] = rid
        for name in FIELDS[1:]:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: the time, level, logger, message and request id."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None) or current_request_id()
        return f"{line} [{rid}]" if rid else line


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (a test's capture, gunicorn's redirect)."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def configure(fmt: str, level: str = "INFO") -> None:
    """One handler on the root logger, in `fmt` ("json" or "text"); calling again replaces it."""
    unconfigure()
    root = logging.getLogger()
    handler = StdoutHandler()
    setattr(handler, _MARK, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())


def unconfigure() -> None:
    """Take this module's handler off the root logger again (the tests that installed it)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)


def _user_id():
    # Only a user already loaded for this request: logging never queries the database.
    user = g.get("_login_user")
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def configure_for(app: Flask) -> None:
    """The entry points (wsgi.py: gunicorn, `flask`, `make run`) call this: the factory leaves logging alone."""
    configure(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))
    from flask.logging import default_handler

    # The root handler writes the app's lines; Flask's own would write each twice.
    app.logger.removeHandler(default_handler)


def init_app(app: Flask) -> None:
    @app.before_request
    def start_request():
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def end_request(resp):
        rid = g.get("request_id")
        if rid is None:  # a request that failed before start_request
            rid = g.request_id = request_id_from(request.headers.get(HEADER))
        resp.headers[HEADER] = rid
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        ACCESS.info("%s %s %s", request.method, request.path, resp.status_code,
                    extra={"request_id": rid, "method": request.method, "path": request.path,
                           "status": resp.status_code, "duration_ms": duration, "user_id": _user_id()})
        return resp

    # First of the hooks, so that every line of the request carries the id (even the API's token check).
    app.before_request_funcs[None].remove(start_request)
    app.before_request_funcs[None].insert(0, start_request)
