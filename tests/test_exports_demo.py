"""The exports of the whole demo park (every state, level and detour) read back: no internal code,
no JSON, and every field of every event in words, in both languages."""
from __future__ import annotations

import csv
import io
import re

import pytest
from flask_babel import force_locale, gettext

from tickets.demo import seed
from tickets.extensions import db
from tickets.models import Ticket, User
from tickets.services import exports as svc

from .test_exports import code_tables, codes_in


@pytest.fixture
def demo(app):
    seed(40, quiet=True)
    yield
    db.session.rollback()
    db.session.execute(db.update(Ticket).values(follows_id=None))
    db.session.commit()


def export_rows(kind: str, locale: str) -> list[list[str]]:
    inspector = db.session.scalars(db.select(User)).first()
    with force_locale(locale):
        exp = svc.start_export(inspector, svc.parse_request(kind, "csv", "2000-01-01", "2099-12-31"), locale)
        text = b"".join(svc.csv_chunks(exp)).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_demo_exports_in_words(demo, locale):
    codes = code_tables()
    for kind in ("ledger", "events"):
        rows = export_rows(kind, locale)
        assert len(rows) > 40
        assert {(r[0], cell) for r in rows for cell in r if codes_in(cell, codes)} == set()
        assert not [cell for r in rows for cell in r if cell.startswith(("{", "["))]
        assert "—" not in {cell for r in rows for cell in r}  # no code without a label
    details = [r[8] for r in export_rows("events", locale)[1:]]
    with force_locale(locale):
        other = gettext("Other")
    # Every field of every event has its label (an unknown one would read "Other: ...").
    assert not [d for d in details if re.search(rf"(^|[;；] ?){re.escape(other)}[:：]", d)]
    assert len({d.split(":")[0].split("：")[0] for d in details if d}) >= 8  # many kinds of event
