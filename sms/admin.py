from django.contrib import admin

from duty.admin import HallScopedAdmin

from .models import Message


@admin.register(Message)
class MessageAdmin(HallScopedAdmin):
    """The SMS log, read-only: what went to which booking's applicant, and whether it went.

    Hall staff see the messages of their hall's bookings; verification codes (masked) belong
    to no booking and are seen only by those who see every hall.
    """

    list_display = ["created_at", "purpose", "phone", "appointment", "status", "sent_at", "error"]
    list_filter = ["status", "purpose", "backend"]
    search_fields = ["appointment__reference"]
    list_select_related = ["appointment"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
