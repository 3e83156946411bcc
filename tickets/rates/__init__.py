from flask import Blueprint

bp = Blueprint("rates", __name__, url_prefix="/rates")

from . import routes  # noqa: E402,F401
