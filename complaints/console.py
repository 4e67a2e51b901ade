"""The complaint steps' forms in the staff console (GB/T 36113, DB1403/T 7.3), and the list's
deadline filter. Nothing here decides a rule: which steps a complaint offers, to whom, and the
service each calls are ``complaints.services.COMPLAINT_STEPS``; the step page is
``yuyue.console.StepAdminMixin``."""

import datetime as dt

from django import forms
from django.contrib import admin
from django.db.models import BooleanField, Case, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.console import StaffChoiceField, hall_staff
from duty.models import Department, Window
from yuyue import console

from . import services
from .models import Complaint, RefusalReason, ReplyMethod

HANDLE = services.HANDLE
YES_NO = [("yes", _("yes")), ("no", _("no"))]


class StepForm(console.StepForm):
    """A complaint step's form (the steps are ``services.COMPLAINT_STEPS``)."""

    @property
    def complaint(self) -> Complaint:
        return self.record


def _yes(value) -> bool:
    return value == "yes"


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        complaint = self.complaint
        self.fields["handler"].queryset = hall_staff(complaint.hall_id, HANDLE)
        self.fields["is_complex"].initial = complaint.is_complex


class RefuseForm(StepForm):
    refusal_reason = forms.ChoiceField(
        label=_("reason not accepted"), choices=RefusalReason.choices
    )
    note = _text(_("note (how the complainant was told)"), required=False, rows=2)

    def service_arguments(self):
        return {"reason": self.cleaned_data["refusal_reason"], "note": self.cleaned_data["note"]}


class SettleForm(StepForm):
    result = _text(_("result, told to the complainant on the spot"))


class ReferForm(StepForm):
    referred_department = forms.ModelChoiceField(
        label=_("referred to"), queryset=Department.objects.none()
    )
    note = _text(_("note"), required=False, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        complaint = self.complaint
        self.fields["referred_department"].queryset = Department.objects.filter(
            hall_id=complaint.hall_id
        ).order_by("name")

    def service_arguments(self):
        data = self.cleaned_data
        return {"department": data["referred_department"], "note": data["note"]}


class AttachmentForm(StepForm):
    attachment = forms.FileField(
        label=_("document (JPEG, PNG or PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}),
    )

    def service_arguments(self):
        return {"file": self.cleaned_data["attachment"]}


class InvestigateForm(StepForm):
    findings = _text(_("findings"), rows=5)
    attachment = forms.FileField(
        label=_("document (JPEG, PNG or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}),
    )

    def service_arguments(self):
        attachment = self.cleaned_data.get("attachment")
        return {
            "findings": self.cleaned_data["findings"],
            "attachments": [attachment] if attachment else [],
        }


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        complaint = self.complaint
        self.fields["window"].queryset = Window.objects.filter(hall_id=complaint.hall_id)
        self.fields["window"].initial = complaint.window_id
        self.fields["staff"].queryset = hall_staff(complaint.hall_id)
        self.fields["staff"].initial = complaint.staff_id

    def service_arguments(self):
        return {**self.cleaned_data, "substantiated": _yes(self.cleaned_data["substantiated"])}


class ReplyForm(StepForm):
    reply_method = forms.ChoiceField(label=_("reply method"), choices=ReplyMethod.choices)
    reply_text = _text(_("reply"), rows=5)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        complaint = self.complaint
        if complaint.channel == "letter":
            self.fields["reply_method"].help_text = _(
                "A written complaint gets a written reply (GB/T 36113)."
            )

    def service_arguments(self):
        data = self.cleaned_data
        return {"method": data["reply_method"], "text": data["reply_text"]}


class FollowUpForm(StepForm):
    satisfied = forms.ChoiceField(
        label=_("complainant satisfied"), choices=YES_NO, widget=forms.RadioSelect
    )
    note = _text(_("note"), required=False, rows=2)

    def service_arguments(self):
        return {
            "satisfied": _yes(self.cleaned_data["satisfied"]),
            "note": self.cleaned_data["note"],
        }


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
