"""Taking a place in a slot, shared by creating, reassigning and changing bookings: the slot row's
lock and count, a holiday booking's duty (DB1403/T 4), parallel tasks (DB1403/T 6.1.1 b) and
the 24 h notice (DB1403/T 5.1.1)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.utils.translation import gettext as _

from duty.calendar import local
from duty.models import DayType, Window
from duty.rosters import duty_open_for_holiday_booking
from yuyue.checks import field_error as _error
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import lock_wait_timed_out, locking_transaction

from ..models import (
    LIVE_STATUSES,
    Appointment,
    ParallelTask,
    Slot,
    Status,
    new_reference,
)
from ..notifications import show_time
from ..slots import SlotTime
from ._common import SlotFullError, _log, _slot_busy
from .rules import booking_lead_is_sufficient


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
        slot_row = _slot_row_locked(window=window, slot=slot)
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


def _slot_row_locked(*, window: Window, slot: SlotTime) -> Slot:
    """The slot's row, locked (made first if the slot has none yet).

    One query when the row exists (every booking of a slot after its first). For a new slot:
    insert it, ignoring a rival's insert of the same (window, start) at the same moment (the
    unique constraint; no savepoint needed, unlike ``get_or_create``), then lock whichever row
    stands. No ``post_save`` is sent for the new row: the booking's own save makes the cached
    availability stale."""
    # Race: two bookings for the last place in one slot (see ``_lock_place``): the row lock
    # makes the second wait for the first to commit, and its recount then sees the first.
    # Unordered: Slot's default order would join (and so also lock) the window's row.
    locked = Slot.objects.select_for_update().filter(window=window, start=slot.start).order_by()
    row = next(iter(locked), None)  # (window, start) is unique: one row or none
    if row is None:
        Slot.objects.bulk_create(
            [Slot(window=window, start=slot.start, end=slot.end)], ignore_conflicts=True
        )
        row = locked.get()
    return row


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
    known = getattr(appointment.matter, "department_count", None)
    if known is not None and known < 2:
        return  # counted when the matter was loaded (booking_place_load): no query
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
    # Inside the desk's or the citizen's locking transaction, no savepoint of its own: a refusal
    # here (slot full, busy) fails that transaction too (the code is not spent, the desk's form
    # is shown again).
    with locking_transaction(busy=_slot_busy, savepoint=False):
        _lock_place(window=window, slot=slot)
        _open_holiday_duty(window, slot)
        appointment = Appointment.objects.create(
            reference=_unique_reference(),
            matter=matter,
            window=window,
            start=slot.start,
            end=slot.end,
            created_at=now,
            window_head_id=window.head_id,  # the id is enough: not the head's user row
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
