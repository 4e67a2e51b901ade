"""The booking lifecycle as service functions (DB1403/T 5.1, 6.1, 6.2).

Every function is keyword-only, takes ``now`` and refuses an illegal move with a
``ValidationError`` keyed by the field it concerns (or ``PermissionDenied``), leaving nothing
half-saved. Views, the admin, commands and tasks call these; none re-implements a rule.

Lock order, everywhere: the booking row first, then its change, follow-up or task rows, then
slot rows. New bookings lock only their slot row. Keeping to it is what keeps PostgreSQL free of
deadlocks (tests/test_concurrency.py races the pairs that once deadlocked). Every transaction
that locks is a ``locking_transaction`` (yuyue/locks.py): a lock held elsewhere is waited for at
most BOOKING_LOCK_TIMEOUT_SECONDS, then refused as busy (``SlotBusyError`` for a slot, else
``BusyError``) with nothing saved (tests/test_lock_timeouts.py).
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError
from django.db.models import Exists, Model, OuterRef
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from phonenumber_field.phonenumber import PhoneNumber

from duty.calendar import local, phone_line_is_open, representable
from duty.models import DayType, Window
from duty.names import staff_name
from duty.rosters import duty_open_for_holiday_booking
from duty.scoping import user_hall_id
from sms.models import Message
from sms.phones import phone_clean, phone_is_mobile
from sms.services import sms_send
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import BusyError, busy_error, lock_wait_timed_out, locking_transaction
from yuyue.transitions import Transition, TransitionTable

from .models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    ChangeRequest,
    Channel,
    ContactLog,
    ContactMethod,
    Matter,
    NoShowFollowUp,
    ParallelTask,
    Slot,
    Status,
    new_reference,
)
from .notifications import change_context, show_time
from .signals import appointment_served
from .slots import SlotTime, slot_at

Action = AppointmentEvent.Action
STAFF_CHANNELS = (Channel.ONSITE, Channel.PHONE)
OPEN_STATUSES = (Status.PENDING, Status.ACCEPTED, Status.HANDED_OVER)
AWAITING_ARRIVAL = (Status.ACCEPTED, Status.HANDED_OVER)


class SlotFullError(ValidationError):
    """The slot has no place left (an API answers 409)."""


class SlotBusyError(BusyError):
    """The slot's row stayed locked by someone else for BOOKING_LOCK_TIMEOUT_SECONDS (a rival
    booking, or a stuck transaction): nothing was booked; try again (an API answers 503)."""


def _slot_busy() -> SlotBusyError:
    return SlotBusyError(
        {
            "start": ValidationError(
                _(
                    "This time is being booked by someone else right now; please try again in a "
                    "moment."
                ),
                code="slot_busy",
            )
        }
    )


def _booking_busy() -> BusyError:
    return busy_error(
        _("Someone else is working on this booking right now; please try again in a moment."),
        code="booking_busy",
    )


# --- small helpers ----------------------------------------------------------------------------


def _require_hall(actor, hall_id: int) -> None:
    """Staff act only on their own hall's bookings (city supervisors only read)."""
    if actor.is_superuser:
        return
    if user_hall_id(actor) != hall_id:
        raise PermissionDenied(_("This booking belongs to another hall."))


def _jsonable(value):
    if isinstance(value, dt.datetime):
        return local(value).isoformat()
    if isinstance(value, AbstractBaseUser):
        return staff_name(value)  # the history names people, not logins
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, PhoneNumber):
        return value.as_e164
    return value


def _lock(appointment: Appointment) -> Appointment:
    return _lock_id(appointment.pk)


def _lock_id(appointment_id: int) -> Appointment:
    # Race: two staff act on the same booking at once (check-in vs cancel, two confirms).
    # Locking the row makes the second wait and then see the first one's status.
    # NO KEY: history and contact rows that rivals insert for this booking need only a key-share
    # lock on it, which must not wait. No joins: PostgreSQL re-checks a waiting row lock against
    # the row as the winner left it but against the joined rows as they were, so a booking
    # whose window had just changed would seem to vanish.
    # Call inside locking_transaction(): a booking held by a stuck transaction answers "busy"
    # after BOOKING_LOCK_TIMEOUT_SECONDS instead of freezing every step on it.
    try:
        return Appointment.objects.select_for_update(no_key=True).get(pk=appointment_id)
    except OperationalError as error:
        if lock_wait_timed_out(error):
            # Raised out of the aborted transaction; nothing queries before it has rolled back.
            raise _booking_busy() from error
        raise


def _status_refusal(appointment: Appointment, transition: Transition) -> ValidationError:
    """Why BOOKING_STEPS refuses a step in the booking's status (at the end of this module)."""
    return _error(
        "status",
        str(transition.refused)
        + " "
        + _("Its status is “%(status)s”.") % {"status": appointment.get_status_display()},
        "invalid_status",
    )


def _change_refusal(change: ChangeRequest, transition: Transition) -> ValidationError:
    """Why CHANGE_STEPS refuses a step in the change's state."""
    return _error(
        "state",
        _("This change is “%(state)s”.") % {"state": change.get_state_display()},
        "invalid_state",
    )


def _log(appointment, action, *, actor, now, changes=None, note="") -> AppointmentEvent:
    return AppointmentEvent.objects.create(
        appointment=appointment,
        at=now,
        actor=actor,
        action=action,
        changes={k: [_jsonable(a), _jsonable(b)] for k, (a, b) in (changes or {}).items()},
        note=note,
    )


def _update(appointment: Appointment, action, *, actor, now, note="", **fields) -> Appointment:
    """Set ``fields``, save only them, and record who changed what in the history."""
    changes = {}
    for name, value in fields.items():
        old = getattr(appointment, name)
        if old != value:
            changes[name] = (old, value)
        setattr(appointment, name, value)
    appointment.save(update_fields=list(fields))
    _log(appointment, action, actor=actor, now=now, changes=changes, note=note)
    return appointment


# --- rules ------------------------------------------------------------------------------------


def booking_lead_is_sufficient(*, start: dt.datetime, now: dt.datetime) -> bool:
    """DB1403/T 5.1.1: a booking is made at least 24 h before its start."""
    return start - now >= dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS)


def change_notice_in_time(*, original_start: dt.datetime, now: dt.datetime) -> bool:
    """DB1403/T 6.2.2: the applicant is told of a change at least 8 h before the original start."""
    return original_start - now >= dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)


