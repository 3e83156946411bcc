from flask import Blueprint

bp = Blueprint("inspect", __name__, url_prefix="/inspect")

from . import routes  # noqa: E402,F401
