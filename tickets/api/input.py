"""Reading a call's JSON into the web forms, so that the API validates exactly as the pages do."""
from __future__ import annotations

from flask import request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from .problems import LANGUAGES


class BadBody(Exception):
    """The body is not a JSON object of plain values; `errors` names the fields."""

    def __init__(self, message, errors=None):
        super().__init__(str(message))
        self.message, self.errors = message, errors or {}


def json_object() -> dict:
    """The body as a JSON object (an empty body is an empty object)."""
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise BadBody(_l("Please send JSON (Content-Type: application/json)."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadBody(_l("The body must be a JSON object."))
    return data


def formdata(data: dict, fields) -> MultiDict:
    """The named fields of `data` as a posted form would carry them; a list or object is refused."""
    out, errors = MultiDict(), {}
    for name in fields:
        value = data.get(name)
        if value is None or value is False:
            continue
        if value is True:
            out[name] = "y"
        elif isinstance(value, (int, float, str)):
            out[name] = str(value)
        else:
            errors[name] = _l("Please give a single value.")
    if errors:
        raise BadBody(next(iter(errors.values())), errors)
    return out


def validate(make_form) -> tuple[object, dict]:
    """The form filled from the call, and its errors in both languages ({} when it validates)."""
    errors: dict[str, dict[str, str]] = {}
    form = None
    for lang in LANGUAGES:
        with force_locale(lang):
            form = make_form()
            if not form.validate():
                for name, messages in form.errors.items():
                    errors.setdefault(name, {})[lang] = f"{form[name].label.text}: {messages[0]}"
    return form, errors
