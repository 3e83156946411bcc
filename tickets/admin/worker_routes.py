"""The admin's view of the worker: last sweep, outbox by channel, queue depth, retries."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_babel import gettext as _

from ..services.common import parse_id
from ..services.outbox import retry_failed
from ..services.worker_status import snapshot
from . import bp


@bp.route("/worker")
def worker():
    return render_template("admin/worker.html", snap=snapshot())


@bp.route("/worker/retry", methods=["POST"])
def worker_retry():
    """Put failed deliveries back in the queue: one row, one channel, or all."""
    ids = [i for i in map(parse_id, request.form.getlist("id")) if i]
    channel = request.form.get("channel") or None
    if channel not in (None, "inapp", "email", "webhook"):
        channel = None
    n = retry_failed(ids or None, channel, by=current_user.id)
    flash(_("%(n)d failed deliveries queued again.", n=n))
    return redirect(url_for("admin.worker"))
