"""Reactions to what other apps report: sms's message_skip_reason_wanted and message_sent,
duty's duty_assignments_created and holiday_bookings_wanted, and Django's model signals for the
availability cache."""

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from duty.models import (
    CalendarDay,
    Duty,
    DutyAssignment,
    HolidayYear,
    LeaveRequest,
    ServicePeriod,
    Window,
)
from duty.signals import duty_assignments_created, holiday_bookings_wanted
from sms.models import Alert, Message
from sms.signals import message_sent, message_skip_reason_wanted
from sms.subjects import subject_fields

from .models import LIVE_STATUSES, Appointment, ChangeRequest, Matter, Slot, Status
from .notifications import show_time
from .services import OPEN_STATUSES, change_request_apply_on_sms
from .slots import availability_changed
from .texts import Purpose, booking_time_key

logger = logging.getLogger(__name__)


# --- messages about bookings and changes (sms.signals) ---------------------------------------


@receiver(message_skip_reason_wanted, sender=Appointment)
def booking_message_skip_reason(sender, *, message: Message, record: Appointment | None, **kwargs):
    """Why a queued message about a booking no longer applies: the booking was deleted or
    cancelled (except the cancellation's own message), a reminder's booking has moved, or the
    booking the desk registered was served or missed before its text went out."""
    appointment = record
    if appointment is None:
        return "booking deleted"
    if appointment.status == Status.CANCELLED and message.purpose != Purpose.BOOKING_CANCELLED:
        return "booking cancelled"
    if message.purpose == Purpose.REMINDER and not (message.dedupe_key or "").endswith(
        f":{booking_time_key(appointment.start)}"
    ):
        return "booking moved since the reminder was written"
    if message.purpose == Purpose.BOOKING_REGISTERED and appointment.status not in OPEN_STATUSES:
        return "booking no longer open"
    return ""


@receiver(message_skip_reason_wanted, sender=ChangeRequest)
def change_message_skip_reason(sender, *, message: Message, record: ChangeRequest | None, **kwargs):
    """A change notice goes out only while its change is approved (DB1403/T 6.2.2)."""
    change = record
    if message.purpose == Purpose.CHANGE_NOTICE and (
        change is None or change.state != ChangeRequest.State.APPROVED
    ):
        return "change no longer approved"
    return ""


@receiver(message_sent, sender=ChangeRequest)
def change_notice_sent(sender, *, message: Message, record: ChangeRequest | None, **kwargs):
    """DB1403/T 6.2.2: the approved change takes effect when its SMS notice has gone out,
    judged at the message's send time. If that is too late, whoever approved it is alerted."""
    change = record
    if message.purpose != Purpose.CHANGE_NOTICE or change is None:
        return
    try:
        change_request_apply_on_sms(change=change, now=message.sent_at)
    except Exception as error:  # noqa: BLE001 - whatever it is, a person must hear of it
        reasons = error.messages if isinstance(error, ValidationError) else [str(error)]
        logger.warning("Change %s not applied after its SMS: %s", change.pk, reasons)
        recipient = change.decided_by_id or change.requested_by_id
        if recipient:
            Alert.objects.get_or_create(
                dedupe_key=f"change_not_applied:{change.pk}",
                defaults={
                    "recipient_id": recipient,
                    "hall_id": change.original_window.hall_id,
                    "kind": Alert.Kind.CHANGE_NOT_APPLIED,
                    **subject_fields(Appointment, change.appointment_id),
                    "text": _(
                        "The change of %(ref)s to %(time)s was not applied after its SMS: "
                        "%(reason)s"
                    )
                    % {
                        "ref": message.subject_reference,
                        "time": show_time(change.new_start),
                        "reason": " ".join(reasons),
                    },
                    "created_at": message.sent_at,
                },
            )


@receiver(post_delete, sender=Appointment, dispatch_uid="appointments.delete_booking_alerts")
def delete_booking_alerts(sender, instance: Appointment, **kwargs) -> None:
    """A deleted booking's alerts go with it (its messages stay in the log, and are skipped)."""
    Alert.objects.about(instance).delete()


AVAILABILITY_INPUTS = (
    Appointment,
    Slot,
    Window,
    ServicePeriod,
    CalendarDay,
    HolidayYear,
    Matter,
    # DB1403/T 5.2: off-hours slots are offered only while someone is on duty.
    Duty,
    DutyAssignment,
    LeaveRequest,
)


def _availability_input_changed(sender, **kwargs) -> None:
    transaction.on_commit(availability_changed)


for model in AVAILABILITY_INPUTS:
    post_save.connect(_availability_input_changed, sender=model, dispatch_uid=f"avail-save-{model}")
    post_delete.connect(
        _availability_input_changed, sender=model, dispatch_uid=f"avail-delete-{model}"
    )
m2m_changed.connect(
    _availability_input_changed, sender=Matter.windows.through, dispatch_uid="avail-matter-windows"
)
# Rosters put people on duties with bulk_create, which sends no post_save.
duty_assignments_created.connect(
    _availability_input_changed, dispatch_uid="avail-duty-assignments-created"
)


@receiver(holiday_bookings_wanted, dispatch_uid="appointments.holiday_bookings")
def holiday_bookings(sender, *, window_ids, periods, **kwargs) -> set[tuple[int, dt.datetime]]:
    """DB1403/T 4: (window, period start) of the holiday ``periods`` that hold a live booking in
    ``window_ids``, for duty's roster check; one query."""
    holiday_periods = sorted({(p.start, p.end) for p in periods if p.is_holiday})
    if not holiday_periods:
        return set()
    found = set()
    rows = Appointment.objects.filter(
        window_id__in=window_ids,
        status__in=LIVE_STATUSES,
        start__gte=holiday_periods[0][0],
        start__lt=holiday_periods[-1][1],
    ).values_list("window_id", "start")
    for window_id, start in rows:
        for p_start, p_end in holiday_periods:
            if p_start <= start < p_end:
                found.add((window_id, p_start))
    return found
