"""A basic, hall-scoped admin. Bookings are created and moved only through the services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from duty.admin import HallScopedAdmin, ScopedTabularInline
from duty.attendance import ATTENDANCE_LABELS, duty_attendance, staff_presence_at
from duty.calendar import day_info

from . import services
from .models import (
    Appointment,
    AppointmentEvent,
    ChangeRequest,
    Channel,
    ContactLog,
    Matter,
    NoShowFollowUp,
    ParallelTask,
    Slot,
)
from .slots import slot_at


@admin.register(Matter)
class MatterAdmin(HallScopedAdmin):
    list_display = ["name", "hall", "duration_minutes", "is_active"]
    list_filter = [
        ("hall", admin.RelatedOnlyFieldListFilter),
        "is_active",
        ("departments", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name"]
    filter_horizontal = ["departments", "windows"]
    list_select_related = ["hall"]


class SlotForm(forms.ModelForm):
    """Set one slot's capacity ahead of time, e.g. 0 to close it for maintenance."""

    start = forms.SplitDateTimeField(label=_("start"), widget=admin.widgets.AdminSplitDateTime)

    class Meta:
        model = Slot
        fields = ["window", "start", "capacity"]

    def clean(self):
        data = super().clean()
        window, start = data.get("window"), data.get("start")
        if window is not None and start is not None:
            slot = slot_at(window=window, start=start)
            if slot is None:
                self.add_error(
                    "start",
                    _("Window %(window)s has no slot starting at this time.") % {"window": window},
                )
            else:
                self.instance.end = slot.end
        return data


