"""The admin forms: they describe the input; the rules live in tickets.services.people."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, FieldList, Form, FormField, HiddenField, IntegerField,
                     PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..labels import table

ROLE_LABELS = table("role")


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    roles = MultiCheckboxField(_l("Roles"), choices=list(ROLE_LABELS.items()))
    language = SelectField(_l("Language"), choices=[("zh", "中文"), ("en", "English")], default="zh")
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=20)])
    firm_id = SelectField(_l("Firm (for the role firm)"), validate_choice=False)
    department_id = SelectField(_l("Department (for the role official)"), validate_choice=False)
    is_head = BooleanField(_l("Head of the department (officials only)"))
    active = BooleanField(_l("Active (may sign in)"), default=True)
    password = PasswordField(_l("Set password (at least 10 characters; the user must change it at the next sign-in)"),
                             validators=[Optional(), Length(max=200)])


class UnlockForm(FlaskForm):
    """No fields: the CSRF token of the unlock button."""


class FirmForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(_l("Unified social credit code"), validators=[DataRequired(), Length(max=18)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=20)])
    liaison_id = SelectField(_l("Liaison leader"), validate_choice=False)


class DepartmentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=100)])


class CategoryForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=100)])
    department_id = SelectField(_l("Default department"), validate_choice=False)
    limit_days = IntegerField(_l("Handling limit (working days, 1 to 60)"),
                              validators=[InputRequired(), NumberRange(min=1, max=60)])
    active = BooleanField(_l("Active (firms may choose it)"), default=True)
    position = IntegerField(_l("Position in lists"), default=0, validators=[Optional(), NumberRange(min=0, max=9999)])


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Day"), validators=[DataRequired()])
    kind = SelectField(_l("This day is"), choices=[("holiday", _l("a holiday (no work)")),
                                                   ("workday", _l("a working day"))])
    name = StringField(_l("Name (e.g. National Day, make-up working day)"), validators=[Optional(), Length(max=100)])


class SeedYearForm(FlaskForm):
    year = HiddenField(validators=[DataRequired()])


class HolidayLine(Form):
    """One holiday range of the schedule form; text, so that the service checks every date alike."""

    first = StringField(_l("First day"), validators=[Optional(), Length(max=20)])
    last = StringField(_l("Last day"), validators=[Optional(), Length(max=20)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])


class WorkdayLine(Form):
    day = StringField(_l("Date"), validators=[Optional(), Length(max=20)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])


# A published schedule has 7 holidays and up to about 8 make-up days; spare lines for both.
HOLIDAY_LINES, WORKDAY_LINES = 10, 10


class ScheduleForm(FlaskForm):
    """A year's published schedule entered by hand: holiday ranges and make-up working days."""

    year = HiddenField(validators=[DataRequired()])
    holidays = FieldList(FormField(HolidayLine), min_entries=HOLIDAY_LINES, max_entries=HOLIDAY_LINES)
    workdays = FieldList(FormField(WorkdayLine), min_entries=WORKDAY_LINES, max_entries=WORKDAY_LINES)


class ScheduleFileForm(FlaskForm):
    year = HiddenField(validators=[DataRequired()])
    schedule = FileField(_l("Schedule file (.csv or .xlsx)"), validators=[FileRequired(_l("Choose a file to upload."))])


class ImportForm(FlaskForm):
    workbook = FileField(_l("Workbook (.xlsx)"), validators=[FileRequired(_l("Choose a file to upload."))])


def choice_id(value) -> int | None:
    """A select's value as an id; None for the empty choice, -1 (no row has it) for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    # Not str.isdigit(): it accepts "²", which int() refuses; 18 digits stay within a BIGINT.
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else -1


def attach_errors(form, errors: dict) -> list[str]:
    """Put a service's errors next to their fields; returns those that belong to no field."""
    rest = []
    for key, message in (errors or {}).items():
        if key in form._fields:
            form[key].errors = [*form[key].errors, str(message)]
        else:
            rest.append(str(message))
    return rest


class IntegrationForm(FlaskForm):
    """An integration (a provincial platform, a dashboard): its name and the firms it serves."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    firms = TextAreaField(_l("Firms served: their unified social credit codes, one per line"),
                          validators=[DataRequired(), Length(max=20000)])
    active = BooleanField(_l("Active (its tokens work)"), default=True)


class ServiceTokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    write = BooleanField(_l("May also file requests; otherwise read only"), default=True)
    lifetime = SelectField(_l("Valid for"), choices=[
        ("30", _l("30 days")), ("90", _l("90 days")), ("365", _l("One year")), ("0", _l("Until revoked"))],
        default="365")


class WebhookForm(FlaskForm):
    """A subscriber: the rules (https, the operator's hosts, the addresses) are in services/subscribers."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    url = StringField(_l("Address (https://…)"), validators=[DataRequired(), Length(max=500)])
    events = MultiCheckboxField(_l("Events to send"), validate_choice=False)
    service_id = SelectField(_l("Whose requests"), validate_choice=False)
    active = BooleanField(_l("Active"), default=True)