def no_show_follow_up_due_at(*, start: dt.datetime) -> dt.datetime:
    """DB1403/T 6.2.3: the follow-up is due 30 min after the start without arrival."""
    return start + dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_MINUTES)


def citizen_may_cancel(*, start: dt.datetime, now: dt.datetime) -> bool:
    """Local practice: a citizen cancels up to CITIZEN_CANCEL_MIN_HOURS before the start."""
    return start - now >= dt.timedelta(hours=settings.CITIZEN_CANCEL_MIN_HOURS)


def _method_clean(method: str, allowed=tuple(ContactMethod)) -> str:
    if method not in allowed:
        raise _error(
            "method",
            _("Choose how the applicant was contacted: %(methods)s.")
            % {"methods": "、".join(str(ContactMethod(m).label) for m in allowed)},
            "method",
        )
    return method


def _staff_clean(user, *, hall_id: int, field: str) -> None:
    if user is None or not user.is_active or not user.is_staff or user_hall_id(user) != hall_id:
        raise _error(field, _("Choose an active staff member of this hall."), "staff")


def _open_changes(appointment: Appointment):
    return appointment.change_requests.filter(
        state__in=(ChangeRequest.State.REQUESTED, ChangeRequest.State.APPROVED)
    )


def change_request_open(appointment: Appointment) -> ChangeRequest | None:
    """DB1403/T 6.2.2: the booking's change under way (requested or approved), if any: at most
    one at a time."""
    return _open_changes(appointment).first()


def no_change_open(appointment: Appointment, now: dt.datetime) -> bool:
    """DB1403/T 6.2.2: a new change is requested only when none is under way."""
    return not _open_changes(appointment).exists()


def check_in_day(appointment: Appointment, now: dt.datetime) -> bool:
    """DB1403/T 5.1.2, 6.2.1: check-in is on the day of the booking (Asia/Shanghai)."""
    return local(now).date() == local(appointment.start).date()


def _withdraw_open_changes(appointment: Appointment, *, actor, now, note: str) -> None:
    """A change of a booking that is cancelled or closed can no longer be applied."""
    _open_changes(appointment).update(
        state=ChangeRequest.State.WITHDRAWN, decided_by=actor, decided_at=now, decision_note=note
    )


