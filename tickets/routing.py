"""The `int` URL converter of every route: a row id the database can hold, else 404.

Werkzeug's own `int` accepts any length ("9223372036854775808", 2^63) and Unicode
digits ("١"); the database then overflows (SQLite raises, PostgreSQL refuses a
bigint out of range) and the page is a 500. Registered in the factory under the
name `int`, before the blueprints, so every `<int:...>` (and any added later) gets it.
"""
from __future__ import annotations

from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError

from .services.common import MAX_ID


class TextConverter(UnicodeConverter):
    """A path part (`<name>`) without a NUL character, which PostgreSQL cannot compare: else no route."""

    def to_python(self, value: str) -> str:
        if "\x00" in value:
            raise ValidationError()
        return super().to_python(value)


class IdConverter(IntegerConverter):
    """1 to MAX_ID, ASCII digits only; anything else matches no route."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID, signed: bool = False):
        if signed:
            raise ValueError("ids are never negative")
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_ID)):  # before int(): no work on a megabyte of digits
            raise ValidationError()
        return super().to_python(value)
