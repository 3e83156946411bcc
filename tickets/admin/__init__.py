"""Admin pages: users, firms, departments, categories, the calendar, the XLSX import."""
from flask import Blueprint, abort
from flask_login import current_user

from ..extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def only_admins():
    """Every admin route, whatever its method, is for users with the role admin only."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has("admin"):
        abort(403)


from . import (calendar_routes, import_routes, reference_routes, routes, schedule_routes,  # noqa: E402,F401
               security_routes, worker_routes)
