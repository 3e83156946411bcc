"""/healthz and /readyz for a load balancer or an orchestrator: public, no session, never cached.

/healthz says only that this process answers (it touches nothing: a database outage must not
make every web process look dead and be restarted). /readyz says whether this process can serve:
a `SELECT 1` on the database and a PING to Redis, each within READY_TIMEOUT_SECONDS.
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app

bp = Blueprint("health", __name__)


def _answer(body: str, status: int, mimetype: str):
    resp = current_app.response_class(body, status=status, mimetype=mimetype)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/healthz")
def healthz():
    """The process is up."""
    return _answer("ok", 200, "text/plain")


def _database_ok(timeout: float) -> bool:
    from sqlalchemy import text

    from .extensions import db

    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # In milliseconds; only this short-lived transaction is bounded.
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not ready"; the log says which
        current_app.logger.warning("readyz: the database did not answer", exc_info=True)
        return False


def _redis_ok(timeout: float) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=timeout,
                                      socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        current_app.logger.warning("readyz: Redis did not answer")
        return False


@bp.route("/readyz")
def readyz():
    """200 when the database and Redis answer, else 503 naming the one that did not."""
    timeout = current_app.config["READY_TIMEOUT_SECONDS"]
    checks = {"database": "ok" if _database_ok(timeout) else "unavailable",
              "redis": "ok" if _redis_ok(timeout) else "unavailable"}
    status = 200 if all(v == "ok" for v in checks.values()) else 503
    return _answer(json.dumps(checks), status, "application/json")


def _nobody():
    """First of the app's hooks: a health check has no user, so nothing loads one from the database."""
    from flask import g, request

    if request.blueprint == bp.name:
        g._login_user = current_app.login_manager.anonymous_user()


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _nobody)
