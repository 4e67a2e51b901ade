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
from .rosters import duty_coverage_check
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


def roster_sweep(*, now: dt.datetime) -> SweepResult:
    """DB1403/T 4, 5.2, 6.2.4: every gap and conflict in the coming ROSTER_CHECK_DAYS of each
    hall's rosters (a holiday booking without a duty included) alerts the window head and the
    supervisors — again each day until it is put right."""
    today = local(now).date()
    last = today + dt.timedelta(days=settings.ROSTER_CHECK_DAYS)
    halls = list(Hall.objects.all())
    supervisors = supervisors_by_hall({h.pk for h in halls})
    alerts = []
    for hall in halls:
        for problem in duty_coverage_check(hall=hall, start_date=today, end_date=last):
            window = problem.window
            recipients = {getattr(window, "head_id", None), *supervisors.get(hall.pk, [])}
            identity = ":".join(
                str(part)
                for part in (
                    problem.kind,
                    getattr(window, "pk", ""),
                    problem.start.isoformat() if problem.start else "",
                    getattr(problem.staff, "pk", ""),
                )
            )
            alerts += [
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
    return SweepResult(alerts=alerts_create(alerts=alerts))


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
register_sweep("rosters", roster_sweep, minutes=60)
register_sweep("inspection_findings", inspection_findings_sweep, minutes=60)
