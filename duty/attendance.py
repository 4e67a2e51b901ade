"""Check-in and check-out of duties, lateness and absence (DB1403/T 6.2.1, 7.2).

The server's clock decides: the console passes ``timezone.now()``. Late means checked in after
the start plus ``DUTY_LATE_GRACE_MINUTES``; absent means no check-in ``DUTY_ABSENT_AFTER_MINUTES``
after the start, which ``duty_absences_record`` records so that the window head and a supervisor
can be alerted (the background sweep delivers the alerts).
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yuyue.checks import field_error as _error

from .calendar import local
from .models import DutyAssignment, Window


def _minutes(name: str) -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, name))


def _show(moment: dt.datetime) -> str:
    return formats.date_format(local(moment), "Y-m-d H:i")


def duty_is_late(*, start: dt.datetime, checked_in_at: dt.datetime) -> bool:
    """DB1403/T 6.2.1: on time up to the start plus the grace minutes, late one moment after."""
    return checked_in_at > start + _minutes("DUTY_LATE_GRACE_MINUTES")


def _lock(assignment: DutyAssignment) -> DutyAssignment:
    # Race: a double click or two tabs check in at once, or the absence sweep runs while the
    # person checks in; the second waits and then sees what the first recorded.
    return (
        DutyAssignment.objects.select_for_update(of=("self",))
        .select_related("duty__window")
        .get(pk=assignment.pk)
    )


def _require_own(actor, assignment: DutyAssignment) -> None:
    if actor is None or not actor.has_perm("duty.check_in_dutyassignment"):
        raise PermissionDenied(_("You are not allowed to check in for duties."))
    if actor.pk != assignment.staff_id:
        raise PermissionDenied(_("Staff check in and out of their own duties only."))


def duty_check_in(*, assignment: DutyAssignment, actor, now: dt.datetime) -> DutyAssignment:
    """DB1403/T 6.2.1: a staff member checks in for their duty on the server's clock.

    Opens ``DUTY_CHECK_IN_EARLY_MINUTES`` before the start and closes at the end; late after the
    start plus ``DUTY_LATE_GRACE_MINUTES``. Someone already recorded absent may still check in
    (and is late).
    """
    _require_own(actor, assignment)
    with transaction.atomic():
        assignment = _lock(assignment)
        duty = assignment.duty
        if assignment.on_leave_id is not None:
            raise _error("duty", _("You are on leave (调休) for this duty."), "on_leave")
        if assignment.checked_in_at is not None:
            raise _error(
                "duty",
                _("You checked in at %(time)s.") % {"time": _show(assignment.checked_in_at)},
                "done",
            )
        opens = duty.start - _minutes("DUTY_CHECK_IN_EARLY_MINUTES")
        if now < opens:
            raise _error(
                "duty",
                _("Check-in opens at %(time)s.") % {"time": _show(opens)},
                "too_early",
            )
        if now >= duty.end:
            raise _error(
                "duty", _("This duty ended at %(time)s.") % {"time": _show(duty.end)}, "over"
            )
        assignment.checked_in_at = now
        assignment.is_late = duty_is_late(start=duty.start, checked_in_at=now)
        assignment.save(update_fields=["checked_in_at", "is_late"])
    return assignment


def duty_check_out(*, assignment: DutyAssignment, actor, now: dt.datetime) -> DutyAssignment:
    """DB1403/T 6.2.1: a staff member checks out; before the end of the duty is leaving early."""
    _require_own(actor, assignment)
    with transaction.atomic():
        assignment = _lock(assignment)
        if assignment.checked_in_at is None:
            raise _error("duty", _("Check in before checking out."), "not_in")
        if assignment.checked_out_at is not None:
            raise _error(
                "duty",
                _("You checked out at %(time)s.") % {"time": _show(assignment.checked_out_at)},
                "done",
            )
        assignment.checked_out_at = max(now, assignment.checked_in_at)
        assignment.left_early = assignment.checked_out_at < assignment.duty.end
        assignment.save(update_fields=["checked_out_at", "left_early"])
    return assignment


def duty_absences_record(*, now: dt.datetime, hall=None) -> list[DutyAssignment]:
    """DB1403/T 6.2.1, 7.2: everyone on duty (not on leave) without a check-in
    ``DUTY_ABSENT_AFTER_MINUTES`` after the start is recorded absent, once.

    Returns only the newly recorded ones, with their duty, window and head, for the background
    sweep to alert the window head and the supervisors; running it again returns nothing new.
    """
    due = DutyAssignment.objects.filter(
        on_leave__isnull=True,
        checked_in_at__isnull=True,
        absence_recorded_at__isnull=True,
        duty__start__lte=now - _minutes("DUTY_ABSENT_AFTER_MINUTES"),
    )
    if hall is not None:
        due = due.filter(duty__window__hall=hall)
    with transaction.atomic():
        # Race: two sweeps at once (two workers); the second waits and skips what the first
        # recorded, so each absence is alerted once.
        recorded = list(
            due.select_for_update(of=("self",))
            .select_related("duty__window__head", "duty__head", "staff")
            .order_by("duty__start", "pk")
        )
        DutyAssignment.objects.filter(pk__in=[a.pk for a in recorded]).update(
            absence_recorded_at=now
        )
    for a in recorded:
        a.absence_recorded_at = now
    return recorded


ATTENDANCE_LABELS = {
    "on_leave": gettext_lazy("on leave"),
    "not_yet": gettext_lazy("not checked in yet"),
    "absent": gettext_lazy("absent"),
    "late": gettext_lazy("late"),
    "present": gettext_lazy("present"),
    "left_early": gettext_lazy("left early"),
}


def duty_attendance(*, assignment: DutyAssignment, now: dt.datetime) -> str:
    """DB1403/T 6.2.1: on leave, not checked in yet, absent, late, present or left early."""
    if assignment.on_leave_id is not None:
        return "on_leave"
    if assignment.checked_in_at is None:
        absent_at = assignment.duty.start + _minutes("DUTY_ABSENT_AFTER_MINUTES")
        return "absent" if assignment.absence_recorded_at or now >= absent_at else "not_yet"
    if assignment.left_early:
        return "left_early"
    return "late" if assignment.is_late else "present"


def staff_presence_at(*, staff, window: Window, moment: dt.datetime) -> DutyAssignment | None:
    """The duty assignment of ``staff`` at ``window`` covering ``moment`` (DB1403/T 6.2.1):
    what a booking shows of whether its responsible staff member was there."""
    return (
        DutyAssignment.objects.filter(
            staff=staff, duty__window=window, duty__start__lte=moment, duty__end__gt=moment
        )
        .select_related("duty")
        .first()
    )
