"""Inspections in the console (DB1403/T 7.2): supervisors record them with their findings and
an optional photo, served only through the console; findings feed the assessment (7.4)."""

import mimetypes

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from sms.admin import ReadOnlyMixin

from ..models import Inspection, InspectionFinding
from ..supervision import inspection_clean
from .hall_scoped import HallScopedAdmin, ScopedTabularInline


class InspectionFindingInline(ScopedTabularInline):
    model = InspectionFinding
    extra = 1


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

    def has_delete_permission(self, request, obj=None):
        return False  # kept for the assessment (DB1403/T 7.4)


@admin.register(InspectionFinding)
class InspectionFindingAdmin(ReadOnlyMixin, HallScopedAdmin):
    """The findings one by one (DB1403/T 7.2), read-only: the assessment (7.4) counts findings,
    not inspections, and links here. They are recorded with their inspection; whoever may see
    inspections may see them."""

    list_display = ["inspection", "window", "kind", "staff", "note"]
    list_filter = ["kind", ("inspection__window", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "inspection__at"
    list_select_related = ["inspection__window", "staff"]
    # The assessment's list of a staff member's findings is limited to the assessed hall.
    assessment_lookups = ("inspection__window__hall",)

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.assessment_lookups or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("window"))
    def window(self, obj):
        return obj.inspection.window

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("duty.view_inspection")

    def has_module_permission(self, request):
        return self.has_view_permission(request)
