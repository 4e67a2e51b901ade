"""Confirmation and hand-over (DB1403/T 5.1.3 c, 6.1.1, 6.1.3): confirming an online booking,
handing it over to the window with the one-time notice, reassigning it and confirming the
parallel tasks of a matter of several departments."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from duty.models import Window
from duty.names import staff_name
from yuyue.checks import field_error as _error
from yuyue.checks import require_perm as _require_perm
from yuyue.locks import locking_transaction
from yuyue.stored_texts import stored_text

from ..models import (
    Appointment,
    ContactLog,
    ContactMethod,
    ParallelTask,
    Status,
)
from ..notifications import show_time
from ._common import (
    Action,
    _is_agency_of,
    _lock,
    _lock_id,
    _log,
    _method_clean,
    _open_changes,
    _require_agency_of,
    _require_hall,
    _staff_clean,
    _update,
)
from ._placing import _move_fields
from .rules import booking_target_clean
from .steps import BOOKING_STEPS


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
            % {"name": staff_name(reported_to)},
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
        note = stored_text(
            gettext_noop("%(reason)s (reported to %(agency)s)"),
            reason=reason,
            agency=staff_name(agency),
        )
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
