"""The duties' sweeps (DB1403/T 4, 5.2, 6.2.1, 6.2.4), registered in the project's one registry of
sweeps (yuyue/sweeps.py, which says what every sweep promises)."""

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext as _

from sms.models import Alert
from sms.subjects import subject_fields
from yuyue.sweeps import SweepResult, alerts_create, alerts_to, register_sweep

from .attendance import duty_absences_record
from .calendar import local, show_time
from .models import Hall, InspectionFinding
from .names import staff_name
from .roles import supervisors_by_hall
from .rosters import (
    ProblemKind,
    booking_horizon_end,
    duty_coverage_check,
    standing_rotations_extend,
)
from .supervision import inspection_findings_overdue

# --- 6.2.1, 5.2: duties --------------------------------------------------------------------------


def duty_absence_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 6.2.1: nobody checked in DUTY_ABSENT_AFTER_MINUTES (15) after a duty's start:
    the absence is recorded once and the window head and the hall's supervisors are alerted."""
    absences = duty_absences_record(now=now)
    if not absences:
        return SweepResult()
    supervisors = supervisors_by_hall({a.duty.window.hall_id for a in absences})
    alerts = []
    for absence in absences:
        window = absence.duty.window
        head_id = absence.duty.head_id or window.head_id
        text = _("%(person)s has not checked in for duty at %(window)s since %(time)s.") % {
            "person": staff_name(absence.staff),
            "window": window,
            "time": show_time(absence.duty.start),
        }
        for recipient in {head_id, *supervisors.get(window.hall_id, [])} - {None}:
            alerts.append(
                Alert(
                    recipient_id=recipient,
                    hall_id=window.hall_id,
                    kind=Alert.Kind.DUTY_ABSENT,
                    text=text,
                    created_at=now,
                    dedupe_key=f"absent:{absence.pk}:{recipient}",
                )
            )
    return SweepResult(alerts=alerts_create(alerts=alerts))


def _roster_alerts(problem, hall, recipients, now, today) -> list[Alert]:
    window = problem.window
    identity = ":".join(
        str(part)
        for part in (
            problem.kind,
            getattr(window, "pk", ""),
            problem.start.isoformat() if problem.start else "",
            getattr(problem.staff, "pk", ""),
        )
    )
    return [
        Alert(
            recipient_id=recipient,
            hall_id=hall.pk,
            kind=Alert.Kind.ROSTER_PROBLEM,
            text=str(problem.message),
            created_at=now,
            dedupe_key=f"roster:{today}:{identity}:{recipient}"[:160],
        )
        for recipient in recipients - {None}
    ]


def _gaps_ahead_alerts(window, gaps, hall, recipients, now, today) -> list[Alert]:
    """One alert per window for the gaps beyond ROSTER_CHECK_DAYS: citizens can already book
    those days (BOOKING_HORIZON_DAYS), but see no off-hours slot there."""
    text = _(
        "Window %(window)s: %(count)s off-hours period(s) from %(first)s to %(last)s have nobody "
        "on duty, so citizens cannot book them yet. Plan them, or set a standing rotation that "
        "runs forward by itself."
    ) % {
        "window": window,
        "count": len(gaps),
        "first": show_time(gaps[0].start),
        "last": show_time(gaps[-1].start),
    }
    return alerts_to(
        recipients,
        dedupe_key=f"roster-ahead:{today}:{window.pk}",
        hall_id=hall.pk,
        kind=Alert.Kind.ROSTER_PROBLEM,
        text=text,
        created_at=now,
    )


def roster_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 4, 5.2, 6.2.4: every gap and conflict of each hall's rosters over the whole
    booking horizon (BOOKING_HORIZON_DAYS) alerts the window head and the supervisors — again
    each day until it is put right. Within ROSTER_CHECK_DAYS each problem is its own alert (a
    holiday booking without a duty included); beyond it, the empty periods are summed up in one
    alert per window. The year whose holiday arrangement is not entered is left to the
    administrators' banner: nobody else can enter it."""
    today = local(now).date()
    urgent = today + dt.timedelta(days=settings.ROSTER_CHECK_DAYS)
    last = max(booking_horizon_end(now), urgent)
    halls = list(Hall.objects.all())
    supervisors = supervisors_by_hall({h.pk for h in halls})
    alerts = []
    for hall in halls:
        ahead = {}
        for problem in duty_coverage_check(hall=hall, start_date=today, end_date=last):
            if problem.kind == ProblemKind.YEAR_NOT_LOADED:
                continue
            window = problem.window
            recipients = {getattr(window, "head_id", None), *supervisors.get(hall.pk, [])}
            if problem.kind == ProblemKind.NOBODY and local(problem.start).date() > urgent:
                ahead.setdefault(window, (recipients, []))[1].append(problem)
                continue
            alerts += _roster_alerts(problem, hall, recipients, now, today)
        for window, (recipients, gaps) in ahead.items():
            alerts += _gaps_ahead_alerts(window, gaps, hall, recipients, now, today)
    return SweepResult(alerts=alerts_create(alerts=alerts))


def standing_rotation_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 5.2: carry the window heads' standing rotations forward to the booking horizon
    (idempotent: a day already written is not written again)."""
    standing_rotations_extend(now=now)
    return SweepResult()


# --- 7.2: inspection findings --------------------------------------------------------------------


def inspection_findings_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 7.2: a finding not dealt with by its deadline alerts its handler and the hall's
    supervisors, once per finding."""
    overdue = list(
        inspection_findings_overdue(now=now).select_related("inspection__window", "staff")
    )
    if not overdue:
        return SweepResult()
    supervisors = supervisors_by_hall({f.inspection.window.hall_id for f in overdue})
    alerts = []
    for finding in overdue:
        window = finding.inspection.window
        alerts += alerts_to(
            [finding.handler_id, *supervisors.get(window.hall_id, [])],
            dedupe_key=f"finding:{finding.pk}",
            hall_id=window.hall_id,
            kind=Alert.Kind.FINDING_OVERDUE,
            **subject_fields(InspectionFinding, finding.pk),
            text=_(
                "The finding “%(finding)s” at window %(window)s (inspection of %(time)s) was to "
                "be dealt with by %(due)s."
            )
            % {
                "finding": finding.get_kind_display(),
                "window": window,
                "time": show_time(finding.inspection.at),
                "due": finding.due.isoformat(),
            },
            created_at=now,
        )
    return SweepResult(alerts=alerts_create(alerts=alerts))


register_sweep("duty_absences", duty_absence_sweep, minutes=1)
# The rotations run forward before the coverage check reads them.
register_sweep("standing_rotations", standing_rotation_sweep, minutes=60)
register_sweep("rosters", roster_sweep, minutes=60)
register_sweep("inspection_findings", inspection_findings_sweep, minutes=60)
