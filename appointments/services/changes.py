"""Changes and postponements of a booking (DB1403/T 6.2.2): requested, approved or refused,
the applicant told, then applied: when the SMS notice is delivered to the handset (the
provider's receipt time), or when staff record that they told the applicant by phone.

"Told" is delivery, not sending: a notice is sent only while it can still reach the applicant
8 h before the original time; without a receipt by then, staff are alerted to phone
(``change_notice_sweep``); a notice delivered after the 8 h mark is applied all the same (the
applicant has read it and is never left with a change that did not happen), recorded as late
and reported to the approver and the desk."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from duty.models import Window
from duty.roles import Role, staff_with_role
from sms.models import Alert, Message
from sms.phones import phone_is_mobile
from sms.services import sms_send
from sms.subjects import subject_fields
from yuyue.checks import field_error as _error
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import locking_transaction
from yuyue.sweeps import alerts_create, alerts_to

from ..models import (
    Appointment,
    ChangeRequest,
    ContactLog,
    ContactMethod,
)
from ..notifications import change_context, show_time
from ._common import (
    Action,
    _lock,
    _lock_id,
    _log,
    _method_clean,
    _require_agency_of,
    _require_hall,
    _update,
)
from ._placing import _move_fields, _short_notice_clean
from .rules import (
    booking_lead_is_sufficient,
    booking_target_clean,
    change_notice_in_time,
    no_change_open,
)
from .steps import BOOKING_STEPS, CHANGE_STEPS


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
        # is delivered. A landline, or an emergency under 8 h, is told by phone
        # (change_request_notify_and_apply): the approver and the desk are alerted to call.
        if phone_is_mobile(change.appointment.phone) and in_time:
            sms_send(
                purpose=Message.Purpose.CHANGE_NOTICE,
                phone=change.appointment.phone,
                context=change_context(change=change),
                subject=change.appointment,
                occasion=change,
                dedupe_key=f"change:{change.pk}",
                now=now,
            )
        else:
            change_phone_alerts_create(change=change, now=now)
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


def change_request_apply_on_delivery(
    *, change: ChangeRequest, delivered_at: dt.datetime
) -> Appointment:
    """DB1403/T 6.2.2: the approved change's SMS notice reached the applicant at
    ``delivered_at`` (the handset's receipt time the provider reports, however late its receipt
    reaches us). At least 8 h before the original time, the change takes effect as told in
    time. Later, the applicant has read it all the same: it takes effect, is recorded as told
    late, and the approver and the desk are alerted (they phone the applicant)."""
    in_time = change.is_emergency or change_notice_in_time(
        original_start=change.original_start, now=delivered_at
    )
    appointment = _change_apply(
        change=change, method=ContactMethod.SMS, actor=None, now=delivered_at, told_late=not in_time
    )
    if not in_time:
        change_phone_alerts_create(change=change, now=delivered_at, late=True)
    return appointment


def change_phone_due_at(*, change: ChangeRequest) -> dt.datetime:
    """DB1403/T 6.2.2: the 8 h mark, by which the applicant must have been told."""
    return change.original_start - dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)


def change_phone_alerts_create(*, change: ChangeRequest, now: dt.datetime, late=False) -> int:
    """DB1403/T 6.2.2: alert the change's approver and the hall's desk to phone the applicant:
    the SMS notice cannot reach them 8 h ahead (not sent, undelivered, or no receipt by the
    mark), or it reached them late (``late``). Whoever requested the change is alerted too: the
    call is recorded on the change with their permission (the desk's role has none). Once per
    change and person."""
    hall_id = change.original_window.hall_id
    desk = staff_with_role(Role.DESK, [hall_id]).values_list("pk", flat=True)
    values = {
        "ref": change.appointment.reference,
        "old": show_time(change.original_start),
        "new": show_time(change.new_start),
    }
    if late:
        text = _(
            "The SMS notice of the change of %(ref)s (%(old)s → %(new)s) reached the applicant "
            "less than 8 hours before the original time: the change is applied; phone the "
            "applicant to make sure they know."
        )
    else:
        text = _(
            "The applicant of %(ref)s has not been told by SMS 8 hours before %(old)s that the "
            "booking moves to %(new)s: phone them now and record the call, or withdraw the change."
        )
    return alerts_create(
        alerts=alerts_to(
            [change.decided_by_id, change.requested_by_id, *desk],
            dedupe_key=f"change_phone{'_late' if late else ''}:{change.pk}",
            hall_id=hall_id,
            kind=Alert.Kind.CHANGE_PHONE_DUE,
            **subject_fields(Appointment, change.appointment_id),
            text=text % values,
            created_at=now,
        )
    )


def _change_apply(
    *, change: ChangeRequest, method: str, actor, now: dt.datetime, told_late=False
) -> Appointment:
    with locking_transaction():
        change = _lock_change(change, "apply_change")
        if (
            not told_late
            and not change.is_emergency
            and not change_notice_in_time(original_start=change.original_start, now=now)
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
            note=change.reason
            + (" " + _("(SMS notice delivered less than 8 hours ahead)") if told_late else ""),
            short_notice_reason=(
                ""
                if booking_lead_is_sufficient(start=slot.start, now=now)
                else change.short_notice_reason
            ),
            **fields,
        )
