"""Admin pages (placeholder until the admin module lands)."""
from flask import abort, render_template
from flask_login import current_user, login_required

from . import bp


@bp.before_request
@login_required
def only_admins():
    if not current_user.has("admin"):
        abort(403)


@bp.route("/")
def index():
    return render_template("admin/index.html")