def _name_clean(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise _error("applicant_name", _("Enter the applicant's name."), "required")
    if len(name) > 50:
        raise _error("applicant_name", _("The name is longer than 50 characters."), "too_long")
    return name


def booking_target_clean(
    *, matter: Matter, window: Window, start: dt.datetime, now: dt.datetime
) -> SlotTime:
    """DB1403/T 4, 5.1.2, 5.2: the window handles the matter and serves a slot at ``start``;
    an off-hours slot needs someone on duty (holidays excepted: served by appointment)."""
    _require_aware(now)
    if matter is None or not matter.is_active:
        raise _error("matter", _("This matter cannot be booked."), "unknown_matter")
    if window is None or not window.is_active or window.hall_id != matter.hall_id:
        raise _error("window", _("This window cannot be booked."), "unknown_window")
    if not matter.windows.filter(pk=window.pk).exists():
        raise _error(
            "window",
            _("Window %(window)s does not handle “%(matter)s”.")
            % {"window": window, "matter": matter},
            "window_not_for_matter",
        )
    if start is None or timezone.is_naive(start) or not representable(start):
        raise _error("start", _("Enter a date and time."), "invalid_start")
    if start <= now:
        raise _error(
            "start", _("%(time)s has already passed.") % {"time": show_time(start)}, "past"
        )
    if start > now + dt.timedelta(days=366):
        raise _error("start", _("Bookings are taken at most a year ahead."), "too_far")
    slot = slot_at(window=window, start=start)
    if slot is None:
        raise _error(
            "start",
            _(
                "Window %(window)s does not serve at %(time)s: it is outside the window's "
                "service hours, on a day it does not serve, or not the start of a slot."
            )
            % {"window": window, "time": show_time(start)},
            "no_service",
        )
    if not slot.bookable:
        raise _error(
            "start",
            _(
                "Nobody is on duty at window %(window)s at %(time)s, so this off-hours time "
                "cannot be booked; choose another time."
            )
            % {"window": window, "time": show_time(start)},
            "no_duty",
        )
    return slot


def _open_holiday_duty(window: Window, slot: SlotTime) -> None:
    """DB1403/T 4: a holiday booking opens its period's duty for the window head to fill."""
    if slot.day_type == DayType.HOLIDAY and slot.is_off_hours and window.is_no_rest:
        duty_open_for_holiday_booking(
            window=window,
            date=local(slot.start).date(),
            start=slot.period_start,
            end=slot.period_end,
        )


def _lock_place(*, window: Window, slot: SlotTime, moving: Appointment | None = None) -> None:
    """Lock the slot row, recount its live bookings, and refuse if it is full.

    Race: two bookings for the last place in one slot. The second waits on the slot row's lock
    until the first commits, and its recount then sees the first booking. On SQLite the
    IMMEDIATE transaction already serialises writers. Call inside ``locking_transaction``: the
    wait is bounded (BOOKING_LOCK_TIMEOUT_SECONDS, ``SET LOCAL lock_timeout`` in
    yuyue/locks.py), and one that runs out is ``SlotBusyError``.
    """
    try:
        slot_row, _created = Slot.objects.select_for_update().get_or_create(
            window=window,
            start=slot.start,
            defaults={"end": slot.end},
        )
    except OperationalError as error:
        if lock_wait_timed_out(error):
            # Raised out of the aborted transaction; nothing queries before it has rolled back.
            raise _slot_busy() from error
        raise
    live = Appointment.objects.filter(window=window, start=slot.start, status__in=LIVE_STATUSES)
    if moving is not None:
        live = live.exclude(pk=moving.pk)
    capacity = window.capacity_per_slot if slot_row.capacity is None else slot_row.capacity
    if live.count() >= capacity:
        raise SlotFullError(
            {
                "start": ValidationError(
                    _("%(time)s at window %(window)s is fully booked; choose another time.")
                    % {"time": show_time(slot.start), "window": window},
                    code="slot_full",
                )
            }
        )


def _move_fields(appointment: Appointment, *, window: Window, slot: SlotTime) -> dict:
    """Take a place at ``slot`` of ``window`` for a booking that moves, and say what changes.

    A booking that changes window is taken over afresh there (DB1403/T 6.1.3): back to
    "accepted" to be handed over with the one-time notice, no contact yet; its part of a
    parallel booking moves too if the new window is of that department, to be confirmed again.
    Call with the booking locked.
    """
    _lock_place(window=window, slot=slot, moving=appointment)
    _open_holiday_duty(window, slot)
    fields = {"window": window, "start": slot.start, "end": slot.end, "window_head": window.head}
    if window.pk != appointment.window_id:
        fields.update(contact_person=None, responsible_staff=None)
        if appointment.status == Status.HANDED_OVER:
            fields.update(status=Status.ACCEPTED, handed_over_at=None)
        appointment.parallel_tasks.filter(
            window_id=appointment.window_id, department__in=window.departments.all()
        ).update(window=window, confirmed_at=None, confirmed_by=None)
    return fields


def _unique_reference() -> str:
    while True:
        reference = new_reference()
        if not Appointment.objects.filter(reference=reference).exists():
            return reference


def _open_parallel_tasks(appointment: Appointment) -> None:
    """DB1403/T 6.1.1 b: a matter of several departments gets one task per department."""
    departments = list(appointment.matter.departments.all())
    if len(departments) < 2:
        return
    windows = list(
        appointment.matter.windows.filter(is_active=True).prefetch_related("departments")
    )
    for department in departments:
        candidates = [w for w in windows if department in w.departments.all()]
        if not candidates:
            raise _error(
                "matter",
                _(
                    "No window of %(department)s handles “%(matter)s”; the matter's set-up must "
                    "be completed before it can be booked."
                )
                % {"department": department, "matter": appointment.matter},
                "no_parallel_window",
            )
        window = appointment.window if appointment.window in candidates else candidates[0]
        ParallelTask.objects.create(appointment=appointment, department=department, window=window)


def _create(*, matter, window, slot, now, actor, action, note="", **fields) -> Appointment:
    with locking_transaction(busy=_slot_busy):
        _lock_place(window=window, slot=slot)
        _open_holiday_duty(window, slot)
        appointment = Appointment.objects.create(
            reference=_unique_reference(),
            matter=matter,
            window=window,
            start=slot.start,
            end=slot.end,
            created_at=now,
            window_head=window.head,
            **fields,
        )
        _open_parallel_tasks(appointment)
        _log(appointment, action, actor=actor, now=now, note=note)
    return appointment


def _short_notice_clean(*, start: dt.datetime, now: dt.datetime, reason: str, actor) -> str:
    """DB1403/T 5.1.1: staff may book or move a booking to under 24 h ahead only with a reason
    (and the permission to accept short notice); the reason is kept only when it was needed."""
    if booking_lead_is_sufficient(start=start, now=now):
        return ""
    reason = (reason or "").strip()
    if not reason:
        raise _error(
            "short_notice_reason",
            _("The time is less than 24 h away: record why the booking is accepted anyway."),
            "short_notice",
        )
    _require_perm(actor, "appointments.accept_short_notice")
    return reason


# --- creating bookings ------------------------------------------------------------------------


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
) -> Appointment:
    """The desk registers an on-site or phone booking into the register.

    DB1403/T 5.1.3 a/b and 6.1.2 (name, phone, time, matter, who received it, remarks);
    5.1.1: under 24 h ahead only with a recorded reason; 5.1.3 b: a phone booking taken while
    the phone line is closed is flagged.
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
    outside = channel == Channel.PHONE and not phone_line_is_open(hall=window.hall, now=now)
    return _create(
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


def _online_limits_check(*, matter: Matter, phone, slot: SlotTime, now: dt.datetime) -> None:
    """Local practice against hoarding (not in DB1403/T): a mobile number holds at most
    ONLINE_OPEN_BOOKINGS_PER_PHONE open bookings, and one booking per matter per day.

    Race: two bookings of one number at once could both pass the count; the citizen path runs
    this under the lock of the number's verification code (``sms.services.verified_number``).
    """
    open_bookings = Appointment.objects.filter(
        phone=phone, status__in=OPEN_STATUSES, start__gt=now
    ).count()
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
    day = local(slot.start).date()
    tz = timezone.get_default_timezone()
    day_start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    if Appointment.objects.filter(
        phone=phone,
        matter=matter,
        status__in=LIVE_STATUSES,
        start__gte=day_start,
        start__lt=day_start + dt.timedelta(days=1),
    ).exists():
        raise _error(
            "start",
            _("This number already has a booking for “%(matter)s” on %(day)s.")
            % {"matter": matter, "day": formats.date_format(day, "Y-m-d")},
            "same_matter_same_day",
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
    slot = booking_target_clean(matter=matter, window=window, start=start, now=now)
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


# --- confirmation and hand-over -------------------------------------------------------------


def appointment_confirm(
    *, appointment: Appointment, method: str, actor, now: dt.datetime, note: str = ""
) -> Appointment:
    """DB1403/T 5.1.3 c: window staff reconfirm an online booking by phone or SMS, then accept it.

    Records the method, who and when; the booking then enters the register.
    """
    _require_perm(actor, "appointments.confirm_appointment")
    _require_hall(actor, appointment.window.hall_id)
    _method_clean(method, allowed=(ContactMethod.PHONE, ContactMethod.SMS))
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("confirm", appointment)
        if appointment.start <= now:
            raise _error("start", _("The appointment time has passed."), "past")
        ContactLog.objects.create(
            appointment=appointment,
            purpose=ContactLog.Purpose.CONFIRMATION,
            method=method,
            at=now,
            by=actor,
            outcome=note,
        )
        return _update(
            appointment,
            Action.CONFIRMED,
            actor=actor,
            now=now,
            note=note,
            status=Status.ACCEPTED,
            accepted_at=now,
            received_by=actor,
            responsible_staff=appointment.responsible_staff or actor,
            window_head=appointment.window.head,
        )


def one_time_notice_text(*, appointment: Appointment) -> str:
    """DB1403/T 6.1.3: everything the applicant must bring and know, said once and in full."""
    matter = appointment.matter
    with translation.override(settings.LANGUAGE_CODE):
        lines = [
            _(
                "%(name)s, your appointment for “%(matter)s” is at %(time)s, window %(window)s, "
                "%(hall)s."
            )
            % {
                "name": appointment.applicant_name,
                "matter": matter.name,
                "time": show_time(appointment.start),
                "window": appointment.window,
                "hall": appointment.window.hall,
            },
            _("Please bring:"),
        ]
        lines += [f"{i}. {item}" for i, item in enumerate(matter.material_list, start=1)]
        if matter.notes.strip():
            lines += [_("Please note:"), matter.notes.strip()]
        lines.append(
            _("This service is free of charge. Reference: %(ref)s.")
            % {"ref": appointment.reference}
        )
    return "\n".join(lines)


def appointment_hand_over(
    *, appointment: Appointment, contact_person, actor, now: dt.datetime
) -> Appointment:
    """DB1403/T 6.1.3: at once after registration the booking goes to its window, which names a
    contact person; 6.2.5: that person is the directly responsible receiving staff member."""
    _require_perm(actor, "appointments.hand_over_appointment")
    _require_hall(actor, appointment.window.hall_id)
    _staff_clean(contact_person, hall_id=appointment.window.hall_id, field="contact_person")
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("hand_over", appointment)
        return _update(
            appointment,
            Action.HANDED_OVER,
            actor=actor,
            now=now,
            status=Status.HANDED_OVER,
            handed_over_at=now,
            contact_person=contact_person,
            responsible_staff=contact_person,
        )


def appointment_give_notice(
    *,
    appointment: Appointment,
    method: str,
    time_reconfirmed: bool,
    actor,
    now: dt.datetime,
    outcome: str = "",
) -> ContactLog:
    """DB1403/T 6.1.3: the contact tells the applicant everything at once (一次性告知) and
    reconfirms the time; the text sent and the outcome are logged."""
    _require_perm(actor, "appointments.hand_over_appointment")
    _require_hall(actor, appointment.window.hall_id)
    _method_clean(method)
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("notice", appointment)
        contact = ContactLog.objects.create(
            appointment=appointment,
            purpose=ContactLog.Purpose.ONE_TIME_NOTICE,
            method=method,
            at=now,
            by=actor,
            text=one_time_notice_text(appointment=appointment),
            time_reconfirmed=time_reconfirmed,
            outcome=outcome,
        )
        _log(appointment, Action.NOTICE_GIVEN, actor=actor, now=now, note=outcome)
    return contact


def _agency_clean(reported_to, *, actor, window: Window):
    """The agency approver told of the reassignment: the actor, if an approver of that agency,
    or the approver named."""
    if reported_to is None and actor.has_perm("appointments.approve_change"):
        _require_agency_of(actor, window)
        return actor
    if reported_to is None:
        raise _error(
            "reported_to", _("Name the agency approver the window reported to."), "required"
        )
    _staff_clean(reported_to, hall_id=window.hall_id, field="reported_to")
    if not reported_to.has_perm("appointments.approve_change") or not _is_agency_of(
        reported_to, window
    ):
        raise _error(
            "reported_to",
            _("%(name)s is not an approver of this window's agency.")
            % {"name": reported_to.get_full_name() or reported_to},
            "not_approver",
        )
    return reported_to


def appointment_reassign(
    *,
    appointment: Appointment,
    reason: str,
    actor,
    now: dt.datetime,
    window: Window | None = None,
    responsible_staff=None,
    reported_to=None,
) -> Appointment:
    """DB1403/T 6.1.1 a: a window or staff member that cannot serve reports to the agency, and the
    booking goes to other staff or another window, with the reason and the agency kept.

    A booking moved to another window goes back to "accepted": the new window must take it over
    and give the one-time notice again (6.1.3); its part of a parallel booking moves with it.
    """
    _require_perm(actor, "appointments.reassign_appointment")
    hall_id = appointment.window.hall_id
    _require_hall(actor, hall_id)
    reason = (reason or "").strip()
    if not reason:
        raise _error("reason", _("Say why the booking is reassigned."), "required")
    if window is None and responsible_staff is None:
        raise _error("window", _("Choose another window or staff member."), "required")
    if responsible_staff is not None:
        _staff_clean(responsible_staff, hall_id=hall_id, field="responsible_staff")
    with locking_transaction():
        appointment = _lock(appointment)
        agency = _agency_clean(reported_to, actor=actor, window=appointment.window)
        BOOKING_STEPS.check("reassign", appointment)
        if _open_changes(appointment).exists():
            raise _error(
                "window",
                _("A change of this booking is under way: decide it before reassigning."),
                "change_open",
            )
        fields = {}
        if window is not None and window.pk != appointment.window_id:
            slot = booking_target_clean(
                matter=appointment.matter, window=window, start=appointment.start, now=now
            )
            fields = _move_fields(appointment, window=window, slot=slot)
        if responsible_staff is not None:
            fields["responsible_staff"] = responsible_staff
            if appointment.contact_person_id and "contact_person" not in fields:
                # The person who could not serve no longer answers for the applicant either.
                fields["contact_person"] = responsible_staff
        note = _("%(reason)s (reported to %(agency)s)") % {
            "reason": reason,
            "agency": agency.get_full_name() or agency.get_username(),
        }
        return _update(appointment, Action.REASSIGNED, actor=actor, now=now, note=note, **fields)


def parallel_task_confirm(*, task: ParallelTask, actor, now: dt.datetime) -> ParallelTask:
    """DB1403/T 6.1.1 b: each department's window confirms its own part of a parallel booking."""
    _require_perm(actor, "appointments.confirm_appointment")
    _require_hall(actor, task.window.hall_id)
    with locking_transaction():
        _lock_id(task.appointment_id)
        # Judged on the locked row: a reassignment may just have moved the part to a new window.
        task = ParallelTask.objects.select_for_update().select_related("window").get(pk=task.pk)
        profile = getattr(actor, "staff_profile", None)
        of_that_department = profile is not None and (
            profile.department_id == task.department_id or profile.window_id == task.window_id
        )
        if not (actor.is_superuser or of_that_department or task.window.head_id == actor.pk):
            raise PermissionDenied(
                _("Only staff of %(department)s confirm its part.")
                % {"department": task.department}
            )
        if task.confirmed_at is not None:
            raise _error("task", _("This department has already confirmed."), "done")
        task.confirmed_at, task.confirmed_by = now, actor
        task.save(update_fields=["confirmed_at", "confirmed_by"])
        _log(
            task.appointment, Action.TASK_CONFIRMED, actor=actor, now=now, note=str(task.department)
        )
    return task


