"""The booking's lifecycle records listed read-only: changes, no-show follow-ups, contacts,
parallel tasks and the history. The services write them."""

from django.contrib import admin

from duty.admin import HallScopedAdmin

from ..models import (
    AppointmentEvent,
    ChangeRequest,
    ContactLog,
    NoShowFollowUp,
    ParallelTask,
)
from ..time_filters import ChangeNoticeFilter


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
    list_filter = ["state", "is_emergency", ChangeNoticeFilter]
    list_select_related = ["appointment", "decided_by"]
    # The assessment (DB1403/T 7.4) links here with the staff member the change counts against.
    assessment_lookups = ("appointment__responsible_staff",)
    # The dashboard links here with the hall and department filtered on (DB1403/T 6.2.2).
    dashboard_lookups = ("original_window__hall", "appointment__matter__departments")

    def lookup_allowed(self, lookup, value, request=None):
        return (
            lookup in self.assessment_lookups
            or lookup in self.dashboard_lookups
            or super().lookup_allowed(lookup, value, request)
        )


@admin.register(NoShowFollowUp)
class NoShowFollowUpAdmin(RecordAdmin):
    list_display = ["appointment", "due_at", "assigned_to", "outcome", "recorded_at"]
    list_filter = ["outcome", ("appointment__window", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["appointment", "assigned_to"]
    # The dashboard links here with the hall and department filtered on (DB1403/T 6.2.3).
    dashboard_lookups = ("appointment__window__hall", "appointment__matter__departments")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.dashboard_lookups or super().lookup_allowed(lookup, value, request)


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
