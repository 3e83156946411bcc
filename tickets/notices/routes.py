"""Supervision notices: the inspectors' list, a notice's page and its printable layout.

Issuing, explaining and concluding are ticket actions (POST /tickets/<n>/do/<action>);
these pages only read.
"""
from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from ..extensions import login_manager
from ..models import SupervisionNotice
from ..permissions import can_view, may, may_explain, visibilities_for
from ..services.common import parse_id
from ..services.notice_document import document
from ..services.notices import LIST_FILTERS, by_number, list_counts, list_page
from . import bp

PAGE_SIZE = 50


def load_notice(number: str) -> SupervisionNotice:
    """The notice, for anyone who reads its ticket as staff; 404 for everyone else (the firm too)."""
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    notice = by_number(number)
    if notice is None:
        abort(404)
    ticket = notice.ticket
    if not can_view(current_user, ticket) or "internal" not in visibilities_for(current_user, ticket):
        abort(404)
    return notice


@bp.route("/")
def index():
    status = request.args.get("status", "")
    if status not in LIST_FILTERS:
        status = ""
    rows, cursor = list_page(status, parse_id(request.args.get("before")), PAGE_SIZE)
    return render_template("notices/list.html", notices=rows, status=status, cursor=cursor,
                           counts=list_counts(), statuses=LIST_FILTERS)


@bp.route("/<number>")
def view(number: str):
    notice = load_notice(number)
    may_answer = notice.status == "issued" and may_explain(current_user, notice)
    may_conclude = notice.status == "explained" and may(current_user, "conclude_notice", notice.ticket)
    return render_template("notices/view.html", n=notice, ticket=notice.ticket, may_answer=may_answer,
                           may_conclude=may_conclude)


@bp.route("/<number>/print")
def print_view(number: str):
    notice = load_notice(number)
    return render_template("notices/print.html", n=notice, ticket=notice.ticket,
                           doc=document(notice, str(get_locale() or "zh")))
