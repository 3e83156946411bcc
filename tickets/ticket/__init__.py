from flask import Blueprint

bp = Blueprint("ticket", __name__, url_prefix="/tickets")

from . import routes  # noqa: E402,F401
