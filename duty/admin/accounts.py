"""Staff accounts in the console: users with their profile and roles (a hall administrator
never grants the roles that see every hall), two-step verification reset, and the sign-in
records of lockouts (django-axes) and two-step devices (django-otp)."""

import axes.admin  # noqa: F401 (registers its models, replaced below)
import django_otp.plugins.otp_static.admin  # noqa: F401 (registers its model, removed below)
import django_otp.plugins.otp_totp.admin  # noqa: F401 (registers its model, removed below)
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..models import StaffProfile
from ..roles import Role
from ..rosters import person
from ..scoping import user_hall_id
from ..signin import (
    lockout_active,
    lockouts_release,
    staff_managed_by,
    two_step_may_reset,
    two_step_reset,
)
from .hall_scoped import HallScopedMixin


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
