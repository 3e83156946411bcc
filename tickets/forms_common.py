"""Form pieces shared by several blueprints."""
from __future__ import annotations

import secrets

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .labels import choices
from .services.common import Upload
from .services.filing import DESCRIPTION_MAX, FORM_TOKEN, TITLE_MAX


class RequestForm(FlaskForm):
    """What a firm (or staff on its behalf) fills in to file a request."""

    category_id = SelectField(_l("Category"), validators=[DataRequired()], validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=DESCRIPTION_MAX)])
    urgency = SelectField(
        _l("Urgency"),
        choices=choices("urgency"),
        default="normal",
    )
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[DataRequired(), Length(max=20)])
    follows_number = StringField(_l("Follows an earlier request (number, optional)"),
                                 validators=[Optional(), Length(max=16)])
    attachments = MultipleFileField(_l("Attachments (up to 5, 10 MB each: PDF, images, Office files)"))
    # One-time: the service records it with the ticket, so the same form posted twice files one.
    form_token = HiddenField()
    # The same token, copied by static/app.js into a text input the page hides and renders
    # empty. A browser that fetches the form again on Back (every signed-in page is no-store)
    # puts back what a text input held when it differs from the page's own value, but never
    # a hidden input's: so Back and resubmit posts the token that was used, and is recognised.
    form_token_kept = StringField(render_kw={"hidden": True, "tabindex": "-1", "aria-hidden": "true",
                                             "autocomplete": "on", "data-one-time-token": "form_token"})

    def posted_token(self) -> str:
        """The token this post carries: the one the browser kept, else the page's."""
        return self.form_token_kept.data or self.form_token.data or ""

    def keep_or_renew_token(self, errors: dict) -> None:
        """A form shown anew carries an unused token: the one it was posted with, unless that was refused."""
        token = self.posted_token()
        if "form_token" in errors or not FORM_TOKEN.fullmatch(token):
            token = new_form_token()
        self.form_token.data = token


def new_form_token() -> str:
    """32 random URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def already_filed(ticket):
    """The answer to a request form posted again (double click, back and resubmit): its ticket."""
    flash(_("This form was already submitted: it filed request %(number)s, and nothing more.",
            number=ticket.number))
    return redirect(url_for("ticket.view", number=ticket.number))


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
