"""What every page shares: the user loader, error pages, template helpers."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from .extensions import db, login_manager
from .labels import label
from .models import User
from .provisional import deadline_note, forget_loaded_years, ticket_note
from .timeutil import now, to_local
from .workdays import level


@login_manager.user_loader
def load_user(token: str):
    # The cookies carry the user's session token (User.get_id), never the numeric id: a forged
    # {"_user_id": "1"} finds nobody, and a rotated token ends every older cookie.
    user = db.session.scalar(db.select(User).filter_by(session_token=token)) if token else None
    return user if user is not None and user.active else None


def _level_labels():
    from .labels import table

    return table("level")


def fmt_time(at, with_time: bool = True) -> str:
    """A stored UTC time as Shanghai wall-clock text."""
    local = to_local(at)
    if local is None:
        return ""
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def fmt_due(at, with_time: bool = True) -> str:
    """A due time: 24:00 of the last day, not 00:00 of the next (how a deadline is read)."""
    from datetime import timedelta

    local = to_local(at)
    if local is None:
        return ""
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        day = (local - timedelta(days=1)).strftime("%Y-%m-%d")
        return f"{day} 24:00" if with_time else day
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def fmt_iso_due(text) -> str:
    """A due time stored as text in an event, shown like fmt_due."""
    from datetime import datetime

    if not text:
        return ""
    try:
        return fmt_due(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ"))
    except (TypeError, ValueError):
        return str(text)


def fmt_iso(text) -> str:
    """A UTC time stored as text in an event ("...Z") as Shanghai wall-clock text."""
    from datetime import datetime

    if not text:
        return ""
    try:
        at = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except (TypeError, ValueError):
        return str(text)
    return fmt_time(at)


def meeting_list_name():
    """The weekly meeting list's one name (services.meeting.LIST_NAME), for the navigation and its pages."""
    from .services.meeting import LIST_NAME

    return LIST_NAME


def init_app(app) -> None:
    labels = _level_labels()

    @app.before_request
    def fresh_locale():
        # Flask-Babel caches the locale on the app context; where one app context
        # serves several requests (tests, the CLI), each request chooses anew.
        from flask_babel import refresh

        refresh()
        forget_loaded_years()

    @app.context_processor
    def helpers():
        locale = str(get_locale() or "zh")
        return {
            "locale": locale,
            "state_label": lambda s: label("state", s),
            "action_label": lambda a: label("action", a),
            "level_of": lambda t: level(now(), t.yellow_at, t.due_at, t.red3_at),
            "level_label": lambda lv: labels.get(lv, ""),
            "fmt_time": fmt_time,
            "fmt_iso": fmt_iso,
            "fmt_due": fmt_due,
            "fmt_iso_due": fmt_iso_due,
            # "provisional: ..." next to a due time in a year whose schedule is not loaded.
            "deadline_note": deadline_note,
            "ticket_note": ticket_note,
            "current_user": current_user,
            "unread_count": _unread,
            "meeting_list_name": meeting_list_name(),
        }

    @app.before_request
    def refuse_nul():
        """No NUL character reaches a view: PostgreSQL refuses NUL in text (a query with one raises).

        In a query string or a JSON body: 400, before any view reads it. In a form, where a
        refusal would lose what the user typed, it is dropped from the values (no form of this site
        has a use for one, and no browser sends one from a text field). Path parts are refused by
        the routes' converter (tickets/routing.py).
        """
        if _has_nul(request):
            return _error_page(400, _("The request holds a character that is not allowed (NUL). "
                                      "Nothing was changed."))
        _drop_nul_from_form(request)

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return _error_page(400, _("The form expired or was not sent from this site. Please reload and try again."))

    @app.errorhandler(403)
    def forbidden(e):
        return _error_page(403, _("You may not do this."))

    @app.errorhandler(404)
    def not_found(e):
        return _error_page(404, _("Not found."))

    @app.errorhandler(413)
    def too_large(e):
        # Raised while the form is read, before any view writes: nothing was saved. Either the
        # whole body is over MAX_CONTENT_LENGTH, or one text field over MAX_FORM_MEMORY_SIZE.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length is not None and request.content_length <= limit:
            return _error_page(413, _("The form is too large: a field holds more than any form of this site "
                                      "accepts."))
        return _error_page(413, _("The upload is too large: at most 5 files of 10 MB each."))

    @app.errorhandler(500)
    def server_error(e):
        return _error_page(500, _("Something went wrong on our side; nothing was changed. Please try again."))


def _among(multi) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values if isinstance(v, str))
               for key, values in multi.lists())


def _has_nul(req) -> bool:
    if _among(req.args):
        return True
    if req.is_json:
        data = req.get_data(cache=True)
        return b"\x00" in data or b"\\u0000" in data
    return False


def _drop_nul_from_form(req) -> None:
    if req.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data") or not _among(req.form):
        return
    from werkzeug.datastructures import ImmutableMultiDict

    clean = [(k.replace("\x00", ""), v.replace("\x00", "") if isinstance(v, str) else v)
             for k, v in req.form.items(multi=True)]
    req.__dict__["form"] = ImmutableMultiDict(clean)  # what request.form (a cached property) returns from now on


def _unread() -> int:
    from .inbox.routes import unread_count

    if not current_user or not current_user.is_authenticated:
        return 0
    return unread_count(current_user)


def _error_page(status: int, message: str):
    from .api.problems import is_api_request, problem

    if is_api_request():
        return problem(status)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status
