"""The complaint steps in the staff console (GB/T 36113, DB1403/T 7.3): one small form per step,
offered only to handlers and only in the state where the step is possible. Nothing here decides
a rule: every step calls a service of ``complaints.services``, whose errors (keyed by field) are
shown next to the field they concern."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.db.models import BooleanField, Case, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.console import StaffChoiceField, hall_staff
from duty.models import Department, Window
from duty.scoping import user_hall_id

from . import services
from .models import Complaint, ComplaintState, RefusalReason, ReplyMethod

S = ComplaintState
HANDLE = "complaints.handle_complaint"
YES_NO = [("yes", _("yes")), ("no", _("no"))]


class StepForm(forms.Form):
    def __init__(self, *args, complaint: Complaint, **kwargs):
        self.complaint = complaint
        super().__init__(*args, **kwargs)


class NoFieldsForm(StepForm):
    pass


def _text(label, required=True, rows=3):
    return forms.CharField(
        label=label,
        required=required,
        max_length=services.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class AcceptForm(StepForm):
    handler = StaffChoiceField(label=_("handler"), queryset=None, required=False)
    is_complex = forms.BooleanField(
        label=_("complex or several departments (longer reply deadline)"), required=False
    )

    def __init__(self, *args, complaint, **kwargs):
        super().__init__(*args, complaint=complaint, **kwargs)
        self.fields["handler"].queryset = hall_staff(complaint.hall_id, HANDLE)
        self.fields["is_complex"].initial = complaint.is_complex


class RefuseForm(StepForm):
    refusal_reason = forms.ChoiceField(
        label=_("reason not accepted"), choices=RefusalReason.choices
    )
    note = _text(_("note (how the complainant was told)"), required=False, rows=2)


class SettleForm(StepForm):
    result = _text(_("result, told to the complainant on the spot"))


class ReferForm(StepForm):
    referred_department = forms.ModelChoiceField(
        label=_("referred to"), queryset=Department.objects.none()
    )
    note = _text(_("note"), required=False, rows=2)

    def __init__(self, *args, complaint, **kwargs):
        super().__init__(*args, complaint=complaint, **kwargs)
        self.fields["referred_department"].queryset = Department.objects.filter(
            hall_id=complaint.hall_id
        ).order_by("name")


class AttachmentForm(StepForm):
    attachment = forms.FileField(
        label=_("document (JPEG, PNG or PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}),
    )


class InvestigateForm(StepForm):
    findings = _text(_("findings"), rows=5)
    attachment = forms.FileField(
        label=_("document (JPEG, PNG or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}),
    )


class DecideForm(StepForm):
    substantiated = forms.ChoiceField(
        label=_("substantiated"), choices=YES_NO, widget=forms.RadioSelect
    )
    window = forms.ModelChoiceField(
        label=_("window it counts against"), queryset=Window.objects.none(), required=False
    )
    staff = StaffChoiceField(
        label=_("staff member it counts against"), queryset=None, required=False
    )
    measures = _text(_("measures"), required=False)

    def __init__(self, *args, complaint, **kwargs):
        super().__init__(*args, complaint=complaint, **kwargs)
        self.fields["window"].queryset = Window.objects.filter(hall_id=complaint.hall_id)
        self.fields["window"].initial = complaint.window_id
        self.fields["staff"].queryset = hall_staff(complaint.hall_id)
        self.fields["staff"].initial = complaint.staff_id


class ReplyForm(StepForm):
    reply_method = forms.ChoiceField(label=_("reply method"), choices=ReplyMethod.choices)
    reply_text = _text(_("reply"), rows=5)

    def __init__(self, *args, complaint, **kwargs):
        super().__init__(*args, complaint=complaint, **kwargs)
        if complaint.channel == "letter":
            self.fields["reply_method"].help_text = _(
                "A written complaint gets a written reply (GB/T 36113)."
            )


class FollowUpForm(StepForm):
    satisfied = forms.ChoiceField(
        label=_("complainant satisfied"), choices=YES_NO, widget=forms.RadioSelect
    )
    note = _text(_("note"), required=False, rows=2)


@dataclass(frozen=True)
class Step:
    """One step of the procedure as the console offers it."""

    name: str
    label: str
    form: type[StepForm]
    run: Callable
    states: tuple
    clause: str
    # Service error keys that mean one of this form's fields.
    error_fields: tuple[tuple[str, str], ...] = ()
    perm: str = HANDLE

    def offered(self, complaint: Complaint) -> bool:
        return complaint.state in self.states

    def field_for(self, key: str, form: forms.Form) -> str | None:
        key = dict(self.error_fields).get(key, key)
        return key if key in form.fields else None


def _yes(value) -> bool:
    return value == "yes"


STEPS = [
    Step(
        "accept",
        _("Accept"),
        AcceptForm,
        lambda c, d, actor, now: services.complaint_accept(
            complaint=c, handler=d["handler"], is_complex=d["is_complex"], actor=actor, now=now
        ),
        (S.REGISTERED,),
        "GB/T 36113 受理",
    ),
    Step(
        "refuse",
        _("Do not accept"),
        RefuseForm,
        lambda c, d, actor, now: services.complaint_refuse(
            complaint=c, reason=d["refusal_reason"], note=d["note"], actor=actor, now=now
        ),
        (S.REGISTERED,),
        "GB/T 36113 不予受理",
    ),
    Step(
        "settle",
        _("Settle on the spot"),
        SettleForm,
        lambda c, d, actor, now: services.complaint_settle_on_spot(
            complaint=c, result=d["result"], actor=actor, now=now
        ),
        (S.ACCEPTED,),
        "GB/T 36113 现场协调",
    ),
    Step(
        "refer",
        _("Refer to the department"),
        ReferForm,
        lambda c, d, actor, now: services.complaint_refer(
            complaint=c, department=d["referred_department"], note=d["note"], actor=actor, now=now
        ),
        (S.ACCEPTED,),
        "GB/T 36113 转办",
    ),
    Step(
        "investigate",
        _("Record the investigation"),
        InvestigateForm,
        lambda c, d, actor, now: services.complaint_investigate(
            complaint=c,
            findings=d["findings"],
            attachments=[d["attachment"]] if d.get("attachment") else [],
            actor=actor,
            now=now,
        ),
        (S.ACCEPTED, S.REFERRED),
        "GB/T 36113 调查核实",
    ),
    Step(
        "attach",
        _("Add a document"),
        AttachmentForm,
        lambda c, d, actor, now: services.complaint_attachment_add(
            complaint=c, file=d["attachment"], actor=actor, now=now
        ),
        services.ATTACHABLE,
        "GB/T 36113 调查核实",
    ),
    Step(
        "decide",
        _("Decide"),
        DecideForm,
        lambda c, d, actor, now: services.complaint_decide(
            complaint=c,
            substantiated=_yes(d["substantiated"]),
            window=d["window"],
            staff=d["staff"],
            measures=d["measures"],
            actor=actor,
            now=now,
        ),
        (S.INVESTIGATED,),
        "GB/T 36113 处理; DB1403/T 7.4",
    ),
    Step(
        "reply",
        _("Reply"),
        ReplyForm,
        lambda c, d, actor, now: services.complaint_reply(
            complaint=c, method=d["reply_method"], text=d["reply_text"], actor=actor, now=now
        ),
        (S.DECIDED,),
        "GB/T 36113 答复",
    ),
    Step(
        "follow_up",
        _("Record the follow-up visit"),
        FollowUpForm,
        lambda c, d, actor, now: services.complaint_follow_up(
            complaint=c, satisfied=_yes(d["satisfied"]), note=d["note"], actor=actor, now=now
        ),
        (S.REPLIED, S.SETTLED),
        "GB/T 36113 回访",
    ),
    Step(
        "archive",
        _("Archive"),
        NoFieldsForm,
        lambda c, d, actor, now: services.complaint_archive(complaint=c, actor=actor, now=now),
        (S.FOLLOWED_UP, S.NOT_ACCEPTED),
        "GB/T 36113 归档",
    ),
]
STEPS_BY_NAME = {step.name: step for step in STEPS}


def steps_offered(*, complaint: Complaint, user) -> list[Step]:
    """The steps this user may take on this complaint now (the service still decides; this only
    hides buttons that would fail): handlers of the complaint's hall, in the right state."""
    if not user.has_perm(HANDLE):
        return []
    if not user.is_superuser and user_hall_id(user) != complaint.hall_id:
        return []
    return [s for s in STEPS if user.has_perm(s.perm) and s.offered(complaint)]


def with_overdue(queryset, *, now: dt.datetime):
    """Each complaint with ``is_overdue``, by the sweep's own rule (``overdue_condition``)."""
    return queryset.annotate(
        is_overdue=Case(
            When(services.overdue_condition(now), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


class OverdueFilter(admin.SimpleListFilter):
    """GB/T 36113 (local deadlines), DB1403/T 7.3: complaints past their acceptance or reply
    date — the same rule as the overdue sweep."""

    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue")), ("no", _("on time"))]

    def queryset(self, request, queryset):
        condition = services.overdue_condition(timezone.now())
        if self.value() == "yes":
            return queryset.filter(condition)
        if self.value() == "no":
            return queryset.exclude(condition)
        return queryset
