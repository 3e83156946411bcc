"""The help pages: how the loop works, one section per role, and the favicon every page links."""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user

from ..models.org import ROLES
from ..permissions import help_roles
from ..services.people import list_categories
from . import bp


def _limits() -> dict:
    """The deadlines a help page states, in working days, as configured and as the admin set them."""
    cfg = current_app.config
    locale = str(get_locale())
    return {
        "accept": cfg["ACCEPT_LIMIT_DAYS"],
        "feedback": cfg["FEEDBACK_LIMIT_DAYS"],
        "explanation": cfg["EXPLANATION_LIMIT_DAYS"],
        "handle": [(c.name(locale), c.limit_days) for c in list_categories() if c.active],
    }


def _render(shown: tuple[str, ...]):
    others = [r for r in help_roles(current_user) if r not in shown]
    return render_template("auth/help.html", shown=shown, others=others, limits=_limits())


@bp.route("/help")
def help():
    """How the loop works, for the roles this user holds."""
    return _render(tuple(r for r in ROLES if current_user.has(r)))


@bp.route("/help/<role>")
def help_role(role: str):
    """One role's help, for a user who may read it (permissions.help_roles)."""
    if role not in help_roles(current_user):
        abort(404)
    return _render((role,))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico where a page names no icon (a print page, a PDF)."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
