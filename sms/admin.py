from django.contrib import admin, messages
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from duty.admin import HallScopedAdmin

from .models import Alert, Message, MessageTemplate
from .templates import DEFAULTS, PLACEHOLDERS


class ReadOnlyMixin:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BookingFilter(admin.SimpleListFilter):
    title = _("booking")
    parameter_name = "booking"

    def lookups(self, request, model_admin):
        return [("upcoming", _("not yet past"))]

    def queryset(self, request, queryset):
        if self.value() == "upcoming":
            return queryset.filter(appointment__start__gte=timezone.now())
        return queryset


@admin.register(Message)
class MessageAdmin(ReadOnlyMixin, HallScopedAdmin):
    """The SMS log, read-only: what went to which booking's applicant, and whether it went.

    Hall staff see the messages of their hall's bookings; verification codes (masked) belong
    to no booking and are seen only by those who see every hall. Filter “failed” for the
    messages somebody must follow up by phone.
    """

    list_display = [
        "created_at",
        "purpose",
        "phone",
        "appointment",
        "status",
        "attempts",
        "sent_at",
        "error",
    ]
    list_filter = ["status", BookingFilter, "purpose", "backend"]
    search_fields = ["appointment__reference", "booking_reference"]
    list_select_related = ["appointment"]
    date_hierarchy = "created_at"


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Each staff member's own alerts, unread first; marking them read is the only change."""

    list_display = ["created_at", "kind", "text", "appointment", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["appointment"]
    actions = ["mark_read"]
    fields = ["kind", "text", "appointment", "created_at", "read_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(recipient=request.user)
            .order_by(F("read_at").desc(nulls_first=True), "-created_at")
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_mark_read_permission(self, request):
        # Marking one's own alerts read is not a change of the hall's data: supervisors, who
        # only read, may do it too.
        return self.has_view_permission(request)

    @admin.action(description=_("Mark as read"), permissions=["mark_read"])
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d alert marked read.", "%(count)d alerts marked read.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """Administrators word the messages; placeholders are checked when a template is saved."""

    list_display = ["purpose", "text", "updated_at", "updated_by"]
    fields = ["purpose", "text", "placeholders", "default_text"]
    readonly_fields = ["placeholders", "default_text"]

    @admin.display(description=_("placeholders you may use"))
    def placeholders(self, obj):
        purpose = getattr(obj, "purpose", None)
        if not purpose:
            return _("Choose the purpose and save to see them.")
        return ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS[purpose]))

    @admin.display(description=_("default text"))
    def default_text(self, obj):
        purpose = getattr(obj, "purpose", None)
        return str(DEFAULTS[purpose]) if purpose else "-"

    def save_model(self, request, obj, form, change):
        obj.updated_at, obj.updated_by = timezone.now(), request.user
        super().save_model(request, obj, form, change)
