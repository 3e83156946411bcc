from flask import Blueprint

bp = Blueprint("firm", __name__, url_prefix="/firm")

from . import routes  # noqa: E402,F401
