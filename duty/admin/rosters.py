"""Rosters, check-ins and leave in the console (DB1403/T 5.2, 6.2.1, 6.2.4, 6.2.5): duties are
listed here and planned in the grid (``duty.roster_views``); staff check in and out; leave with
cover is requested and decided through ``duty.rosters``."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from yuyue.console import ServiceAddAdminMixin, ServiceAddForm

from .. import roster_views
from ..attendance import ATTENDANCE_LABELS, duty_attendance, duty_check_in, duty_check_out
from ..exports import duty_text
from ..models import Duty, DutyAssignment, LeaveRequest, Window
from ..rosters import leave_approve, leave_reject, leave_request, person, user_manages_window
from .hall_scoped import HallScopedAdmin

# --- rosters, leave, check-ins, inspections ---------------------------------------------------


class MyDutiesFilter(admin.SimpleListFilter):
    title = _("whose duties")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("1", _("my duties"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(staff=request.user)
        return queryset


class WhenFilter(admin.SimpleListFilter):
    title = _("when")
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("today", _("today")), ("coming", _("coming")), ("past", _("past"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        today = timezone.localdate(now)
        if self.value() == "today":
            return queryset.filter(duty__date=today)
        if self.value() == "coming":
            return queryset.filter(duty__end__gt=now)
        if self.value() == "past":
            return queryset.filter(duty__end__lte=now).order_by("-duty__start")
        return queryset


@admin.register(Duty)
class DutyAdmin(HallScopedAdmin):
    """The roster as a list; it is planned in the grid (``roster_views``), through the services."""

    list_display = ["start", "end", "window", "on_duty", "opened_by_booking", "head"]
    list_filter = [("window", admin.RelatedOnlyFieldListFilter), "opened_by_booking"]
    date_hierarchy = "start"
    list_select_related = ["window", "head"]
    change_list_template = "admin/duty/duty/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("assignments__staff")

    @admin.display(description=_("on duty"))
    def on_duty(self, obj):
        return duty_text(obj)

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(lambda request: view(request, self.admin_site))

        return [
            path("plan/", wrap(roster_views.roster_plan_view), name="duty_duty_plan"),
            path("plan/print/", wrap(roster_views.roster_print_view), name="duty_duty_print"),
            path("plan/export/", wrap(roster_views.roster_export_view), name="duty_duty_export"),
            *super().get_urls(),
        ]

    def has_add_permission(self, request):
        return False  # planned in the grid

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DutyAssignment)
class DutyAssignmentAdmin(HallScopedAdmin):
    """Who is on which duty, and their check-in (DB1403/T 6.2.1): staff check in and out here."""

    list_display = [
        "duty",
        "staff_name",
        "is_receiving",
        "checked_in_at",
        "checked_out_at",
        "attendance",
    ]
    list_filter = [
        MyDutiesFilter,
        WhenFilter,
        "is_late",
        "left_early",
        ("absence_recorded_at", admin.EmptyFieldListFilter),
        ("duty__window", admin.RelatedOnlyFieldListFilter),
    ]
    date_hierarchy = "duty__start"
    list_select_related = ["duty__window", "staff"]
    # The dashboard links here with the hall and department filtered on (DB1403/T 6.2.1).
    dashboard_lookups = ("duty__window__hall", "duty__window__departments")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.dashboard_lookups or super().lookup_allowed(lookup, value, request)

    actions = ["check_in", "check_out"]

    @admin.display(description=_("staff member"), ordering="staff__first_name")
    def staff_name(self, obj):
        return person(obj.staff)

    @admin.display(description=_("attendance"))
    def attendance(self, obj):
        return ATTENDANCE_LABELS[duty_attendance(assignment=obj, now=timezone.now())]

    def _act(self, request, queryset, service, done):
        for assignment in queryset:
            try:
                service(assignment=assignment, actor=request.user, now=timezone.now())
            except (ValidationError, PermissionDenied) as error:
                text = "; ".join(
                    m
                    for ms in getattr(error, "message_dict", {"": [str(error)]}).values()
                    for m in ms
                )
                messages.error(request, f"{assignment}: {text}")
            else:
                messages.success(request, f"{assignment}: {done}")

    @admin.action(description=_("Check in (now)"), permissions=["check_in"])
    def check_in(self, request, queryset):
        self._act(request, queryset, duty_check_in, _("checked in"))

    @admin.action(description=_("Check out (now)"), permissions=["check_in"])
    def check_out(self, request, queryset):
        self._act(request, queryset, duty_check_out, _("checked out"))

    def has_check_in_permission(self, request):
        return request.user.has_perm("duty.check_in_dutyassignment")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LeaveRequestForm(ServiceAddForm):
    """Requesting leave goes through ``leave_request`` (DB1403/T 6.2.4)."""

    start = forms.SplitDateTimeField(label=_("from"), widget=admin.widgets.AdminSplitDateTime)
    end = forms.SplitDateTimeField(label=_("until"), widget=admin.widgets.AdminSplitDateTime)

    class Meta:
        model = LeaveRequest
        fields = ["staff", "start", "end", "cover", "reason"]

    def create(self, data, *, actor, now):
        return leave_request(
            staff=data["staff"],
            start=data["start"],
            end=data["end"],
            cover=data.get("cover"),
            reason=data.get("reason", ""),
            actor=actor,
            now=now,
        )


@admin.register(LeaveRequest)
class LeaveRequestAdmin(ServiceAddAdminMixin, HallScopedAdmin):
    """Leave (调休) with its cover (顶岗): staff ask, the window head approves (DB1403/T 6.2.4)."""

    list_display = ["staff", "start", "end", "cover", "state", "window", "decided_by"]
    list_filter = ["state", ("window", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["staff", "cover", "window", "decided_by"]
    actions = ["approve"]
    change_form_template = "admin/duty/leaverequest/change_form.html"
    add_form = LeaveRequestForm

    def get_changeform_initial_data(self, request):
        return {"staff": request.user.pk}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in ("staff", "cover") and field is not None:
            field.label_from_instance = person
        if db_field.name == "staff" and field is not None:
            User = get_user_model()
            headed = Window.objects.filter(head=request.user)
            if not (request.user.is_superuser or headed.exists()):
                field.queryset = User.objects.filter(pk=request.user.pk)
        return field

    def get_fields(self, request, obj=None):
        if obj is None:
            return LeaveRequestForm.Meta.fields
        return [
            "staff",
            "window",
            "start",
            "end",
            "cover",
            "reason",
            "state",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "released_duties",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fields = self.get_fields(request, obj)
        return (
            [f for f in fields if f != "decision_note"]
            if self._may_decide(request, obj)
            else fields
        )

    @admin.display(description=_("duties covered"))
    def released_duties(self, obj):
        rows = []
        for a in obj.released_assignments.select_related("duty__window"):
            cover = a.duty.assignments.filter(covers=obj).select_related("staff").first()
            rows.append(f"{a.duty} → {person(cover.staff) if cover else '—'}")
        return format_html_join("", "<div>{}</div>", ((r,) for r in rows)) or "—"

    def _may_decide(self, request, obj):
        return (
            obj.state == LeaveRequest.State.REQUESTED
            and request.user.has_perm("duty.approve_leaverequest")
            and user_manages_window(request.user, obj.window)
        )

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return request.user.has_perm("duty.approve_leaverequest")
        return self._may_decide(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm("duty.approve_leaverequest")

    def _decide(self, request, leave, approve: bool, note: str) -> bool:
        try:
            if approve:
                leave_approve(leave=leave, actor=request.user, now=timezone.now(), note=note)
            else:
                leave_reject(leave=leave, actor=request.user, now=timezone.now(), note=note)
        except (ValidationError, PermissionDenied) as error:
            text = "; ".join(
                m for ms in getattr(error, "message_dict", {"": [str(error)]}).values() for m in ms
            )
            messages.error(request, f"{leave}: {text}")
            return False
        messages.success(request, f"{leave}: {leave.get_state_display()}")
        return True

    @admin.action(description=_("Approve the selected leave"), permissions=["approve"])
    def approve(self, request, queryset):
        for leave in queryset.select_related("window", "staff", "cover"):
            self._decide(request, leave, True, "")

    def response_change(self, request, obj):
        if "_approve" in request.POST or "_reject" in request.POST:
            self._decide(
                request, obj, "_approve" in request.POST, request.POST.get("decision_note", "")
            )
            return redirect(request.path)
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return  # decisions go through leave_approve / leave_reject in response_change