# --- at the window ----------------------------------------------------------------------------


def appointment_check_in(*, appointment: Appointment, actor, now: dt.datetime) -> Appointment:
    """DB1403/T 5.1.2, 6.2.1: the applicant arrives at the window on the day of the booking.

    One recorded as not coming (6.2.3) who turns up later that day is still served.
    """
    _require_perm(actor, "appointments.serve_appointment")
    _require_hall(actor, appointment.window.hall_id)
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("check_in", appointment)
        if not check_in_day(appointment, now):
            raise _error(
                "start",
                _("Check-in is on the day of the booking (%(time)s).")
                % {"time": show_time(appointment.start)},
                "not_today",
            )
        return _update(
            appointment, Action.ARRIVED, actor=actor, now=now, status=Status.ARRIVED, arrived_at=now
        )


def appointment_serve(*, appointment: Appointment, actor, now: dt.datetime) -> Appointment:
    """DB1403/T 5.1.2: the window served the applicant.

    Fires ``appointment_served`` (appointments/signals.py) in the transaction; evaluation
    listens to invite the applicant to rate the service (DB1403/T 8.2)."""
    _require_perm(actor, "appointments.serve_appointment")
    _require_hall(actor, appointment.window.hall_id)
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("serve", appointment)
        appointment = _update(
            appointment, Action.SERVED, actor=actor, now=now, status=Status.SERVED, served_at=now
        )
        appointment_served.send(sender=Appointment, appointment=appointment, now=now)
        return appointment


