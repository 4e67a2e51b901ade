"""The SMS list in the console, scoped to the hall and filterable by booking (sms's own admin knows
no booking)."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duty.admin import HallScopedMixin
from sms.admin import MessageAdmin
from sms.models import Message

from ..models import (
    Appointment,
)


class BookingFilter(admin.SimpleListFilter):
    title = _("booking")
    parameter_name = "booking"

    def lookups(self, request, model_admin):
        return [("upcoming", _("not yet past"))]

    def queryset(self, request, queryset):
        if self.value() == "upcoming":
            return queryset.about_any(Appointment.objects.filter(start__gte=timezone.now()))
        return queryset


@admin.register(Message)
class BookingMessageAdmin(HallScopedMixin, MessageAdmin):
    """The SMS log, read-only: what went to which booking's applicant, and whether it went.

    Hall staff see the messages of their hall's bookings; verification codes (masked) and
    complaint messages belong to no booking and are seen only by those who see every hall.
    Filter “failed” and “not yet past” for the messages somebody must follow up by phone (the
    desk's front page links there). Registered here, not in ``sms``: the hall scoping and the
    booking filter are this app's and ``duty``'s knowledge.
    """

    list_filter = ["status", BookingFilter, "purpose", "backend"]
