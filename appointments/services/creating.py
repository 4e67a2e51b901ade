"""Creating bookings: registered by staff (on site or by phone) and booked online by the
applicant (DB1403/T 5.1.1, 5.1.2, 6.1.1)."""

import datetime as dt
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from duty.calendar import local, phone_line_is_open, show_time
from duty.models import Window
from sms.phones import phone_clean, phone_is_mobile
from sms.services import sms_send
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import locking_transaction

from ..models import (
    LIVE_STATUSES,
    Appointment,
    Channel,
    Matter,
    Status,
)
from ..notifications import booking_context, booking_page_url
from ..slots import SlotTime
from ..texts import Purpose
from ._common import (
    OPEN_STATUSES,
    STAFF_CHANNELS,
    Action,
    _name_clean,
    _require_hall,
    _slot_busy,
)
from ._placing import _create, _short_notice_clean
from .rules import booking_lead_is_sufficient, booking_target_clean


def appointment_register(
    *,
    matter: Matter,
    window: Window,
    start: dt.datetime,
    applicant_name: str,
    phone,
    channel: str,
    actor,
    now: dt.datetime,
    content: str = "",
    remarks: str = "",
    short_notice_reason: str = "",
    allow_duplicate: bool = False,
) -> Appointment:
    """The desk registers an on-site or phone booking into the register.

    DB1403/T 5.1.3 a/b and 6.1.2 (name, phone, time, matter, who received it, remarks);
    5.1.1: under 24 h ahead only with a recorded reason; 5.1.3 b: a phone booking taken while
    the phone line is closed is flagged. A mobile number gets the booking's reference, time,
    place and the link to "My booking" by SMS (``_registered_notice``), in the same transaction.

    A number that already has a live booking of the same matter on the same day is most likely
    the same caller registered twice (a call repeated, two clerks): refused with a warning
    naming that booking, unless ``allow_duplicate`` says the clerk checked and it is another
    one (a parent booking for two children under one number). A warning, not a refusal: the
    desk knows cases the rule cannot.
    """
    _require_perm(actor, "appointments.register_appointment")
    if window is not None:
        _require_hall(actor, window.hall_id)
    if channel not in STAFF_CHANNELS:
        raise _error("channel", _("The desk registers on-site or phone bookings."), "channel")
    name = _name_clean(applicant_name)
    number = phone_clean(phone, mobile_only=False)
    slot = booking_target_clean(matter=matter, window=window, start=start, now=now)
    reason = _short_notice_clean(start=start, now=now, reason=short_notice_reason, actor=actor)
    if not allow_duplicate:
        _duplicate_check(matter=matter, phone=number, slot=slot)
    outside = channel == Channel.PHONE and not phone_line_is_open(hall=window.hall, now=now)
    with locking_transaction(busy=_slot_busy):
        appointment = _create(
            matter=matter,
            window=window,
            slot=slot,
            now=now,
            actor=actor,
            action=Action.REGISTERED,
            channel=channel,
            status=Status.ACCEPTED,
            accepted_at=now,
            received_by=actor,
            applicant_name=name,
            phone=number,
            content=(content or "").strip(),
            remarks=(remarks or "").strip(),
            short_notice_reason=reason,
            outside_phone_hours=outside,
        )
        _registered_notice(appointment, now=now)
    return appointment


def _registered_notice(appointment: Appointment, *, now: dt.datetime) -> None:
    """The applicant of a phone or on-site booking learns its reference and where to find it
    online, once per booking; a landline cannot take a text message."""
    if not phone_is_mobile(appointment.phone):
        return
    sms_send(
        purpose=Purpose.BOOKING_REGISTERED,
        phone=appointment.phone,
        context={
            **booking_context(appointment=appointment),
            "link": booking_page_url(appointment=appointment),
        },
        subject=appointment,
        dedupe_key=f"{Purpose.BOOKING_REGISTERED}:{appointment.pk}",
        now=now,
        subject_is_new=True,  # registered in this transaction: no message of it yet
    )


class BookingPlace(NamedTuple):
    matter: Matter | None
    window: Window | None
    window_handles_matter: bool


