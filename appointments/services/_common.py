"""What the booking services share: their errors, the hall and agency checks (DB1403/T 6.2.2),
the row locks, the refusals of the transition tables, the history, and the small cleaners of
staff, contact methods, names and open changes."""

import datetime as dt

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError
from django.db.models import Model
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from duty.calendar import local
from duty.models import Window
from duty.names import staff_name
from duty.scoping import user_hall_id
from yuyue.checks import field_error as _error
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import BusyError, busy_error, lock_wait_timed_out
from yuyue.transitions import Transition

from ..models import (
    Appointment,
    AppointmentEvent,
    ChangeRequest,
    Channel,
    ContactMethod,
    Status,
)

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
    """Why BOOKING_STEPS refuses a step in the booking's status (steps.py)."""
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
