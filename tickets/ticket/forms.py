"""One small form per action on the ticket page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from ..labels import choices
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class ActionForm(FlaskForm):
    version = HiddenField()


def _text(label, required=True, max_len=5000):
    return TextAreaField(label, validators=[DataRequired() if required else Optional(), Length(max=max_len)])


class AcceptForm(ActionForm):
    department_id = SelectField(_l("Department"), validators=[DataRequired()], validate_choice=False)
    lead_id = SelectField(_l("Lead official"), validators=[DataRequired()], validate_choice=False)
    note = _text(_l("Note (internal, optional)"), required=False)


class ReasonForm(ActionForm):
    reason = _text(_l("Reason"))


class WithdrawForm(ActionForm):
    reason = _text(_l("Reason (optional)"), required=False)
    # A withdrawal cannot be undone: the firm says so twice (the box is checked on the server).
    confirm = BooleanField(_l("Yes, withdraw this request. I know this cannot be undone."), validators=[
        DataRequired(message=_l("Please tick the box to confirm the withdrawal."))])


class HandleForm(ActionForm):
    outcome = RadioField(_l("Outcome"), validators=[InputRequired()], choices=choices("outcome"))
    what_was_done = _text(_l("What was done"))
    explanation = _text(_l("Why (required unless resolved)"), required=False)
    contact_method = SelectField(_l("How the firm was contacted"), choices=choices("contact_method"))
    contacted_on = DateField(_l("When the firm was contacted"), validators=[InputRequired()])
    attachments = MultipleFileField(_l("Attachments"))


class FeedbackForm(ActionForm):
    solved = RadioField(_l("Was the problem solved?"), validators=[InputRequired()], choices=choices("solved"))
    rating = RadioField(_l("How satisfied are you?"), validators=[InputRequired()], choices=[
        ("satisfied", _l("Satisfied")), ("basically_satisfied", _l("Basically satisfied")),
        ("dissatisfied", _l("Dissatisfied: handle it again"))])
    comment = _text(_l("Comment (a reason is required when dissatisfied)"), required=False)


class AskForm(ActionForm):
    text = _text(_l("Question to the firm"))


class ReplyForm(ActionForm):
    text = _text(_l("Your reply"))
    attachments = MultipleFileField(_l("Attachments"))


class ExtensionForm(ActionForm):
    days = IntegerField(_l("Extra working days"), validators=[InputRequired(), NumberRange(1, 30)])
    reason = _text(_l("Reason (internal)"))
    public_reason = _text(_l("Reason shown to the firm"), max_len=500)


class DecisionForm(ActionForm):
    decision = RadioField(_l("Decision"), validators=[InputRequired()],
                          choices=[("approve", _l("Approve")), ("deny", _l("Deny"))])
    comment = _text(_l("Comment"), required=False)


class TransferRequestForm(ActionForm):
    to_department_id = SelectField(_l("To department"), validators=[DataRequired()], validate_choice=False)
    to_lead_id = SelectField(_l("New lead official (optional across departments)"), validate_choice=False)
    reason = _text(_l("Reason (internal)"))


class TransferDecisionForm(DecisionForm):
    lead_id = SelectField(_l("New lead official"), validate_choice=False)


class NoteForm(ActionForm):
    text = _text(_l("Note"))
    visibility = SelectField(_l("Who sees it"), choices=[
        ("internal", _l("Staff only")), ("public", _l("Also the firm"))])
    attachments = MultipleFileField(_l("Attachments"))


class InspectorNoteForm(ActionForm):
    text = _text(_l("Inspector note (seen by inspectors only)"))


class IssueNoticeForm(ActionForm):
    reason = _text(_l("Reason for the supervision notice (staff only, never the firm)"))


class ExplainNoticeForm(ActionForm):
    notice_id = SelectField(_l("Supervision notice"), validate_choice=False)
    explanation = _text(_l("Your written explanation"))


class ConcludeNoticeForm(ActionForm):
    notice_id = SelectField(_l("Supervision notice"), validate_choice=False)
    conclusion = RadioField(_l("Conclusion"), validators=[InputRequired()], choices=[
        ("accepted", _l("Explanation accepted")), ("talk", _l("Referred: a talk with the official")),
        ("circulated_criticism", _l("Referred: circulated criticism")),
        ("committee", _l("Referred: handed to the discipline committee"))])
    comment = _text(_l("Comment"))


class ProposeExclusionForm(ActionForm):
    feedback_id = SelectField(_l("Dissatisfied rating"), validate_choice=False)
    reason = _text(_l("Why it should not count (staff only, never the firm)"))


class DecideExclusionForm(ActionForm):
    review_id = SelectField(_l("Proposal"), validate_choice=False)
    decision = RadioField(_l("Decision"), validators=[InputRequired()], choices=[
        ("confirm", _l("Confirm: exclude the rating from the figures")), ("refuse", _l("Refuse: the rating counts"))])
    comment = _text(_l("Comment (required when refusing)"), required=False)


FORMS = {
    "accept": AcceptForm, "reject": ReasonForm, "withdraw": WithdrawForm, "handle": HandleForm,
    "feedback": FeedbackForm, "force_close": ReasonForm, "ask": AskForm, "reply": ReplyForm,
    "request_extension": ExtensionForm, "decide_extension": DecisionForm,
    "request_transfer": TransferRequestForm, "transfer": TransferDecisionForm, "note": NoteForm,
    "inspector_note": InspectorNoteForm, "issue_notice": IssueNoticeForm, "explain_notice": ExplainNoticeForm,
    "conclude_notice": ConcludeNoticeForm, "propose_exclusion": ProposeExclusionForm,
    "decide_exclusion": DecideExclusionForm,
}
