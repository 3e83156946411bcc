from flask import Blueprint

bp = Blueprint("meeting", __name__, url_prefix="/meeting")

from . import routes  # noqa: E402,F401