# --- changes and postponements (6.2.2) -------------------------------------------------------


def change_request_create(
    *,
    appointment: Appointment,
    new_start: dt.datetime,
    reason: str,
    actor,
    now: dt.datetime,
    new_window: Window | None = None,
    short_notice_reason: str = "",
) -> ChangeRequest:
    """DB1403/T 6.2.2: no change without cause; the request needs the agency's approval.

    5.1.1: a new time under 24 h away needs a recorded reason, as any staff booking does.
    """
    _require_perm(actor, "appointments.request_change")
    _require_hall(actor, appointment.window.hall_id)
    reason = (reason or "").strip()
    if not reason:
        raise _error("reason", _("A booking is not changed without a reason."), "required")
    window = new_window or appointment.window
    booking_target_clean(matter=appointment.matter, window=window, start=new_start, now=now)
    short_notice_reason = _short_notice_clean(
        start=new_start, now=now, reason=short_notice_reason, actor=actor
    )
    if window.pk == appointment.window_id and new_start == appointment.start:
        raise _error("new_start", _("The new time is the same as the old one."), "unchanged")
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("request_change", appointment)
        if appointment.start <= now:
            raise _error("start", _("The appointment time has passed."), "past")
        if not no_change_open(appointment, now):
            raise _error("new_start", _("A change of this booking is already under way."), "open")
        change = ChangeRequest.objects.create(
            appointment=appointment,
            original_start=appointment.start,
            original_window=appointment.window,
            new_start=new_start,
            new_window=window,
            reason=reason,
            short_notice_reason=short_notice_reason,
            requested_by=actor,
            requested_at=now,
        )
        _log(
            appointment,
            Action.CHANGE_REQUESTED,
            actor=actor,
            now=now,
            changes={
                "start": (appointment.start, new_start),
                "window": (appointment.window, window),
            },
            note=reason,
        )
    return change


def _is_agency_of(user, window: Window) -> bool:
    """An approver decides for the windows of their own department (agency); one without a
    department is the hall's own management and decides for every window of the hall."""
    profile = getattr(user, "staff_profile", None)
    department_id = profile.department_id if profile is not None else None
    return not department_id or window.departments.filter(pk=department_id).exists()


def _require_agency_of(actor, window: Window) -> None:
    """DB1403/T 6.2.2: the agency (行政机关) of the window decides."""
    _require_perm(actor, "appointments.approve_change")
    _require_hall(actor, window.hall_id)
    if not _is_agency_of(actor, window):
        raise PermissionDenied(_("This window belongs to another agency."))


def _lock_change(change: ChangeRequest, step: str) -> ChangeRequest:
    """Lock the booking, then its change (the lock order), and check that the change's state
    allows ``step`` (CHANGE_STEPS)."""
    appointment = _lock_id(change.appointment_id)
    change = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("new_window", "original_window")
        .get(pk=change.pk)
    )
    change.appointment = appointment
    CHANGE_STEPS.check(step, change)
    return change


def _late_change_error(change: ChangeRequest) -> ValidationError:
    return _error(
        "emergency_reason",
        _(
            "The applicant can no longer be told 8 hours before the original time (%(time)s): "
            "only an agency approver recording an emergency can allow this change."
        )
        % {"time": show_time(change.original_start)},
        "under_8_hours",
    )


def change_request_approve(
    *, change: ChangeRequest, actor, now: dt.datetime, note: str = "", emergency_reason: str = ""
) -> ChangeRequest:
    """DB1403/T 6.2.2: the agency approves a change. Less than 8 h before the original time it
    can only be approved as a recorded emergency, which supervision lists."""
    _require_agency_of(actor, change.original_window)
    emergency_reason = (emergency_reason or "").strip()
    with locking_transaction():
        change = _lock_change(change, "approve_change")
        # The booking must still be open to be changed, as when the change was requested.
        BOOKING_STEPS.check("request_change", change.appointment)
        in_time = change_notice_in_time(original_start=change.original_start, now=now)
        if not in_time and not emergency_reason:
            raise _late_change_error(change)
        change.state = ChangeRequest.State.APPROVED
        change.decided_by, change.decided_at, change.decision_note = actor, now, note
        change.is_emergency = bool(emergency_reason) and not in_time
        change.emergency_reason = emergency_reason if change.is_emergency else ""
        change.save()
        _log(
            change.appointment,
            Action.CHANGE_APPROVED,
            actor=actor,
            now=now,
            note="; ".join(filter(None, [note, change.emergency_reason])),
        )
        # DB1403/T 6.2.2: the notice goes out at once by SMS and the change is applied when it
        # is sent; a landline is told by phone (change_request_notify_and_apply).
        if phone_is_mobile(change.appointment.phone):
            sms_send(
                purpose=Message.Purpose.CHANGE_NOTICE,
                phone=change.appointment.phone,
                context=change_context(change=change),
                subject=change.appointment,
                occasion=change,
                dedupe_key=f"change:{change.pk}",
                now=now,
            )
    return change


def change_request_record_emergency(
    *, change: ChangeRequest, reason: str, actor, now: dt.datetime
) -> ChangeRequest:
    """DB1403/T 6.2.2: an approved change that can no longer be told 8 h ahead goes on only as an
    emergency recorded by an agency approver."""
    _require_agency_of(actor, change.original_window)
    reason = (reason or "").strip()
    if not reason:
        raise _error("emergency_reason", _("Record what the emergency is."), "required")
    if change_notice_in_time(original_start=change.original_start, now=now):
        raise _error(
            "emergency_reason",
            _("The applicant can still be told 8 hours ahead: no emergency is needed."),
            "in_time",
        )
    with locking_transaction():
        change = _lock_change(change, "record_emergency")
        change.is_emergency, change.emergency_reason = True, reason
        change.save(update_fields=["is_emergency", "emergency_reason"])
        _log(change.appointment, Action.CHANGE_APPROVED, actor=actor, now=now, note=reason)
    return change