@admin.register(Slot)
class SlotAdmin(HallScopedAdmin):
    list_display = ["window", "start", "end", "capacity"]
    list_filter = [("window", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "start"
    list_select_related = ["window"]
    form = SlotForm

    def get_readonly_fields(self, request, obj=None):
        # A slot's place in the grid is fixed once it exists; only its capacity changes.
        return ["window", "start", "end"] if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["window", "start", "end", "capacity"] if obj is not None else SlotForm.Meta.fields


class ReadOnlyInline(ScopedTabularInline):
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    model = AppointmentEvent
    fields = ["at", "actor", "action", "changes", "note"]
    readonly_fields = fields


class ContactInline(ReadOnlyInline):
    model = ContactLog
    fields = ["at", "by", "purpose", "method", "time_reconfirmed", "text", "outcome"]
    readonly_fields = fields


class ParallelTaskInline(ReadOnlyInline):
    model = ParallelTask
    fields = ["department", "window", "confirmed_at", "confirmed_by"]
    readonly_fields = fields


class ChangeRequestInline(ReadOnlyInline):
    model = ChangeRequest
    fk_name = "appointment"
    fields = ["state", "original_start", "new_start", "new_window", "reason", "is_emergency"]
    readonly_fields = fields


class FollowUpInline(ReadOnlyInline):
    model = NoShowFollowUp
    fields = ["slot_start", "due_at", "assigned_to", "outcome", "recorded_at", "note"]
    readonly_fields = fields


class AppointmentRegisterForm(forms.ModelForm):
    """The desk's registration form: it books through ``appointment_register``."""

    channel = forms.ChoiceField(
        label=_("channel"), choices=[(c.value, c.label) for c in (Channel.ONSITE, Channel.PHONE)]
    )
    start = forms.SplitDateTimeField(
        label=_("appointment time"), widget=admin.widgets.AdminSplitDateTime
    )

    class Meta:
        model = Appointment
        fields = [
            "channel",
            "matter",
            "window",
            "start",
            "applicant_name",
            "phone",
            "content",
            "remarks",
            "short_notice_reason",
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.instance = services.appointment_register(
                matter=data["matter"],
                window=data["window"],
                start=data["start"],
                applicant_name=data["applicant_name"],
                phone=data["phone"],
                channel=data["channel"],
                content=data.get("content", ""),
                remarks=data.get("remarks", ""),
                short_notice_reason=data.get("short_notice_reason", ""),
                actor=self.request.user,
                now=timezone.now(),
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        except PermissionDenied as error:
            self.add_error(None, str(error))
        return data

    def _post_clean(self):
        # The service has validated and saved the booking; model validation is not repeated.
        pass


@admin.register(Appointment)
class AppointmentAdmin(HallScopedAdmin):
    # What the desk scans first stays at the left: the admin scrolls wide tables sideways.
    list_display = [
        "reference",
        "start",
        "status",
        "window_number",
        "applicant_name",
        "phone_display",
        "matter",
        "channel",
        "is_short_notice",
    ]
    list_filter = [
        "status",
        "channel",
        ("window", admin.RelatedOnlyFieldListFilter),
        "outside_phone_hours",
    ]
    search_fields = ["reference", "applicant_name", "phone"]
    date_hierarchy = "start"
    list_select_related = ["matter", "window"]
    inlines = [ParallelTaskInline, ContactInline, ChangeRequestInline, FollowUpInline, EventInline]

    @admin.display(description=_("contact phone"), ordering="phone")
    def phone_display(self, obj):
        # Keep "138 0013 8000" on one line so the status column stays in view.
        return format_html('<span style="white-space:nowrap">{}</span>', obj.phone)

    @admin.display(description=_("window"), ordering="window__number")
    def window_number(self, obj):
        return obj.window.number

    @admin.display(boolean=True, description=_("under 24 h"))
    def is_short_notice(self, obj):
        return obj.is_short_notice

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AppointmentRegisterForm
            form = super().get_form(request, obj, change=change, **kwargs)
            form.request = request
            return form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return AppointmentRegisterForm.Meta.fields
        return [f.name for f in Appointment._meta.fields if f.name != "id"] + ["staff_on_duty"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Lifecycle fields change only through the services; an edit here would skip their rules.
        return [f.name for f in Appointment._meta.fields if f.name != "id"] + ["staff_on_duty"]

    @admin.display(description=_("receiving staff on duty then"))
    def staff_on_duty(self, obj):
        """DB1403/T 6.2.1: was the responsible staff member at the window at the booking's time?"""
        if obj.responsible_staff is None:
            return "—"
        assignment = staff_presence_at(
            staff=obj.responsible_staff, window=obj.window, moment=obj.start
        )
        if assignment is None:
            return _("not on the duty roster at that time")
        status = ATTENDANCE_LABELS[duty_attendance(assignment=assignment, now=timezone.now())]
        if assignment.checked_in_at is None:
            return status
        return _("%(status)s (checked in %(time)s)") % {
            "status": status,
            "time": formats.date_format(timezone.localtime(assignment.checked_in_at), "H:i"),
        }

    def get_inlines(self, request, obj):
        # The history and contacts exist only once the booking does.
        return self.inlines if obj is not None else []

    def has_add_permission(self, request):
        # Adding a booking here *is* the desk's registration (DB1403/T 5.1.3 a/b).
        return request.user.has_perm("appointments.register_appointment")

    def has_delete_permission(self, request, obj=None):
        # Nothing is lost: a booking is cancelled with a reason, never deleted.
        return False

    def has_change_permission(self, request, obj=None):
        # Lifecycle steps go through the services (the desk console issue adds them as actions);
        # the change page is a read-only record.
        return False

    def save_model(self, request, obj, form, change):
        """Nothing to save: AppointmentRegisterForm.clean() registered the booking through
        appointment_register, and existing bookings are read-only here. What is left is to warn
        when the booked day lies in a year whose holidays nobody has loaded yet (DB1403/T 4)."""
        day = timezone.localtime(obj.start).date()
        if not day_info(day).year_loaded:
            messages.warning(
                request,
                _(
                    "%(day)s lies in a year whose holidays are not loaded: make sure it is not a "
                    "statutory holiday or a make-up working day."
                )
                % {"day": day.isoformat()},
            )


class RecordAdmin(HallScopedAdmin):
    """Lifecycle records are written by the services; the console lists them read-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(RecordAdmin):
    list_display = [
        "appointment",
        "state",
        "original_start",
        "new_start",
        "is_emergency",
        "requested_at",
        "decided_by",
    ]
    list_filter = ["state", "is_emergency"]
    list_select_related = ["appointment", "decided_by"]


@admin.register(NoShowFollowUp)
class NoShowFollowUpAdmin(RecordAdmin):
    list_display = ["appointment", "due_at", "assigned_to", "outcome", "recorded_at"]
    list_filter = ["outcome"]
    list_select_related = ["appointment", "assigned_to"]


@admin.register(ContactLog)
class ContactLogAdmin(RecordAdmin):
    list_display = ["appointment", "at", "purpose", "method", "by", "time_reconfirmed"]
    list_filter = ["purpose", "method"]
    list_select_related = ["appointment", "by"]
    search_fields = ["appointment__reference"]


@admin.register(ParallelTask)
class ParallelTaskAdmin(RecordAdmin):
    list_display = ["appointment", "department", "window", "confirmed_at", "confirmed_by"]
    list_filter = [("department", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["appointment", "department", "window", "confirmed_by"]


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(RecordAdmin):
    """The history of every booking; filtered by action it lists e.g. all reassignments."""

    list_display = ["at", "appointment", "action", "actor", "note"]
    list_filter = ["action"]
    list_select_related = ["appointment", "actor"]
    search_fields = ["appointment__reference"]
    date_hierarchy = "at"
