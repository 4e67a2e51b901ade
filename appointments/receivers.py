"""Reactions to what other apps report: sms's message_skip_reason_wanted, message_delivered and
message_undelivered, duty's duty_assignments_created, holiday_bookings_wanted and
calendar_days_changed, and Django's model signals for the availability cache."""

import datetime as dt
import functools
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from duty.models import (
    CalendarDay,
    Duty,
    DutyAssignment,
    HolidayYear,
    LeaveRequest,
    ServicePeriod,
    Window,
)
from duty.roles import Role, staff_with_role, supervisors_by_hall
from duty.signals import calendar_days_changed, duty_assignments_created, holiday_bookings_wanted
from sms.models import Alert, Message
from sms.signals import message_delivered, message_skip_reason_wanted, message_undelivered
from sms.subjects import subject_fields
from yuyue.stored_texts import stored_text
from yuyue.sweeps import alerts_create, alerts_to

from .availability_cache import availability_places_changed
from .models import LIVE_STATUSES, Appointment, ChangeRequest, Matter, Slot, Status
from .notifications import show_time
from .services import (
    OPEN_STATUSES,
    change_phone_alerts_create,
    change_request_apply_on_delivery,
)
from .services.rules import change_notice_in_time
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
        return stored_text(gettext_noop("booking deleted"))
    if appointment.status == Status.CANCELLED and message.purpose != Purpose.BOOKING_CANCELLED:
        return stored_text(gettext_noop("booking cancelled"))
    if message.purpose == Purpose.REMINDER and not (message.dedupe_key or "").endswith(
        f":{booking_time_key(appointment.start)}"
    ):
        return stored_text(gettext_noop("booking moved since the reminder was written"))
    if message.purpose == Purpose.BOOKING_REGISTERED and appointment.status not in OPEN_STATUSES:
        return stored_text(gettext_noop("booking no longer open"))
    return ""


@receiver(message_skip_reason_wanted, sender=ChangeRequest)
def change_message_skip_reason(sender, *, message: Message, record: ChangeRequest | None, **kwargs):
    """A change notice goes out only while its change is approved, and only while it can still
    reach the applicant 8 h before the original time (DB1403/T 6.2.2): later, staff phone
    (``change_notice_sweep`` alerts them at the mark). ``claimed_at`` is the send's moment."""
    change = record
    if message.purpose != Purpose.CHANGE_NOTICE:
        return ""
    if change is None or change.state != ChangeRequest.State.APPROVED:
        return stored_text(gettext_noop("change no longer approved"))
    if not change.is_emergency and not change_notice_in_time(
        original_start=change.original_start, now=message.claimed_at
    ):
        return stored_text(
            gettext_noop("under 8 h before the original time: the applicant is phoned instead")
        )
    return ""


@receiver(message_undelivered, sender=ChangeRequest)
def change_notice_undelivered(sender, *, message: Message, record: ChangeRequest | None, **kw):
    """DB1403/T 6.2.2: a change notice the provider could not deliver: staff phone now rather
    than wait for the 8 h mark."""
    change = record
    if (
        message.purpose == Purpose.CHANGE_NOTICE
        and change is not None
        and change.state == ChangeRequest.State.APPROVED
    ):
        change_phone_alerts_create(change=change, now=message.receipt_at)


@receiver(message_delivered, sender=ChangeRequest)
def change_notice_delivered(sender, *, message: Message, record: ChangeRequest | None, **kwargs):
    """DB1403/T 6.2.2: the approved change takes effect when its SMS notice has reached the
    applicant, judged at the delivery time the provider reports. If it cannot be applied, whoever
    approved it is alerted."""
    change = record
    if message.purpose != Purpose.CHANGE_NOTICE or change is None:
        return
    try:
        change_request_apply_on_delivery(change=change, delivered_at=message.delivered_at)
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
                    "created_at": message.delivered_at,
                },
            )


@receiver(post_delete, sender=Appointment, dispatch_uid="appointments.delete_booking_alerts")
def delete_booking_alerts(sender, instance: Appointment, **kwargs) -> None:
    """A deleted booking's alerts go with it (its messages stay in the log, and are skipped)."""
    Alert.objects.about(instance).delete()


