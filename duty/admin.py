from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    CalendarDay,
    Department,
    Hall,
    HolidayYear,
    PhoneLinePeriod,
    ServicePeriod,
    StaffProfile,
    Window,
)
from .roles import Role
from .scoping import hall_lookup_for, scope_to_user, user_hall_id, user_keeps_shared_data

admin.site.site_header = _("Appointment and no-rest service")
admin.site.site_title = _("Appointment and no-rest service")
admin.site.index_title = _("Service console")


class HallScopedMixin:
    """Limit lists, detail pages, searches and choice lists to the user's hall(s)."""

    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user)

    def _scope_field(self, field, db_field, request):
        if field is not None and hall_lookup_for(db_field.related_model) is not None:
            field.queryset = scope_to_user(field.queryset, request.user)
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
    list_display = ["username", "first_name", "last_name", "is_staff", "is_active"]
    list_select_related = ["staff_profile"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(is_superuser=False)
        return queryset

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