def change_request_reject(
    *, change: ChangeRequest, note: str, actor, now: dt.datetime
) -> ChangeRequest:
    """DB1403/T 6.2.2: the agency refuses a change; the booking stays as it was."""
    _require_agency_of(actor, change.original_window)
    note = (note or "").strip()
    if not note:
        raise _error("decision_note", _("Say why the change is refused."), "required")
    with locking_transaction():
        change = _lock_change(change, "reject_change")
        change.state = ChangeRequest.State.REJECTED
        change.decided_by, change.decided_at, change.decision_note = actor, now, note
        change.save()
        _log(change.appointment, Action.CHANGE_REJECTED, actor=actor, now=now, note=note)
    return change


def change_request_withdraw(
    *, change: ChangeRequest, reason: str, actor, now: dt.datetime
) -> ChangeRequest:
    """DB1403/T 6.2.2: staff withdraw a change that is no longer wanted or can no longer be
    applied (the booking moved, the new time came within 24 h), so that a new one can be asked."""
    _require_perm(actor, "appointments.request_change")
    _require_hall(actor, change.original_window.hall_id)
    reason = (reason or "").strip()
    if not reason:
        raise _error("decision_note", _("Say why the change is withdrawn."), "required")
    with locking_transaction():
        change = _lock_change(change, "withdraw")
        change.state = ChangeRequest.State.WITHDRAWN
        change.decided_by, change.decided_at, change.decision_note = actor, now, reason
        change.save()
        _log(change.appointment, Action.CHANGE_REJECTED, actor=actor, now=now, note=reason)
    return change