# What slots are made of: a committed change to any of them makes every cached availability
# answer stale (slots.availability_changed). Bookings make only their own days stale (below).
AVAILABILITY_INPUTS = (
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
    if sender is Duty and kwargs.get("created"):
        # A new duty has nobody on it (a holiday booking opens one, DB1403/T 4): no slot is
        # staffed by it until an assignment is made, which tells on its own.
        return
    transaction.on_commit(availability_changed)


# A booking's place counts in availability by its window, start and status.
_PLACE_FIELDS = {"window", "window_id", "start", "status"}


@receiver(pre_save, sender=Appointment, dispatch_uid="appointments.availability_place_was")
def _booking_place_was(sender, instance: Appointment, update_fields=None, raw=False, **kwargs):
    """A booking that moves frees its old place too: note it before the row is written (one
    query, only when the window or time may change)."""
    if raw or instance._state.adding:
        return
    if update_fields is not None and not {"window", "window_id", "start"} & set(update_fields):
        return
    instance._availability_place_was = (
        Appointment.objects.filter(pk=instance.pk).values_list("window_id", "start").first()
    )


def _places_offered(places: set[tuple[int, dt.datetime]]) -> set[tuple[int, dt.datetime]]:
    """The places availability can still show: those starting after the 24-hour lead (DB1403/T
    5.1.1). The desk's steps on today's bookings (arrived, served, missed) change none."""
    lead_ends = timezone.now() + dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS)
    return {(window_id, start) for window_id, start in places if start >= lead_ends}


def _booking_place_changed(sender, instance: Appointment, update_fields=None, **kwargs) -> None:
    if update_fields is not None and not _PLACE_FIELDS & set(update_fields):
        return  # confirmed, contacted, noted: the same place, the same count
    places = {(instance.window_id, instance.start)}
    if was := instance.__dict__.pop("_availability_place_was", None):
        places.add(was)
    if places := _places_offered(places):
        transaction.on_commit(
            functools.partial(availability_places_changed, places), using=kwargs.get("using")
        )


def _slot_capacity_changed(sender, instance: Slot, created=False, **kwargs) -> None:
    """A slot's own capacity (set by an administrator) changes only its day."""
    if created and instance.capacity is None:
        return  # the row a booking locks, made with the first booking of the slot
    if places := _places_offered({(instance.window_id, instance.start)}):
        transaction.on_commit(
            functools.partial(availability_places_changed, places), using=kwargs.get("using")
        )


post_save.connect(_slot_capacity_changed, sender=Slot, dispatch_uid="avail-slot-save")
post_delete.connect(_slot_capacity_changed, sender=Slot, dispatch_uid="avail-slot-delete")
post_save.connect(_booking_place_changed, sender=Appointment, dispatch_uid="avail-booking-save")
post_delete.connect(_booking_place_changed, sender=Appointment, dispatch_uid="avail-booking-delete")


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


@receiver(calendar_days_changed, dispatch_uid="appointments.calendar_days_changed")
def bookings_on_changed_days(sender, *, year, changed, now, **kwargs) -> list[str]:
    """DB1403/T 4, 6.2.2: a year's official holiday arrangement changed the kind of ``changed``'s
    dates. The live bookings on them are neither moved nor dropped: they are listed, per hall,
    in one alert to the hall's desk and supervisors to check (and contact the applicant if the
    window will not serve then); the list is returned for the page or command that entered it.
    Three queries whatever the number of dates and bookings."""
    tz = timezone.get_default_timezone()
    first, last = min(changed), max(changed)
    bookings = [
        b
        for b in Appointment.objects.filter(
            status__in=LIVE_STATUSES,
            start__gte=dt.datetime.combine(first, dt.time.min, tzinfo=tz),
            start__lt=dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
        )
        .select_related("window")
        .order_by("start", "window__number")
        if timezone.localtime(b.start).date() in changed
    ]
    by_hall: dict[int, list[str]] = {}
    for booking in bookings:
        before, after = changed[timezone.localtime(booking.start).date()]
        by_hall.setdefault(booking.window.hall_id, []).append(
            # No name or number: alerts are kept with no retention period; the reference finds
            # the booking (and the applicant) in the console.
            _("%(ref)s, %(time)s, window %(window)s: %(before)s → %(after)s")
            % {
                "ref": booking.reference,
                "time": show_time(booking.start),
                "window": booking.window.number,
                "before": before.kind_label,
                "after": after.kind_label,
            }
        )
    if not by_hall:
        return []
    desk: dict[int, set[int]] = {}
    for user in staff_with_role(Role.DESK, by_hall):
        desk.setdefault(user.staff_profile.hall_id, set()).add(user.pk)
    supervisors = supervisors_by_hall(by_hall)
    alerts = []
    for hall_id, lines in by_hall.items():
        text = _(
            "The official holiday arrangement of %(year)s changes the kind of day of these "
            "bookings; none was moved or cancelled. Check each one (is its window served then, "
            "is someone on duty) and contact the applicant if it must change:"
        ) % {"year": year}
        alerts += alerts_to(
            desk.get(hall_id, set()) | set(supervisors.get(hall_id, [])),
            dedupe_key=f"calendar:{year}:{now.isoformat()}:{hall_id}",
            hall_id=hall_id,
            kind=Alert.Kind.CALENDAR_CHANGED,
            text="\n".join([text, *lines]),
            created_at=now,
        )
    alerts_create(alerts=alerts)
    return [line for lines in by_hall.values() for line in lines]
