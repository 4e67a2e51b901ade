"""Halls, departments, windows and staff profiles in the console (DB1403/T 4, 5.2): hall
administrators keep their hall (the national holiday table is in ``holidays``)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import (
    Department,
    Hall,
    PhoneLinePeriod,
    ServicePeriod,
    StaffProfile,
    Window,
)
from .hall_scoped import HallScopedAdmin, ScopedTabularInline


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
