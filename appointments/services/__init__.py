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

The package, by sub-area: ``rules`` (the rules as predicates), ``creating`` (registering and
booking online), ``confirmation`` (confirmation, hand-over, reassignment), ``arrival`` (check-in
and service at the window), ``changes`` (6.2.2), ``no_shows`` (6.2.3), ``cancellation``, and
``steps``, the transition tables BOOKING_STEPS and CHANGE_STEPS that the services check their
state through (the tables name the services by dotted path, so they import none). What several
share is in ``_common`` (errors, locks, history) and ``_placing`` (taking a place in a slot).
The public names are imported here: callers import from ``appointments.services``; the
submodules import from each other, never from this package.
"""

from ._common import AWAITING_ARRIVAL, OPEN_STATUSES, STAFF_CHANNELS, SlotBusyError, SlotFullError
from .arrival import appointment_check_in, appointment_serve
from .cancellation import appointment_cancel_by_citizen, appointment_cancel_by_staff
from .changes import (
    change_notice_text,
    change_phone_alerts_create,
    change_phone_due_at,
    change_request_apply_on_delivery,
    change_request_approve,
    change_request_create,
    change_request_notify_and_apply,
    change_request_record_emergency,
    change_request_reject,
    change_request_withdraw,
)
from .confirmation import (
    appointment_confirm,
    appointment_give_notice,
    appointment_hand_over,
    appointment_reassign,
    one_time_notice_text,
    parallel_task_confirm,
)
from .creating import (
    BookingPlace,
    appointment_book_online,
    appointment_register,
    booking_place_load,
)
from .no_shows import (
    no_show_candidates,
    no_show_follow_up_open,
    no_show_follow_up_record,
    no_show_follow_up_take,
    no_show_follow_ups_open,
)
from .rules import (
    booking_lead_is_sufficient,
    booking_target_clean,
    change_notice_in_time,
    change_request_open,
    check_in_day,
    citizen_may_cancel,
    no_change_open,
    no_show_follow_up_due_at,
    one_time_notice_due_at,
    one_time_notice_given,
    one_time_notice_overdue,
    without_one_time_notice,
)
from .steps import BOOKING_STEPS, CHANGE_STEPS, no_show_follow_up_pending

__all__ = [
    "AWAITING_ARRIVAL",
    "OPEN_STATUSES",
    "STAFF_CHANNELS",
    "SlotBusyError",
    "SlotFullError",
    "booking_lead_is_sufficient",
    "booking_target_clean",
    "change_notice_in_time",
    "change_request_open",
    "check_in_day",
    "citizen_may_cancel",
    "no_change_open",
    "no_show_follow_up_due_at",
    "one_time_notice_due_at",
    "one_time_notice_given",
    "one_time_notice_overdue",
    "without_one_time_notice",
    "appointment_book_online",
    "BookingPlace",
    "booking_place_load",
    "appointment_register",
    "appointment_confirm",
    "appointment_give_notice",
    "appointment_hand_over",
    "appointment_reassign",
    "one_time_notice_text",
    "parallel_task_confirm",
    "appointment_check_in",
    "appointment_serve",
    "change_notice_text",
    "change_phone_alerts_create",
    "change_phone_due_at",
    "change_request_apply_on_delivery",
    "change_request_approve",
    "change_request_create",
    "change_request_notify_and_apply",
    "change_request_record_emergency",
    "change_request_reject",
    "change_request_withdraw",
    "no_show_candidates",
    "no_show_follow_up_open",
    "no_show_follow_up_pending",
    "no_show_follow_up_record",
    "no_show_follow_up_take",
    "no_show_follow_ups_open",
    "appointment_cancel_by_citizen",
    "appointment_cancel_by_staff",
    "BOOKING_STEPS",
    "CHANGE_STEPS",
]
