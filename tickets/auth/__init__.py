from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import help, routes, sessions, token_routes  # noqa: E402,F401

# Every request of the app, not only this blueprint's: the idle timeout and the forced change.
bp.before_app_request(sessions.check_request)
