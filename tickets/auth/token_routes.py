"""The profile page's API tokens: make one (shown once), see their last use, revoke one."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import ApiToken
from ..services import tokens
from ..services.errors import InvalidInput
from ..timeutil import now
from . import bp
from .forms import TokenForm


def _page(form, status=200, new_token=None):
    user = current_user._get_current_object()
    return render_template("auth/tokens.html", form=form, tokens=tokens.personal_tokens(user),
                           new_token=new_token, api_docs=url_for("api.docs"), at=now()), status


@bp.route("/account/tokens", methods=["GET", "POST"])
def api_tokens():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, 400 if request.method == "POST" else 200)
    scopes = ["read", "write"] if form.write.data else ["read"]
    try:
        token, raw = tokens.create_personal(current_user._get_current_object(), form.name.data, scopes,
                                            form.lifetime.data)
    except InvalidInput as e:
        for key, message in e.errors.items():
            if key in form:
                form[key].errors = [*form[key].errors, str(message)]
        return _page(form, 400)
    # Shown on this answer only (never stored): the page is no-store like every signed-in page.
    return _page(TokenForm(formdata=None), 201, new_token=raw)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_api_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    # Another user's token does not exist for this one.
    if token is None or token.user_id != current_user.id or token.kind != "personal":
        abort(404)
    tokens.revoke(token, current_user._get_current_object())
    flash(_("The token “%(name)s” was revoked: it opens nothing any more.", name=token.name))
    return redirect(url_for("auth.api_tokens"))
