"""What the applicant is told by SMS, and when (DB1403/T 5.1.3 c, 6.1.3, 6.2.2)."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from duty.calendar import show_time

from .models import Appointment, ChangeRequest


def booking_context(*, appointment: Appointment) -> dict:
    """The placeholders every booking message may use."""
    hall = appointment.window.hall
    return {
        "reference": appointment.reference,
        "name": appointment.applicant_name,
        "matter": appointment.matter.name,
        "time": show_time(appointment.start),
        "window": str(appointment.window),
        "hall": hall.name,
        "address": hall.address,
        "phone": hall.phone,
        "materials": "、".join(appointment.matter.material_list) or "-",
        "cancel": _(
            "under “My booking” on the booking site up to %(hours)s h before, or call %(phone)s"
        )
        % {"hours": settings.CITIZEN_CANCEL_MIN_HOURS, "phone": hall.phone or "-"},
    }


def booking_page_url(*, appointment: Appointment) -> str:
    """The absolute address of "My booking" with the reference filled in (SITE_URL), in the
    site's default language: the applicant adds the mobile number and a code to open it."""
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse("public:lookup")
    return f"{settings.SITE_URL}{path}?{urlencode({'reference': appointment.reference})}"


def change_context(*, change: ChangeRequest) -> dict:
    return {
        **booking_context(appointment=change.appointment),
        "old_time": show_time(change.original_start),
        "new_time": show_time(change.new_start),
        "new_window": str(change.new_window),
        # The template ends the sentence itself.
        "reason": change.reason.strip().rstrip("。.!！"),
    }
