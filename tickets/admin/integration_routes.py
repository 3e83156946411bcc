"""Integrations: the service accounts of the platforms around the park, their firms and service tokens."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import ApiToken, User
from ..services import tokens
from ..services.errors import InvalidInput
from ..timeutil import now
from . import bp
from .forms import IntegrationForm, ServiceTokenForm


def _service(service_id: int) -> User:
    user = db.session.get(User, service_id)
    if user is None or not user.is_service:
        abort(404)
    return user


def _errors_into(form, e: InvalidInput) -> None:
    for key, message in e.errors.items():
        if key in form:
            form[key].errors = [*form[key].errors, str(message)]


@bp.route("/integrations")
def integrations():
    rows = [(s, tokens.served_firms(s), tokens.service_tokens(s)) for s in tokens.integrations()]
    return render_template("admin/integrations.html", rows=rows, at=now())


@bp.route("/integrations/new", methods=["GET", "POST"])
def integration_new():
    form = IntegrationForm()
    if form.validate_on_submit():
        try:
            service = tokens.save_integration(current_user._get_current_object(), None, form.name.data,
                                              form.firms.data, True)
        except InvalidInput as e:
            _errors_into(form, e)
        else:
            flash(_("Integration “%(name)s” saved. Make a service token for it below.", name=service.name))
            return redirect(url_for("admin.integration_edit", service_id=service.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/integration_form.html", form=form, service=None), status


def _edit_page(service, form, token_form, status=200, new_token=None):
    return render_template("admin/integration_form.html", form=form, service=service, token_form=token_form,
                           firms=tokens.served_firms(service), tokens=tokens.service_tokens(service),
                           new_token=new_token, at=now()), status


@bp.route("/integrations/<int:service_id>", methods=["GET", "POST"])
def integration_edit(service_id: int):
    service = _service(service_id)
    data = None if request.method == "POST" else dict(
        name=service.name, active=service.active,
        firms="\n".join(f.credit_code for f in tokens.served_firms(service)))
    form = IntegrationForm(data=data)
    if form.validate_on_submit():
        try:
            tokens.save_integration(current_user._get_current_object(), service, form.name.data, form.firms.data,
                                    form.active.data)
        except InvalidInput as e:
            _errors_into(form, e)
        else:
            flash(_("Integration “%(name)s” saved.", name=service.name))
            return redirect(url_for("admin.integration_edit", service_id=service.id))
    status = 400 if request.method == "POST" else 200
    return _edit_page(service, form, ServiceTokenForm(formdata=None), status)


@bp.route("/integrations/<int:service_id>/tokens", methods=["POST"])
def integration_token_new(service_id: int):
    service = _service(service_id)
    token_form = ServiceTokenForm()
    form = IntegrationForm(formdata=None, data=dict(
        name=service.name, active=service.active,
        firms="\n".join(f.credit_code for f in tokens.served_firms(service))))
    if not token_form.validate_on_submit():
        return _edit_page(service, form, token_form, 400)
    scopes = ["read", "write"] if token_form.write.data else ["read"]
    try:
        _token, raw = tokens.create_service_token(current_user._get_current_object(), service, token_form.name.data,
                                                  scopes, token_form.lifetime.data)
    except InvalidInput as e:
        _errors_into(token_form, e)
        return _edit_page(service, form, token_form, 400)
    return _edit_page(service, form, ServiceTokenForm(formdata=None), 201, new_token=raw)


@bp.route("/integrations/<int:service_id>/tokens/<int:token_id>/revoke", methods=["POST"])
def integration_token_revoke(service_id: int, token_id: int):
    service = _service(service_id)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != service.id:
        abort(404)
    tokens.revoke(token, current_user._get_current_object())
    flash(_("The token “%(name)s” was revoked: it opens nothing any more.", name=token.name))
    return redirect(url_for("admin.integration_edit", service_id=service.id))
