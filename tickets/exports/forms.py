from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from ..services.exports import FORMATS, KINDS


class ExportForm(FlaskForm):
    """The period, kind and format; the service checks the values (clear messages, nothing logged)."""

    first = StringField(_l("From (date, Beijing time)"), render_kw={"type": "date"})
    last = StringField(_l("To (date, Beijing time, inclusive)"), render_kw={"type": "date"})
    kind = SelectField(_l("What"), choices=[("ledger", _l("Ticket ledger (tickets created in the period)")),
                                            ("events", _l("Event log (events in the period)"))],
                       default=KINDS[0], validate_choice=False)
    fmt = SelectField(_l("Format"), choices=[("csv", "CSV (UTF-8)"), ("xlsx", "XLSX (Excel)")],
                      default=FORMATS[0], validate_choice=False)
