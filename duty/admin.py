import mimetypes

import axes.admin  # noqa: F401 (registers its models, replaced below)
import django_otp.plugins.otp_static.admin  # noqa: F401 (registers its model, removed below)
import django_otp.plugins.otp_totp.admin  # noqa: F401 (registers its model, removed below)
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from yuyue.console import ServiceAddAdminMixin, ServiceAddForm

from . import roster_views
from .attendance import ATTENDANCE_LABELS, duty_attendance, duty_check_in, duty_check_out
from .exports import duty_text
from .models import (
    CalendarDay,
    Department,
    Duty,
    DutyAssignment,
    Hall,
    HolidayYear,
    Inspection,
    InspectionFinding,
    LeaveRequest,
    PhoneLinePeriod,
    ServicePeriod,
    StaffProfile,
    Window,
)
from .roles import Role
from .rosters import leave_approve, leave_reject, leave_request, person, user_manages_window
from .scoping import hall_lookup_for, scope_to_user, user_hall_id, user_keeps_shared_data
from .signin import (
    lockout_active,
    lockouts_release,
    staff_managed_by,
    two_step_may_reset,
    two_step_reset,
)
from .supervision import inspection_clean

admin.site.site_header = _("Appointment and no-rest service")
admin.site.site_title = _("Appointment and no-rest service")
admin.site.index_title = _("Service console")


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id box that names the chosen record only if it is in ``queryset`` (the user's
    halls): the stock widget looks the id up among all halls and prints the record."""

    def __init__(self, rel, admin_site, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            visible = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            visible = False
        return super().label_and_url_for_value(value) if visible else ("", "")


class HallScopedMixin:
    """Limit lists, detail pages, searches and choice lists to the user's hall(s)."""

    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user)

    def _scope_field(self, field, db_field, request):
        if field is not None and hall_lookup_for(db_field.related_model) is not None:
            field.queryset = scope_to_user(field.queryset, request.user)
            widget = field.widget
            if type(widget) is ForeignKeyRawIdWidget:
                field.widget = ScopedRawIdWidget(
                    widget.rel,
                    widget.admin_site,
                    field.queryset,
                    attrs=widget.attrs,
                    using=widget.db,
                )
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._scope_field(field, db_field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._scope_field(field, db_field, request)


class HallScopedAdmin(HallScopedMixin, admin.ModelAdmin):
    pass


class ScopedTabularInline(HallScopedMixin, admin.TabularInline):
    extra = 0


class ServicePeriodInline(ScopedTabularInline):
    model = ServicePeriod


class PhoneLinePeriodInline(ScopedTabularInline):
    model = PhoneLinePeriod


@admin.register(Hall)
class HallAdmin(HallScopedAdmin):
    list_display = ["name", "code", "is_city_hall", "phone"]
    inlines = [ServicePeriodInline, PhoneLinePeriodInline]

    def get_readonly_fields(self, request, obj=None):
        # A hall administrator edits the hall's hours, not which hall sees all the others.
        return [] if request.user.is_superuser else ["code", "is_city_hall"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Department)
class DepartmentAdmin(HallScopedAdmin):
    list_display = ["name", "hall"]
    list_filter = [("hall", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    list_select_related = ["hall"]


@admin.register(Window)
class WindowAdmin(HallScopedAdmin):
    list_display = [
        "number",
        "name",
        "hall",
        "is_no_rest",
        "head",
        "capacity_per_slot",
        "is_active",
    ]
    list_filter = [("hall", admin.RelatedOnlyFieldListFilter), "is_no_rest", "is_active"]
    search_fields = ["number", "name"]
    filter_horizontal = ["departments"]
    list_select_related = ["hall", "head"]

    @admin.display(description=_("matters"))
    def matter_names(self, obj):
        return "、".join(obj.matters.values_list("name", flat=True)) or "—"

    def get_readonly_fields(self, request, obj=None):
        readonly = ["matter_names"]  # chosen on each matter's page
        # Bookings are counted per slot start: re-cutting the slots under future bookings would
        # leave them outside the new grid, uncounted and immovable.
        if obj is not None and obj.appointments.filter(start__gte=timezone.now()).exists():
            readonly.append("slot_minutes")
        return readonly


@admin.register(StaffProfile)
class StaffProfileAdmin(HallScopedAdmin):
    list_display = ["user", "hall", "window", "department"]
    list_filter = [("hall", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user", "hall", "window", "department"]


class SharedCalendarAdmin(admin.ModelAdmin):
    """The holiday table is national: every hall reads it, the city administrators keep it."""

    def has_add_permission(self, request):
        return user_keeps_shared_data(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return user_keeps_shared_data(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return user_keeps_shared_data(request.user) and super().has_delete_permission(request, obj)


@admin.register(HolidayYear)
class HolidayYearAdmin(SharedCalendarAdmin):
    list_display = ["year", "source", "loaded_at"]


@admin.register(CalendarDay)
class CalendarDayAdmin(SharedCalendarAdmin):
    list_display = ["date", "kind", "name"]
    list_filter = ["kind"]
    date_hierarchy = "date"


class StaffProfileInline(HallScopedMixin, admin.StackedInline):
    model = StaffProfile
    can_delete = False
    fk_name = "user"


User = get_user_model()
SUPERUSER_GRANTED_ROLES = [Role.SUPERVISOR, Role.ADMINISTRATOR]
admin.site.unregister(User)


@admin.register(User)
class ScopedUserAdmin(HallScopedMixin, UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "is_staff", "is_active", "two_step"]
    list_select_related = ["staff_profile"]
    actions = ["reset_two_step"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(is_superuser=False)
        return queryset.annotate(
            has_two_step=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )

    @admin.display(boolean=True, description=_("two-step verification"), ordering="has_two_step")
    def two_step(self, obj):
        return obj.has_two_step

    @admin.action(
        description=_("Reset two-step verification (lost or new phone)"),
        permissions=["reset_two_step"],
    )
    def reset_two_step(self, request, queryset):
        """Remove the authenticator and backup codes of the selected colleagues; each sets up a
        new one at their next sign-in. Logged (duty.signin) and in each user's history."""
        for user in queryset:
            try:
                two_step_reset(user=user, actor=request.user)
            except PermissionDenied as error:
                messages.error(request, f"{person(user)}: {error}")
            else:
                self.log_change(request, user, str(_("Two-step verification reset")))
                messages.success(
                    request, _("%(user)s: two-step verification reset.") % {"user": person(user)}
                )

    def has_reset_two_step_permission(self, request):
        return two_step_may_reset(request.user)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and not request.user.is_superuser:
            # Roles that see every hall's data or hand out roles are granted by a superuser.
            field.queryset = field.queryset.exclude(name__in=SUPERUSER_GRANTED_ROLES)
        return field

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # A hall administrator assigns roles, never superuser status or loose permissions.
            readonly += ["is_superuser", "user_permissions"]
        return readonly

    def save_related(self, request, form, formsets, change):
        user = form.instance
        # The roles a hall administrator cannot grant are not offered in the form, so saving
        # would silently take them away: keep the ones the user already holds.
        kept = (
            []
            if request.user.is_superuser or not change
            else list(user.groups.filter(name__in=SUPERUSER_GRANTED_ROLES))
        )
        super().save_related(request, form, formsets, change)
        user.groups.add(*kept)
        hall_id = user_hall_id(request.user)
        if not StaffProfile.objects.filter(user=user).exists() and hall_id is not None:
            # A new user created by a hall administrator belongs to that hall at once, so the
            # administrator can go on editing them (scoping would hide a user without a hall).
            StaffProfile.objects.create(user=user, hall_id=hall_id)


# --- sign-in: lockouts (django-axes) and two-step devices (django-otp) ---------------------------

# Devices are set up by their owner and reset by an administrator (ScopedUserAdmin); they are
# never edited, and their secrets are never shown.
for device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(device_model):
        admin.site.unregister(device_model)
for axes_model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(axes_model):
        admin.site.unregister(axes_model)


class SignInRecordAdmin(admin.ModelAdmin):
    """Sign-in records of the staff one manages (their hall's; superusers see all, also logins
    that do not exist). Read-only: they are evidence."""

    list_filter = ["attempt_time"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        managed = staff_managed_by(request.user).values("username")
        return queryset.filter(username__in=managed)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessAttempt)
class AccessAttemptAdmin(SignInRecordAdmin):
    """Wrong passwords counted per login and address; at AXES_FAILURE_LIMIT the pair is locked.
    Unlocking removes the count (the failures stay under “登录失败记录”)."""

    list_display = ["username", "ip_address", "failures_since_start", "locked", "attempt_time"]
    fields = ["username", "ip_address", "failures_since_start", "attempt_time", "user_agent"]
    actions = ["unlock"]

    @admin.display(boolean=True, description=_("locked"))
    def locked(self, obj):
        return lockout_active(obj, now=timezone.now())

    @admin.action(description=_("Unlock the selected logins"), permissions=["delete"])
    def unlock(self, request, queryset):
        released = lockouts_release(attempts=queryset, actor=request.user)
        messages.success(
            request,
            ngettext("%(n)s login unlocked.", "%(n)s logins unlocked.", released) % {"n": released},
        )

    def delete_queryset(self, request, queryset):
        lockouts_release(attempts=queryset, actor=request.user)

    def delete_model(self, request, obj):
        lockouts_release(attempts=[obj], actor=request.user)


@admin.register(AccessLog)
class AccessLogAdmin(SignInRecordAdmin):
    list_display = ["username", "ip_address", "attempt_time", "logout_time", "user_agent"]
    fields = ["username", "ip_address", "attempt_time", "logout_time", "user_agent"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(SignInRecordAdmin):
    list_display = ["username", "ip_address", "attempt_time", "locked_out", "user_agent"]
    list_filter = ["locked_out", "attempt_time"]
    fields = ["username", "ip_address", "attempt_time", "locked_out", "user_agent"]

    def has_delete_permission(self, request, obj=None):
        return False


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
