from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


class ChangePasswordForm(FlaskForm):
    """The rules on the new password live in tickets.services.passwords."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two new passwords are not the same."))])


class TokenForm(FlaskForm):
    """A personal API token: a name, what it may do, how long it lasts (tickets.services.tokens checks)."""

    name = StringField(_l("Name (what the token is for)"), validators=[DataRequired(), Length(max=100)])
    write = BooleanField(_l("May also make changes (file requests, take actions); otherwise read only"))
    lifetime = SelectField(_l("Valid for"), choices=[
        ("30", _l("30 days")), ("90", _l("90 days")), ("365", _l("One year")), ("0", _l("Until revoked"))],
        default="90")
