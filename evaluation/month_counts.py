"""A month's counts from the records, per window and per staff member (DB1403/T 7.4, 8.1).

The monthly assessment (``evaluation.reporting.assessment``, 7.4) scores them and the window's
self-evaluation (``evaluation.selfeval``, 8.1) is prefilled from them, so both count alike; what
each count holds is in the assessment's docstring. The rules that judge one record on time or
late, and 好评率, are ``evaluation.figures``'s.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Q, Value
from django.utils import timezone

from appointments.models import Appointment, ChangeRequest, NoShowFollowUp
from complaints.services import substantiated_complaints
from duty.models import DutyAssignment, InspectionFinding

from .figures import (
    RATING_AGGREGATES,
    change_told_late,
    follow_up_on_time,
    ratio,
    served_on_time,
)
from .months import month_bounds

# --- the counts --------------------------------------------------------------------------------

COUNT_KEYS = (
    "checked_in",
    "late",
    "absent",
    "served",
    "served_on_time",
    "rated",
    "good",
    "bad",
    "voluntary",
    "voluntary_good",
    "unrated",
    "changes",
    "change_breaches",
    "change_emergencies",
    "cancellation_breaches",
    "cancellation_emergencies",
    "follow_ups",
    "follow_ups_on_time",
    "substantiated_complaints",
    "findings",
)


def _minutes(n: int) -> Value:
    return Value(dt.timedelta(minutes=n))


def _moment(expression) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=DateTimeField())


def _add(target: dict, key, counts: dict) -> None:
    if key is None:
        return
    row = target.setdefault(key, dict.fromkeys(COUNT_KEYS, 0))
    for name, value in counts.items():
        row[name] += value or 0


def assessment_counts(
    *, hall_id: int, month: dt.date, now: dt.datetime, window_ids=None
) -> tuple[dict, dict]:
    """DB1403/T 7.4: the raw counts of the month per window id and per staff id (dicts of
    ``COUNT_KEYS``). Seven queries; ``window_ids`` narrows it to some windows (self-evaluation)."""
    start, end = month_bounds(month)
    until = min(end, now)
    windows: dict[int, dict] = {}
    staff: dict[int, dict] = {}

    def collect(rows, window_key: str, staff_key: str):
        for row in rows:
            window_id, staff_id = row.pop(window_key), row.pop(staff_key)
            if window_ids is not None and window_id not in window_ids:
                continue
            _add(windows, window_id, row)
            _add(staff, staff_id, row)

    def narrow(queryset, lookup: str):
        return (
            queryset.filter(**{f"{lookup}__in": window_ids}) if window_ids is not None else queryset
        )

    # 6.2.1: check-ins of duties that have started.
    absent_by = now - dt.timedelta(minutes=settings.DUTY_ABSENT_AFTER_MINUTES)
    assignments = narrow(
        DutyAssignment.objects.filter(
            duty__window__hall_id=hall_id,
            duty__start__gte=start,
            duty__start__lt=until,
            on_leave__isnull=True,
        ),
        "duty__window_id",
    )
    collect(
        assignments.values("duty__window_id", "staff_id")
        .order_by()
        .annotate(
            checked_in=Count("pk", filter=Q(checked_in_at__isnull=False)),
            late=Count("pk", filter=Q(checked_in_at__isnull=False, is_late=True)),
            absent=Count(
                "pk",
                filter=Q(checked_in_at__isnull=True)
                & (Q(absence_recorded_at__isnull=False) | Q(duty__start__lte=absent_by)),
            ),
        ),
        "duty__window_id",
        "staff_id",
    )

    # 5.1.2, 6.2.1, 8.2: bookings served, on time, and their ratings.
    served = narrow(
        Appointment.objects.filter(
            window__hall_id=hall_id, served_at__gte=start, served_at__lt=end
        ),
        "window_id",
    )
    collect(
        served.values("window_id", "responsible_staff_id")
        .order_by()
        .annotate(
            **RATING_AGGREGATES,
            served_on_time=Count("pk", filter=served_on_time()),
        ),
        "window_id",
        "responsible_staff_id",
    )

    # 6.2.2: changes told to the applicant in the month, and the hall's cancellations.
    notice = dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)
    late_change = change_told_late()
    changes = narrow(
        ChangeRequest.objects.filter(
            original_window__hall_id=hall_id,
            state=ChangeRequest.State.APPLIED,
            notified_at__gte=start,
            notified_at__lt=end,
        ),
        "original_window_id",
    )
    collect(
        changes.values("original_window_id", "appointment__responsible_staff_id")
        .order_by()
        .annotate(
            changes=Count("pk"),
            change_breaches=Count("pk", filter=late_change & Q(is_emergency=False)),
            change_emergencies=Count("pk", filter=Q(is_emergency=True)),
        ),
        "original_window_id",
        "appointment__responsible_staff_id",
    )
    late_cancel = Q(cancelled_at__gt=_moment(F("start") - Value(notice)))
    emergency_cancel = ~Q(cancel_emergency_reason="")
    cancellations = narrow(
        Appointment.objects.filter(
            window__hall_id=hall_id,
            cancelled_by_hall=True,
            cancelled_at__gte=start,
            cancelled_at__lt=end,
        ),
        "window_id",
    )
    collect(
        cancellations.values("window_id", "responsible_staff_id")
        .order_by()
        .annotate(
            changes=Count("pk"),
            change_breaches=Count("pk", filter=late_cancel & ~emergency_cancel),
            change_emergencies=Count("pk", filter=emergency_cancel),
            # The hall's cancellations among them, listed apart in the console.
            cancellation_breaches=Count("pk", filter=late_cancel & ~emergency_cancel),
            cancellation_emergencies=Count("pk", filter=emergency_cancel),
        ),
        "window_id",
        "responsible_staff_id",
    )

    # 6.2.3: follow-ups due in the month, judged once recorded or once their time is up.
    overdue_from = now - dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES)
    follow_ups = narrow(
        NoShowFollowUp.objects.filter(
            appointment__window__hall_id=hall_id, due_at__gte=start, due_at__lt=until
        ),
        "appointment__window_id",
    )
    collect(
        follow_ups.values("appointment__window_id", "assigned_to_id")
        .order_by()
        .annotate(
            follow_ups=Count(
                "pk",
                filter=Q(recorded_at__isnull=False) | Q(due_at__lt=overdue_from),
            ),
            follow_ups_on_time=Count("pk", filter=follow_up_on_time()),
        ),
        "appointment__window_id",
        "assigned_to_id",
    )

    # 7.2: inspection findings, less those found unfounded when dealt with (their outcome).
    findings = narrow(
        InspectionFinding.objects.filter(
            inspection__window__hall_id=hall_id, inspection__at__gte=start, inspection__at__lt=end
        ),
        "inspection__window_id",
    )
    collect(
        findings.values("inspection__window_id", "staff_id")
        .order_by()
        .annotate(findings=Count("pk", filter=~Q(outcome=InspectionFinding.Outcome.UNFOUNDED))),
        "inspection__window_id",
        "staff_id",
    )

    # 7.3: substantiated complaints (window and staff counted independently).
    # By decision date, the month's first to last day (local).
    complaints = substantiated_complaints(
        hall_id=hall_id,
        start=timezone.localtime(start).date(),
        end=timezone.localtime(end).date() - dt.timedelta(days=1),
    )
    for window_id, n in complaints["by_window"].items():
        if window_ids is None or window_id in window_ids:
            _add(windows, window_id, {"substantiated_complaints": n})
    if window_ids is None:
        for staff_id, n in complaints["by_staff"].items():
            _add(staff, staff_id, {"substantiated_complaints": n})
    return windows, staff


# --- rates -------------------------------------------------------------------------------------


def rates(counts: dict) -> dict:
    """The four rates of the assessment from its counts (None where there is no data)."""
    return {
        "punctuality": ratio(
            counts["checked_in"] - counts["late"], counts["checked_in"] + counts["absent"]
        ),
        "served_on_time": ratio(counts["served_on_time"], counts["served"]),
        "follow_ups_on_time": ratio(counts["follow_ups_on_time"], counts["follow_ups"]),
        "good_review_rate": ratio(counts["good"], counts["rated"]),
    }