def booking_place_load(*, matter_id: int, window_id: int) -> BookingPlace:
    """The matter, the window with its hall, and whether the window handles the matter: one
    query through their link when it does (every sound request), which also counts the matter's
    departments (DB1403/T 6.1.1 b: parallel tasks only for two or more); two when it does not,
    so that the refusal can name what is wrong (``booking_target_clean``)."""
    departments = (
        Matter.departments.through.objects.filter(matter_id=OuterRef("matter_id"))
        .values("matter_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    link = (
        Matter.windows.through.objects.filter(matter_id=matter_id, window_id=window_id)
        .select_related("matter", "window__hall")
        .annotate(department_count=Coalesce(Subquery(departments), 0))
        .first()
    )
    if link is not None:
        link.matter.department_count = link.department_count
        return BookingPlace(link.matter, link.window, True)
    return BookingPlace(
        Matter.objects.filter(pk=matter_id).first(),
        Window.objects.filter(pk=window_id).select_related("hall").first(),
        False,
    )


def _online_limits_check(*, matter: Matter, phone, slot: SlotTime, now: dt.datetime) -> None:
    """Local practice against hoarding (not in DB1403/T): a mobile number holds at most
    ONLINE_OPEN_BOOKINGS_PER_PHONE open bookings, and one booking per matter per day; both
    counted in one query over the number's bookings (index on phone, start).

    Race: two bookings of one number at once could both pass the count; the citizen path runs
    this under the lock of the number's verification code (``sms.services.verified_number``).
    """
    is_open = Q(status__in=OPEN_STATUSES, start__gt=now)
    same_day = _same_matter_same_day_q(matter=matter, slot=slot)
    counts = (
        Appointment.objects.filter(phone=phone)
        .filter(is_open | same_day)
        .aggregate(open=Count("pk", filter=is_open), same_day=Count("pk", filter=same_day))
    )
    open_bookings = counts["open"]
    if open_bookings >= settings.ONLINE_OPEN_BOOKINGS_PER_PHONE:
        raise _error(
            "phone",
            _(
                "This number already has %(count)s open bookings; cancel one or wait until it "
                "has been served before booking again."
            )
            % {"count": open_bookings},
            "too_many_bookings",
        )
    if counts["same_day"]:
        day = local(slot.start).date()
        raise _error(
            "start",
            _("This number already has a booking for “%(matter)s” on %(day)s.")
            % {"matter": matter, "day": formats.date_format(day, "Y-m-d")},
            "same_matter_same_day",
        )


def _same_matter_same_day_q(*, matter: Matter, slot: SlotTime) -> Q:
    """Live bookings of ``matter`` on the slot's local day."""
    tz = timezone.get_default_timezone()
    day_start = dt.datetime.combine(local(slot.start).date(), dt.time.min, tzinfo=tz)
    return Q(
        matter=matter,
        status__in=LIVE_STATUSES,
        start__gte=day_start,
        start__lt=day_start + dt.timedelta(days=1),
    )


def _same_matter_same_day(*, matter: Matter, phone, slot: SlotTime) -> Appointment | None:
    """The number's first live booking of ``matter`` on the slot's local day, if any."""
    return (
        Appointment.objects.filter(_same_matter_same_day_q(matter=matter, slot=slot), phone=phone)
        .order_by("start", "pk")
        .first()
    )


def _duplicate_check(*, matter: Matter, phone, slot: SlotTime) -> None:
    """The desk's warning of a caller registered twice (see ``appointment_register``).

    Not under the slot's lock: two clerks registering the same caller in the same second both
    pass, and both bookings stand in the register for the desk to see; a warning needs no more.
    """
    existing = _same_matter_same_day(matter=matter, phone=phone, slot=slot)
    if existing is None:
        return
    raise _error(
        "allow_duplicate",
        _(
            "This number already has booking %(reference)s for “%(matter)s” on %(time)s "
            "(%(name)s). If this is another booking, not the same one twice, tick “register "
            "anyway” and save again."
        )
        % {
            "reference": existing.reference,
            "matter": matter,
            "time": show_time(existing.start),
            "name": existing.applicant_name,
        },
        "possible_duplicate",
    )


def appointment_book_online(
    *,
    matter: Matter,
    window: Window,
    start: dt.datetime,
    applicant_name: str,
    phone,
    now: dt.datetime,
    content: str = "",
    window_handles_matter: bool | None = None,
) -> Appointment:
    """A citizen books online; it waits for the window to reconfirm.

    DB1403/T 5.1.1: at least 24 h ahead, no exception; 5.1.3 c: status "waiting for the window
    to confirm" until staff reconfirm by phone or SMS. A mobile number is required.
    Citizens reach this through ``appointments.citizen.citizen_booking_create``, which first
    proves that they hold the number.
    """
    horizon = dt.timedelta(days=settings.BOOKING_HORIZON_DAYS)
    name = _name_clean(applicant_name)
    number = phone_clean(phone, mobile_only=True)
    _require_aware(now)
    if isinstance(start, dt.datetime) and timezone.is_aware(start) and start > now + horizon:
        raise _error(
            "start",
            _("Bookings open %(days)s days ahead; choose an earlier time.")
            % {"days": settings.BOOKING_HORIZON_DAYS},
            "too_far",
        )
    slot = booking_target_clean(
        matter=matter,
        window=window,
        start=start,
        now=now,
        window_handles_matter=window_handles_matter,
    )
    if not booking_lead_is_sufficient(start=start, now=now):
        raise _error(
            "start",
            _("Online bookings must be made at least 24 hours ahead; choose a later time."),
            "short_notice",
        )
    _online_limits_check(matter=matter, phone=number, slot=slot, now=now)
    return _create(
        matter=matter,
        window=window,
        slot=slot,
        now=now,
        actor=None,
        action=Action.BOOKED,
        channel=Channel.ONLINE,
        status=Status.PENDING,
        applicant_name=name,
        phone=number,
        content=(content or "").strip(),
    )
