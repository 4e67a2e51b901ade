"""At the window (DB1403/T 5.1.2, 6.2.1): checking the applicant in and serving them; serving
sends ``appointment_served`` (appointments/signals.py), whose receiver invites a rating."""

import datetime as dt

from django.utils.translation import gettext as _

from yuyue.checks import field_error as _error
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import locking_transaction

from ..models import (
    Appointment,
    Status,
)
from ..notifications import show_time
from ..signals import appointment_served
from ._common import Action, _lock, _require_hall, _update
from .rules import check_in_day, one_time_notice_given
from .steps import BOOKING_STEPS


def appointment_check_in(*, appointment: Appointment, actor, now: dt.datetime) -> Appointment:
    """DB1403/T 5.1.2, 6.2.1: the applicant arrives at the window on the day of the booking.

    One recorded as not coming (6.2.3) who turns up later that day is still served. One whose
    one-time notice was never given (6.1.3) is served too, and the history says so: the
    applicant may lack what they were to bring, and the lapse counts against the window.
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
        note = (
            ""
            if one_time_notice_given(appointment)
            else _("The one-time notice (6.1.3) was never given.")
        )
        return _update(
            appointment,
            Action.ARRIVED,
            actor=actor,
            now=now,
            note=note,
            status=Status.ARRIVED,
            arrived_at=now,
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
