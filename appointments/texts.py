"""The text messages applicants receive about their bookings: purposes, placeholders and default
wording (registered in ``appointments.apps``; administrators may reword them)."""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from sms.registry import TextTemplate

# The placeholders every booking message may use (``notifications.booking_context``).
BOOKING = frozenset({"reference", "name", "matter", "time", "window", "hall", "address", "phone"})


class Purpose(models.TextChoices):
    BOOKING_RECEIVED = "booking_received", _("booking received")
    BOOKING_CANCELLED = "booking_cancelled", _("booking cancelled")
    BOOKING_REGISTERED = "booking_registered", _("booking registered by the hall")
    REMINDER = "reminder", _("reminder the day before")
    CHANGE_NOTICE = "change_notice", _("change notice")


TEMPLATES = {
    Purpose.BOOKING_RECEIVED: TextTemplate(
        placeholders=BOOKING,
        required=frozenset({"reference"}),
        provider_params=("reference", "time", "window"),
        default=_(
            "Booking {reference} received: {matter}, {time}, window {window}, {hall}. "
            "The window will confirm it with you. Free of charge."
        ),
    ),
    Purpose.BOOKING_CANCELLED: TextTemplate(
        placeholders=BOOKING,
        required=frozenset({"reference"}),
        provider_params=("reference", "time"),
        default=_("Booking {reference} ({time}) is cancelled."),
    ),
    # A booking the desk took by phone or on site: the applicant gets the reference and the
    # link to "My booking" (find, see what to bring, cancel) they would otherwise not have.
    Purpose.BOOKING_REGISTERED: TextTemplate(
        placeholders=BOOKING | {"link"},
        required=frozenset({"reference", "link"}),
        # The provider's template carries the booking page's address itself (a link is longer
        # than a parameter may be).
        provider_params=("reference", "time", "window"),
        default=_(
            "Booking {reference} made for you: {matter}, {time}, window {window}, {hall}, "
            "{address}. What to bring, or to cancel: {link} Free of charge."
        ),
    ),
    Purpose.REMINDER: TextTemplate(
        placeholders=BOOKING | {"materials", "cancel"},
        required=frozenset({"time"}),
        provider_params=("time", "window", "reference"),
        default=_(
            "Reminder: {matter} at {time}, window {window}, {hall}, {address}. Please bring: "
            "{materials}. Reference {reference}. To cancel: {cancel}. Free of charge."
        ),
    ),
    Purpose.CHANGE_NOTICE: TextTemplate(
        placeholders=BOOKING | {"old_time", "new_time", "new_window", "reason"},
        required=frozenset({"new_time"}),
        provider_params=("reference", "old_time", "new_time", "new_window"),
        default=_(
            "Your booking {reference} is changed from {old_time} to {new_time}, window "
            "{new_window}. Reason: {reason}. Questions: {phone}."
        ),
    ),
}


def booking_time_key(start: dt.datetime) -> str:
    """A booking's time as it appears in dedupe keys (minutes, UTC)."""
    return f"{start.astimezone(dt.UTC):%Y%m%d%H%M}"
