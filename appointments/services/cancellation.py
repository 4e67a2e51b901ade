"""Cancellation (DB1403/T 6.2.2): by the applicant online, or by the hall at the applicant's
request or in an emergency."""

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from yuyue.checks import field_error as _error
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import locking_transaction
from yuyue.stored_texts import stored_text

from ..models import (
    Appointment,
    Status,
)
from ._common import (
    Action,
    _lock,
    _require_agency_of,
    _require_hall,
    _update,
    _withdraw_open_changes,
)
from .rules import change_notice_in_time, citizen_may_cancel
from .steps import BOOKING_STEPS


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
        # Shown in the reader's language, whichever language the applicant used.
        note = stored_text(gettext_noop("Cancelled by the applicant."))
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
