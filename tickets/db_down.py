"""A request whose database connection dropped gets a clear 503, never a 500.

PostgreSQL restarting (an upgrade, a failover) breaks every pooled connection. pool_pre_ping
(config.engine_options) replaces a dead connection when it is taken from the pool; a request
that fails anyway (the server is down, or went down during the request) is answered 503 with
Retry-After, in both languages (problem+json under /api/v1), and the pool is emptied so that the
next request opens fresh connections: once the server is back, the app serves again without a
restart. Nothing was written by the failed request: its transaction never committed.
"""
from __future__ import annotations

from flask import current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import exc

from .extensions import db

MESSAGE = _l("The database is not reachable at the moment; nothing was changed. Please try again in a "
             "few seconds.")


def is_connection_error(error: BaseException) -> bool:
    """A lost or refused database connection, as opposed to a query the database refused."""
    if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        return True
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)


def _forget_connections() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; its transaction with it
        pass
    db.session.remove()
    db.engine.dispose()


def unavailable(error: exc.DBAPIError):
    if not is_connection_error(error):
        raise error  # any other database error is a bug: the 500 handler answers
    current_app.logger.error("database unreachable: %s", type(error.orig or error).__name__)
    _forget_connections()
    # Nobody is signed in on this answer: the security headers and the page must not load the
    # user from the database that just failed.
    g._login_user = current_app.login_manager.anonymous_user()
    retry = str(current_app.config["DB_DOWN_RETRY_AFTER"])
    from .api.problems import both, is_api_request, problem

    if is_api_request():
        return problem(503, MESSAGE, code="database_unavailable", headers={"Retry-After": retry})
    messages = both(MESSAGE)
    if request.accept_mimetypes.best == "application/json":
        resp = current_app.json.response(error=messages["en"], messages=messages)
        resp.status_code = 503
    else:
        resp = current_app.make_response((render_template("db_down.html", messages=messages), 503))
    resp.headers["Retry-After"] = retry
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app) -> None:
    app.register_error_handler(exc.DBAPIError, unavailable)
