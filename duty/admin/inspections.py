"""Inspections in the console (DB1403/T 7.2): supervisors record them with their findings and
an optional photo, served only through the console; findings feed the assessment (7.4)."""

import mimetypes

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from yuyue.console import StepAdminMixin, StepForm

from ..models import Inspection, InspectionFinding
from ..names import staff_name
from ..supervision import (
    FINDING_STEPS,
    finding_is_overdue,
    inspection_clean,
    inspection_findings_open,
    user_deals_with_findings,
)
from .hall_scoped import HallScopedAdmin, ScopedTabularInline


class InspectionFindingInline(ScopedTabularInline):
    """What was found; how each finding is dealt with is on its own page (FINDING_STEPS)."""

    model = InspectionFinding
    extra = 1
    fields = ["kind", "staff", "note", "state", "handler", "due", "outcome"]
    readonly_fields = ["state", "handler", "due", "outcome"]


class InspectionForm(forms.ModelForm):
    at = forms.SplitDateTimeField(
        label=_("time of inspection"), widget=admin.widgets.AdminSplitDateTime
    )

    class Meta:
        model = Inspection
        fields = ["window", "at", "staff", "notes", "photo"]

    def clean(self):
        data = super().clean()
        if self.errors or self.instance.pk:
            return data
        try:
            inspection_clean(
                window=data["window"],
                at=data["at"],
                inspector=self.request.user,
                staff=data.get("staff") or [],
                now=timezone.now(),
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        except PermissionDenied as error:
            self.add_error(None, str(error))
        return data


@admin.register(Inspection)
class InspectionAdmin(HallScopedAdmin):
    """Inspections by supervisors (DB1403/T 7.2); findings feed the assessment (7.4)."""

    form = InspectionForm
    list_display = ["at", "window", "inspector", "finding_list", "has_photo"]
    list_filter = [("window", admin.RelatedOnlyFieldListFilter), "findings__kind"]
    date_hierarchy = "at"
    list_select_related = ["window", "inspector"]
    filter_horizontal = ["staff"]
    inlines = [InspectionFindingInline]
    readonly_fields = ["inspector", "recorded_at", "photo_link"]

    # The assessment (DB1403/T 7.4) links here for the inspections with findings, and with the
    # staff member a finding names. Django 5.2.x admin refuses reverse lookups it does not find
    # in list_filter, so both are allowed here by name.
    assessment_lookups = ("findings__isnull", "findings__staff")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.assessment_lookups or super().lookup_allowed(lookup, value, request)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("findings").distinct()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def get_fields(self, request, obj=None):
        fields = ["window", "at", "staff", "notes", "photo"]
        return fields + (["inspector", "recorded_at", "photo_link"] if obj else [])

    @admin.display(description=_("findings"))
    def finding_list(self, obj):
        return "、".join(f.get_kind_display() for f in obj.findings.all()) or _("nothing found")

    @admin.display(boolean=True, description=_("photo"))
    def has_photo(self, obj):
        return bool(obj.photo)

    @admin.display(description=_("photo"))
    def photo_link(self, obj):
        if not obj.photo:
            return "—"
        url = reverse("admin:duty_inspection_photo", args=[obj.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="" style="max-width:320px"></a>', url, url
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/photo/",
                self.admin_site.admin_view(self.photo_view),
                name="duty_inspection_photo",
            ),
            *super().get_urls(),
        ]

    def photo_view(self, request, pk):
        """Photos are not public media: served only to those who may see the inspection."""
        inspection = self.get_queryset(request).filter(pk=pk).first()
        if (
            inspection is None
            or not inspection.photo
            or not self.has_view_permission(request, inspection)
        ):
            raise Http404
        content_type = mimetypes.guess_type(inspection.photo.name)[0] or "application/octet-stream"
        return FileResponse(inspection.photo.open("rb"), content_type=content_type)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.inspector = request.user
            obj.recorded_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # DB1403/T 7.2: the findings just added get their handler and deadline.
        inspection_findings_open(inspection=form.instance, now=timezone.now())

    def has_delete_permission(self, request, obj=None):
        return False  # kept for the assessment (DB1403/T 7.4)


# --- dealing with findings (DB1403/T 7.2) --------------------------------------------------------


class OverdueFindingFilter(admin.SimpleListFilter):
    """DB1403/T 7.2: findings still open after their deadline."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("1", _("overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(state=InspectionFinding.State.OPEN, due__lt=timezone.localdate())
        return queryset


class AssignFindingForm(StepForm):
    handler = forms.ModelChoiceField(label=_("handler"), queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hall_id = self.record.inspection.window.hall_id
        candidates = get_user_model().objects.filter(is_active=True, staff_profile__hall_id=hall_id)
        allowed = [u.pk for u in candidates if user_deals_with_findings(u, self.record)]
        self.fields["handler"].queryset = candidates.filter(pk__in=allowed).order_by("first_name")
        self.fields["handler"].label_from_instance = staff_name


class DisposeFindingForm(StepForm):
    outcome = forms.ChoiceField(
        label=_("outcome"), choices=[("", "---------"), *InspectionFinding.Outcome.choices]
    )
    measures = forms.CharField(
        label=_("what was done"), widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )


@admin.register(InspectionFinding)
class InspectionFindingAdmin(StepAdminMixin, HallScopedAdmin):
    """DB1403/T 7.2: each finding's handler, deadline and outcome; the steps are buttons."""

    list_display = [
        "kind",
        "window",
        "inspected_at",
        "staff_name",
        "handler_name",
        "due",
        "state",
        "overdue",
        "outcome",
    ]
    list_filter = [OverdueFindingFilter, "state", "kind", "outcome"]
    list_select_related = ["inspection__window", "staff", "handler"]
    step_tables = (FINDING_STEPS,)
    step_template = "admin/evaluation/step.html"
    change_form_template = "admin/duty/inspectionfinding/change_form.html"
    step_refused_text = _("“%(step)s” is not possible for this finding now (%(state)s).")
    # The assessment (DB1403/T 7.4) counts findings, not inspections, and links here with the
    # month and window of the inspection (and its hall, for a staff member's findings).
    assessment_lookups = ("inspection__at__date__", "inspection__window")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup.startswith(self.assessment_lookups) or super().lookup_allowed(
            lookup, value, request
        )

    detail_fields = [
        "inspection",
        "kind",
        "staff_name",
        "note",
        "state",
        "handler_name",
        "due",
        "overdue",
        "outcome",
        "measures",
        "disposed_at",
        "disposed_by_name",
    ]

    @admin.display(description=_("window"), ordering="inspection__window__number")
    def window(self, obj):
        return obj.inspection.window

    @admin.display(description=_("time of inspection"), ordering="inspection__at")
    def inspected_at(self, obj):
        return timezone.localtime(obj.inspection.at).strftime("%Y-%m-%d %H:%M")

    @admin.display(boolean=True, description=_("overdue"))
    def overdue(self, obj):
        return finding_is_overdue(obj, now=timezone.now())

    @admin.display(description=_("staff member"), ordering="staff__first_name")
    def staff_name(self, obj):
        return staff_name(obj.staff) or "—"

    @admin.display(description=_("handler"), ordering="handler__first_name")
    def handler_name(self, obj):
        return staff_name(obj.handler) or "—"

    @admin.display(description=_("dealt with by"))
    def disposed_by_name(self, obj):
        return staff_name(obj.disposed_by) or "—"

    def get_fields(self, request, obj=None):
        return self.detail_fields

    def get_readonly_fields(self, request, obj=None):
        return self.detail_fields

    def has_add_permission(self, request):
        return False  # findings are recorded with their inspection

    def has_change_permission(self, request, obj=None):
        return False  # the steps (FINDING_STEPS) are buttons, each through its service

    def has_delete_permission(self, request, obj=None):
        return False  # kept for the assessment (DB1403/T 7.4)

    def step_context(self, request, finding, transition):
        return {
            "submit_label": transition.label,
            "facts": [
                (_("finding"), finding.get_kind_display()),
                (_("window"), finding.inspection.window),
                (_("time of inspection"), self.inspected_at(finding)),
                (_("staff member"), staff_name(finding.staff) if finding.staff else "—"),
                (_("note"), finding.note or "—"),
                (_("to be dealt with by"), finding.due.isoformat() if finding.due else "—"),
            ],
            "clause": transition.clause,
        }
