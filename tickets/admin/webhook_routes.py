"""Admin: webhook subscribers, their secret (shown once), their delivery log and the replay button.

Every POST here is checked for its CSRF token by CSRFProtect (tickets/extensions.py), as all forms are.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..labels import choices
from ..models import WebhookSubscriber
from ..services import subscribers as service
from ..services.common import parse_id
from ..services.errors import InvalidInput, Refused
from ..services.tokens import integrations
from ..services.webhooks import EVENTS, allowed_hosts
from . import bp
from .forms import WebhookForm, attach_errors


def _secret_page(sub: WebhookSubscriber, secret: str, created: bool):
    """The one page that shows a secret: rendered from the POST, never stored for later, never cached."""
    resp = render_template("admin/webhook_secret.html", sub=sub, secret=secret, created=created)
    return resp, 200, {"Cache-Control": "no-store"}


@bp.route("/webhooks")
def webhooks():
    return render_template("admin/webhooks.html", subscribers=service.list_subscribers(), counts=service.counts(),
                           hosts=sorted(allowed_hosts()))


@bp.route("/webhooks/new", methods=["GET", "POST"])
def webhook_new():
    return _webhook_page(None)


@bp.route("/webhooks/<int:subscriber_id>", methods=["GET", "POST"])
def webhook_edit(subscriber_id: int):
    return _webhook_page(db.get_or_404(WebhookSubscriber, subscriber_id))


def _webhook_page(sub: WebhookSubscriber | None):
    data = dict(name=sub.name, url=sub.url, events=sub.event_codes, active=sub.active,
                service_id=str(sub.service_id or "")) if sub else None
    form = WebhookForm(data=data)
    form.events.choices = choices("webhook_event", EVENTS)
    form.service_id.choices = [("", _("Every firm’s"))] + [
        (str(s.id), _("Only the firms of the integration %(name)s", name=s.name)) for s in integrations()]
    general: list[str] = []
    if form.validate_on_submit():
        fields = dict(name=form.name.data, url=form.url.data, events=form.events.data, active=form.active.data,
                      service_id=form.service_id.data)
        try:
            if sub is None:
                saved = service.create_subscriber(current_user, **fields)
                return _secret_page(saved, saved.secret, created=True)
            service.update_subscriber(sub, **fields)
        except InvalidInput as e:
            db.session.rollback()
            general = attach_errors(form, e.errors) if e.errors else [str(e.message)]
        else:
            flash(_("Webhook %(name)s saved.", name=sub.name))
            return redirect(url_for("admin.webhooks"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/webhook_form.html", form=form, sub=sub, general=general,
                           hosts=sorted(allowed_hosts())), status


@bp.route("/webhooks/<int:subscriber_id>/secret", methods=["POST"])
def webhook_secret(subscriber_id: int):
    """Replace the signing secret and show the new one, once."""
    sub = db.get_or_404(WebhookSubscriber, subscriber_id)
    return _secret_page(sub, service.renew_secret(sub), created=False)


@bp.route("/webhooks/<int:subscriber_id>/deliveries")
def webhook_log(subscriber_id: int):
    sub = db.get_or_404(WebhookSubscriber, subscriber_id)
    page = service.delivery_log(sub, before=parse_id(request.args.get("before")))
    return render_template("admin/webhook_log.html", sub=sub, page=page, replayable=service.REPLAYABLE)


@bp.route("/webhooks/<int:subscriber_id>/deliveries/<int:outbox_id>/replay", methods=["POST"])
def webhook_replay(subscriber_id: int, outbox_id: int):
    """Put a delivered or failed delivery back in the queue, to be sent again as it was."""
    sub = db.get_or_404(WebhookSubscriber, subscriber_id)
    try:
        service.replay(sub, outbox_id)
    except Refused as e:
        flash(str(e.message), "error")
    else:
        flash(_("The delivery goes out again shortly."))
    return redirect(url_for("admin.webhook_log", subscriber_id=sub.id))
