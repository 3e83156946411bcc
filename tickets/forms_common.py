"""Form pieces shared by several blueprints."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .services.common import Upload
from .services.filing import DESCRIPTION_MAX, TITLE_MAX


class RequestForm(FlaskForm):
    """What a firm (or staff on its behalf) fills in to file a request."""

    category_id = SelectField(_l("Category"), validators=[DataRequired()], validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=DESCRIPTION_MAX)])
    urgency = SelectField(
        _l("Urgency"),
        choices=[("normal", _l("Normal")), ("urgent", _l("Urgent")), ("critical", _l("Critical"))],
        default="normal",
    )
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[DataRequired(), Length(max=20)])
    follows_number = StringField(_l("Follows an earlier request (number, optional)"),
                                 validators=[Optional(), Length(max=16)])
    attachments = MultipleFileField(_l("Attachments (up to 5, 10 MB each: PDF, images, Office files)"))


def uploads_from(field_name: str = "attachments") -> list[Upload]:
    """The files of a multipart form field, read into memory (each is at most 10 MB)."""
    out = []
    for f in request.files.getlist(field_name):
        if f and f.filename:
            out.append(Upload(filename=f.filename, data=f.read()))
    return out


def category_choices(locale: str):
    from .extensions import db
    from .models import Category

    cats = db.session.scalars(db.select(Category).filter_by(active=True).order_by(Category.position, Category.id))
    return [("", _l("— choose —"))] + [(str(c.id), c.name(locale)) for c in cats]