def change_notice_text(*, change: ChangeRequest) -> str:
    """DB1403/T 6.2.2: what the applicant is told of an approved change."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "Your appointment (reference %(ref)s) is moved from %(old)s to %(new)s, "
            "window %(window)s. We apologise for the inconvenience."
        ) % {
            "ref": change.appointment.reference,
            "old": show_time(change.original_start),
            "new": show_time(change.new_start),
            "window": change.new_window,
        }


def change_request_notify_and_apply(
    *, change: ChangeRequest, method: str, actor, now: dt.datetime
) -> Appointment:
    """DB1403/T 6.2.2: the approved change takes effect when the applicant is told, and only if
    that is at least 8 h before the original time (or a recorded emergency)."""
    _require_perm(actor, "appointments.request_change")
    _require_hall(actor, change.original_window.hall_id)
    _method_clean(method)
    return _change_apply(change=change, method=method, actor=actor, now=now)


def change_request_apply_on_sms(*, change: ChangeRequest, now: dt.datetime) -> Appointment:
    """DB1403/T 6.2.2: the approved change's SMS notice went out at ``now`` (its send time); the
    change takes effect if that is at least 8 h before the original time (or an emergency)."""
    return _change_apply(change=change, method=ContactMethod.SMS, actor=None, now=now)


def _change_apply(*, change: ChangeRequest, method: str, actor, now: dt.datetime) -> Appointment:
    with locking_transaction():
        change = _lock_change(change, "apply_change")
        if not change.is_emergency and not change_notice_in_time(
            original_start=change.original_start, now=now
        ):
            raise _late_change_error(change)
        appointment = change.appointment
        BOOKING_STEPS.check("request_change", appointment)
        if (appointment.window_id, appointment.start) != (
            change.original_window_id,
            change.original_start,
        ):
            raise _error(
                "state",
                _(
                    "The booking has moved since this change was requested: withdraw it and "
                    "request a new one."
                ),
                "stale",
            )
        slot = booking_target_clean(
            matter=appointment.matter, window=change.new_window, start=change.new_start, now=now
        )
        if not booking_lead_is_sufficient(start=slot.start, now=now) and not (
            change.short_notice_reason
        ):
            raise _error(
                "short_notice_reason",
                _(
                    "The new time is now less than 24 h away: withdraw this change and request "
                    "it again with the reason."
                ),
                "short_notice",
            )
        fields = _move_fields(appointment, window=change.new_window, slot=slot)
        change.state, change.notified_at, change.notice_method = (
            ChangeRequest.State.APPLIED,
            now,
            method,
        )
        change.save(update_fields=["state", "notified_at", "notice_method"])
        ContactLog.objects.create(
            appointment=appointment,
            purpose=ContactLog.Purpose.CHANGE_NOTICE,
            method=method,
            at=now,
            # A notice sent by SMS on approval is sent in the approver's name.
            by=actor or change.decided_by,
            text=change_notice_text(change=change),
        )
        return _update(
            appointment,
            Action.CHANGE_APPLIED,
            actor=actor,
            now=now,
            note=change.reason,
            short_notice_reason=(
                ""
                if booking_lead_is_sufficient(start=slot.start, now=now)
                else change.short_notice_reason
            ),
            **fields,
        )


# --- no-shows (6.2.3) ------------------------------------------------------------------------


def no_show_candidates(*, now: dt.datetime):
    """DB1403/T 6.2.3: bookings 30 min past their start, not arrived, with no follow-up yet."""
    cutoff = now - dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_MINUTES)
    return (
        Appointment.objects.filter(status__in=AWAITING_ARRIVAL, start__lte=cutoff)
        .exclude(
            Exists(
                NoShowFollowUp.objects.filter(
                    appointment=OuterRef("pk"), slot_start=OuterRef("start")
                )
            )
        )
        .select_related("window")
    )


def no_show_follow_up_open(*, appointment: Appointment, now: dt.datetime) -> NoShowFollowUp:
    """DB1403/T 6.2.3: 30 min after the start without arrival, the window must contact the
    applicant. Opening twice returns the same follow-up."""
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("open_follow_up", appointment)
        due_at = no_show_follow_up_due_at(start=appointment.start)
        if now < due_at:
            raise _error(
                "start",
                _("The follow-up is due 30 minutes after the start, at %(time)s.")
                % {"time": show_time(due_at)},
                "not_due",
            )
        follow_up, created = NoShowFollowUp.objects.get_or_create(
            appointment=appointment,
            slot_start=appointment.start,
            defaults={
                "due_at": due_at,
                "opened_at": now,
                "assigned_to": appointment.contact_person
                or appointment.responsible_staff
                or appointment.window_head,
            },
        )
        if created:
            _log(appointment, Action.FOLLOW_UP_OPENED, actor=None, now=now)
    return follow_up


def no_show_follow_ups_open(*, now: dt.datetime) -> list[NoShowFollowUp]:
    """DB1403/T 6.2.3: the sweep: open every follow-up that is due. Safe to run repeatedly."""
    return [
        no_show_follow_up_open(appointment=appointment, now=now)
        for appointment in no_show_candidates(now=now)
    ]


def no_show_follow_up_pending(appointment: Appointment, now: dt.datetime) -> bool:
    """DB1403/T 6.2.3: a follow-up is open, or due (30 min after the start, not arrived) and not
    yet opened by the sweep."""
    if appointment.follow_ups.filter(outcome="").exists():
        return True
    return BOOKING_STEPS.permits("open_follow_up", appointment) and now >= (
        no_show_follow_up_due_at(start=appointment.start)
    )


def no_show_follow_up_take(
    *,
    appointment: Appointment,
    outcome: str,
    method: str,
    actor,
    now: dt.datetime,
    note: str = "",
    new_start: dt.datetime | None = None,
    short_notice_reason: str = "",
) -> NoShowFollowUp:
    """DB1403/T 6.2.3: the window records the follow-up of a booking, opening it first if the
    sweep has not yet (``no_show_follow_up_open``, ``no_show_follow_up_record``)."""
    follow_up = appointment.follow_ups.filter(outcome="").first() or no_show_follow_up_open(
        appointment=appointment, now=now
    )
    return no_show_follow_up_record(
        follow_up=follow_up,
        outcome=outcome,
        method=method,
        note=note,
        new_start=new_start,
        short_notice_reason=short_notice_reason,
        actor=actor,
        now=now,
    )


def no_show_follow_up_record(
    *,
    follow_up: NoShowFollowUp,
    outcome: str,
    method: str,
    actor,
    now: dt.datetime,
    note: str = "",
    new_start: dt.datetime | None = None,
    short_notice_reason: str = "",
) -> NoShowFollowUp:
    """DB1403/T 6.2.3: record whether the applicant gives up, reschedules or is on the way.

    Giving up or being unreachable closes the booking as a no-show; a new time is booked like any
    staff booking (5.1.1: under 24 h only with a reason).
    """
    Outcome = NoShowFollowUp.Outcome
    _require_perm(actor, "appointments.record_no_show")
    _require_hall(actor, follow_up.appointment.window.hall_id)
    if outcome not in Outcome.values:
        raise _error("outcome", _("Choose an outcome."), "required")
    _method_clean(method)
    with locking_transaction():
        appointment = _lock_id(follow_up.appointment_id)
        follow_up = NoShowFollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if follow_up.outcome:
            raise _error("outcome", _("The outcome is already recorded."), "done")
        fields = {}
        if outcome in (Outcome.GAVE_UP, Outcome.UNREACHABLE):
            BOOKING_STEPS.check("open_follow_up", appointment)
            fields["status"] = Status.NO_SHOW
        elif outcome == Outcome.RESCHEDULED:
            BOOKING_STEPS.check("open_follow_up", appointment)
            if new_start is None:
                raise _error("new_start", _("Enter the new time."), "required")
            slot = booking_target_clean(
                matter=appointment.matter, window=appointment.window, start=new_start, now=now
            )
            reason = _short_notice_clean(
                start=new_start, now=now, reason=short_notice_reason, actor=actor
            )
            fields.update(_move_fields(appointment, window=appointment.window, slot=slot))
            fields["short_notice_reason"] = reason
        if outcome != Outcome.ON_THE_WAY:
            # The booked time is gone: a change requested for it can no longer apply.
            _withdraw_open_changes(
                appointment, actor=actor, now=now, note=str(Outcome(outcome).label)
            )
        follow_up.outcome, follow_up.recorded_at, follow_up.recorded_by, follow_up.note = (
            outcome,
            now,
            actor,
            note,
        )
        follow_up.save()
        ContactLog.objects.create(
            appointment=appointment,
            purpose=ContactLog.Purpose.NO_SHOW,
            method=method,
            at=now,
            by=actor,
            outcome=f"{Outcome(outcome).label}. {note}".strip(),
        )
        _update(
            appointment,
            Action.FOLLOW_UP_RECORDED,
            actor=actor,
            now=now,
            note=str(Outcome(outcome).label),
            **fields,
        )
    return follow_up


# --- cancellation ---------------------------------------------------------------------------


def appointment_cancel_by_citizen(*, appointment: Appointment, now: dt.datetime) -> Appointment:
    """The applicant cancels up to CITIZEN_CANCEL_MIN_HOURS (default 2 h) before the start."""
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("cancel_online", appointment)
        if not citizen_may_cancel(start=appointment.start, now=now):
            raise _error(
                "start",
                _(
                    "Bookings can be cancelled online up to %(hours)s hours before the start; "
                    "please call the hall."
                )
                % {"hours": settings.CITIZEN_CANCEL_MIN_HOURS},
                "too_late",
            )
        note = _("Cancelled by the applicant.")
        _withdraw_open_changes(appointment, actor=None, now=now, note=note)
        return _update(
            appointment,
            Action.CANCELLED,
            actor=None,
            now=now,
            note=note,
            status=Status.CANCELLED,
            cancelled_at=now,
            cancel_reason=note,
        )


def appointment_cancel_by_staff(
    *,
    appointment: Appointment,
    reason: str,
    at_applicants_request: bool,
    actor,
    now: dt.datetime,
    emergency_reason: str = "",
) -> Appointment:
    """DB1403/T 6.2.2: staff never cancel without cause, and the reason is recorded.

    At the applicant's request any desk or window staff may cancel. A cancellation by the hall
    is the agency's decision (an agency approver) and, less than 8 h before the start, only a
    recorded emergency. A booking whose no-show follow-up is open gets its outcome recorded
    instead (6.2.3).
    """
    _require_perm(actor, "appointments.cancel_appointment")
    _require_hall(actor, appointment.window.hall_id)
    reason = (reason or "").strip()
    if not reason:
        raise _error("cancel_reason", _("A booking is not cancelled without a reason."), "required")
    emergency_reason = (emergency_reason or "").strip()
    with locking_transaction():
        appointment = _lock(appointment)
        BOOKING_STEPS.check("cancel", appointment)
        emergency = ""
        if not at_applicants_request:
            _require_agency_of(actor, appointment.window)
            if not change_notice_in_time(original_start=appointment.start, now=now):
                if not emergency_reason:
                    raise _error(
                        "emergency_reason",
                        _(
                            "Less than 8 hours before the start the hall cancels only in an "
                            "emergency: record it."
                        ),
                        "under_8_hours",
                    )
                emergency = emergency_reason
        if appointment.follow_ups.filter(outcome="").exists():
            raise _error(
                "status",
                _("The no-show follow-up is open: record its outcome instead of cancelling."),
                "follow_up_open",
            )
        _withdraw_open_changes(appointment, actor=actor, now=now, note=reason)
        return _update(
            appointment,
            Action.CANCELLED,
            actor=actor,
            now=now,
            note="; ".join(filter(None, [reason, emergency])),
            status=Status.CANCELLED,
            cancelled_at=now,
            cancel_reason=reason,
            cancelled_by_hall=not at_applicants_request,
            cancel_emergency_reason=emergency,
        )


# --- the state machines -----------------------------------------------------------------------
# The services above check a booking's status and a change's state through these tables; the
# console's buttons (appointments.admin) are the steps they permit. The forms are the console's
# (appointments.console).

FORMS = "appointments.console."
_REQ, _APPROVED = ChangeRequest.State.REQUESTED, ChangeRequest.State.APPROVED

BOOKING_STEPS = TransitionTable(
    Transition(
        "confirm",
        gettext_lazy("Confirm online booking"),
        appointment_confirm,
        (Status.PENDING,),
        "appointments.confirm_appointment",
        FORMS + "ConfirmForm",
        gettext_lazy("Only a booking waiting for confirmation can be confirmed."),
        clause="5.1.3 c",
    ),
    Transition(
        "hand_over",
        gettext_lazy("Hand over to the window"),
        appointment_hand_over,
        (Status.ACCEPTED,),
        "appointments.hand_over_appointment",
        FORMS + "HandOverForm",
        gettext_lazy("Only an accepted booking can be handed over to the window."),
        clause="6.1.3",
    ),
    Transition(
        "notice",
        gettext_lazy("Give the one-time notice"),
        appointment_give_notice,
        (Status.HANDED_OVER,),
        "appointments.hand_over_appointment",
        FORMS + "NoticeForm",
        gettext_lazy("The one-time notice is given after the hand-over to the window."),
        clause="6.1.3",
    ),
    Transition(
        "reassign",
        gettext_lazy("Reassign"),
        appointment_reassign,
        OPEN_STATUSES,
        "appointments.reassign_appointment",
        FORMS + "ReassignForm",
        gettext_lazy("Only an open booking can be reassigned."),
        clause="6.1.1 a",
        error_fields=(("start", "window"),),
    ),
    Transition(
        "check_in",
        gettext_lazy("Check in"),
        appointment_check_in,
        (*AWAITING_ARRIVAL, Status.NO_SHOW),
        "appointments.serve_appointment",
        refused=gettext_lazy("Only an accepted booking can be checked in; confirm it first."),
        when=check_in_day,
        clause="5.1.2, 6.2.1",
    ),
    Transition(
        "serve",
        gettext_lazy("Served"),
        appointment_serve,
        (Status.ARRIVED,),
        "appointments.serve_appointment",
        refused=gettext_lazy("Only an applicant who has arrived can be served."),
        clause="5.1.2",
    ),
    Transition(
        "request_change",
        gettext_lazy("Request a change"),
        change_request_create,
        OPEN_STATUSES,
        "appointments.request_change",
        FORMS + "ChangeRequestForm",
        gettext_lazy("Only an open booking can be changed."),
        when=no_change_open,
        clause="6.2.2",
        error_fields=(("start", "new_start"), ("window", "new_window")),
    ),
    Transition(
        "follow_up",
        gettext_lazy("Record the no-show follow-up"),
        no_show_follow_up_take,
        None,  # the follow-up's own state decides (no_show_follow_up_pending)
        "appointments.record_no_show",
        FORMS + "FollowUpForm",
        when=no_show_follow_up_pending,
        clause="6.2.3",
    ),
    Transition(
        "open_follow_up",
        gettext_lazy("Open the no-show follow-up"),
        no_show_follow_up_open,
        AWAITING_ARRIVAL,
        refused=gettext_lazy(
            "A no-show follow-up is only for an accepted booking not yet arrived."
        ),
        clause="6.2.3",
        console=False,  # the sweep's, and the follow-up step's first part
    ),
    Transition(
        "cancel",
        gettext_lazy("Cancel"),
        appointment_cancel_by_staff,
        OPEN_STATUSES,
        "appointments.cancel_appointment",
        FORMS + "CancelForm",
        gettext_lazy("Only an open booking can be cancelled."),
        clause="6.2.2",
    ),
    Transition(
        "cancel_online",
        gettext_lazy("Cancel"),
        appointment_cancel_by_citizen,
        OPEN_STATUSES,
        refused=gettext_lazy("Only an open booking can be cancelled."),
        console=False,  # the applicant's, on the citizen pages
    ),
    state="status",
    subject="appointment",
    refusal=_status_refusal,
)

# The change under way of a booking (DB1403/T 6.2.2); the console finds it by
# ``change_request_open``.
CHANGE_STEPS = TransitionTable(
    Transition(
        "approve_change",
        gettext_lazy("Approve the change"),
        change_request_approve,
        (_REQ,),
        "appointments.approve_change",
        FORMS + "ApproveChangeForm",
        clause="6.2.2",
    ),
    Transition(
        "reject_change",
        gettext_lazy("Refuse the change"),
        change_request_reject,
        (_REQ,),
        "appointments.approve_change",
        FORMS + "RejectChangeForm",
        clause="6.2.2",
    ),
    Transition(
        "apply_change",
        gettext_lazy("Tell the applicant and apply the change"),
        change_request_notify_and_apply,
        (_APPROVED,),
        "appointments.request_change",
        FORMS + "ApplyChangeForm",
        clause="6.2.2",
    ),
    Transition(
        "record_emergency",
        gettext_lazy("Record the emergency"),
        change_request_record_emergency,
        (_APPROVED,),
        "appointments.approve_change",
        clause="6.2.2",
        console=False,
    ),
    Transition(
        "withdraw",
        gettext_lazy("Withdraw the change"),
        change_request_withdraw,
        (_REQ, _APPROVED),
        "appointments.request_change",
        clause="6.2.2",
        console=False,
    ),
    state="state",
    subject="change",
    refusal=_change_refusal,
)
