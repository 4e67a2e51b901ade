"""Links from every count and rate of the assessment (DB1403/T 7.4) to the console list of the
records behind it, as the supervisors' dashboard does (``dashboard_views.admin_list_url``).

Each list is filtered as ``assessment_counts`` counts: the month by local date, the window (or,
for a staff member, the person the records count against), and the rule that makes a record
count. In the month still running, lists of duties and follow-ups stop at ``now`` as the counts
do (they may then hold a record not judged yet: a follow-up still within its 30 minutes).
Inspection findings open the list of findings (an inspection may hold two). A list
the user may not view (window staff see neither complaints nor inspections) gets no link: the
number is shown as it is.
"""

import datetime as dt

from django.conf import settings

from appointments.models import ChangeRequest
from duty.calendar import local
from duty.models import InspectionFinding

from ..months import month_bounds
from .assessment import Assessment, AssessmentRow
from .dashboard_views import admin_list_url

# The console list behind each link, and the permission to view it.
LISTS = {
    "served": ("appointments_appointment", "appointments.view_appointment"),
    "duties": ("duty_dutyassignment", "duty.view_dutyassignment"),
    "late": ("duty_dutyassignment", "duty.view_dutyassignment"),
    "absent": ("duty_dutyassignment", "duty.view_dutyassignment"),
    "changes_late": ("appointments_changerequest", "appointments.view_changerequest"),
    "changes_emergency": ("appointments_changerequest", "appointments.view_changerequest"),
    "cancellations_late": ("appointments_appointment", "appointments.view_appointment"),
    "cancellations_emergency": ("appointments_appointment", "appointments.view_appointment"),
    "follow_ups": ("appointments_noshowfollowup", "appointments.view_noshowfollowup"),
    "complaints": ("complaints_complaint", "complaints.view_complaint"),
    "findings": ("duty_inspectionfinding", "duty.view_inspectionfinding"),
    "ratings": ("evaluation_rating", "evaluation.view_rating"),
}


def _iso(moment: dt.datetime) -> str:
    return local(moment).isoformat()


def _params(*, assessment: Assessment, row: AssessmentRow, now: dt.datetime) -> dict:
    """The query of each list for one row."""
    first, following = assessment.month.isoformat(), month_bounds(assessment.month)[1]
    last = following.date().isoformat()  # the next month's first day, excluded
    running = now < following  # the month is not over: counts stop at now
    window = row.kind == "window"

    def month(field: str) -> dict:
        return {f"{field}__date__gte": first, f"{field}__date__lt": last}

    def until(field: str, moment: dt.datetime) -> dict:
        return {f"{field}__lt": _iso(moment)} if running else {}

    who_booked = {"window": row.pk} if window else {"responsible_staff": row.pk}
    served = {**month("served_at"), **who_booked}
    if not window:
        served["window__hall"] = assessment.hall_id
    duties = {
        **month("duty__start"),
        **until("duty__start", now),
        "on_leave__isnull": "1",
        **({"duty__window": row.pk} if window else {"staff": row.pk}),
    }
    absent_by = now - dt.timedelta(minutes=settings.DUTY_ABSENT_AFTER_MINUTES)
    change = {
        **month("notified_at"),
        "state__exact": ChangeRequest.State.APPLIED,
        **({"original_window": row.pk} if window else {"appointment__responsible_staff": row.pk}),
    }
    cancellations = {**month("cancelled_at"), **who_booked}
    if not window:
        cancellations["window__hall"] = assessment.hall_id
    return {
        "served": served,
        "duties": duties,
        "late": {**duties, "checked_in_at__isnull": "0", "is_late__exact": "1"},
        "absent": {
            **duties,
            **until("duty__start", absent_by),
            "checked_in_at__isnull": "1",
        },
        "changes_late": {**change, "notice": "late", "is_emergency__exact": "0"},
        "changes_emergency": {**change, "is_emergency__exact": "1"},
        "cancellations_late": {**cancellations, "hall_cancel": "late"},
        "cancellations_emergency": {**cancellations, "hall_cancel": "emergency"},
        "follow_ups": {
            **month("due_at"),
            **until("due_at", now),
            **({"appointment__window": row.pk} if window else {"assigned_to": row.pk}),
        },
        "complaints": {
            **month("decided_at"),
            "hall": assessment.hall_id,
            "substantiated__exact": "1",
            **({"window": row.pk} if window else {"staff": row.pk}),
        },
        "findings": {
            **month("inspection__at"),
            # Findings not substantiated on checking do not count (DB1403/T 7.2).
            "outcome__in": ",".join(
                [
                    o
                    for o in InspectionFinding.Outcome.values
                    if o != InspectionFinding.Outcome.UNFOUNDED
                ]
                + [""]
            ),
            **(
                {"inspection__window": row.pk}
                if window
                else {"staff": row.pk, "inspection__window__hall": assessment.hall_id}
            ),
        },
        "ratings": {
            **month("appointment__served_at"),
            "hall": assessment.hall_id,
            "excluded__exact": "0",
            **({"window": row.pk} if window else {"appointment__responsible_staff": row.pk}),
        },
    }


def assessment_links(*, assessment: Assessment, user, now: dt.datetime) -> None:
    """Put ``row.extra["links"]`` (list key → URL, or None) on every row of ``assessment``, and
    ``row.extra["split"]``: the 8 h rule breaches and emergencies as (changes, cancellations by
    the hall), each linking to its own list."""
    may_view = {perm: user.has_perm(perm) for _name, perm in LISTS.values()}
    for row in [*assessment.windows, *assessment.staff]:
        params = _params(assessment=assessment, row=row, now=now)
        row.extra["links"] = {
            key: admin_list_url(name, **params[key]) if may_view[perm] else None
            for key, (name, perm) in LISTS.items()
        }
        counts = row.counts
        row.extra["split"] = {
            "change_breaches": (
                counts["change_breaches"] - counts["cancellation_breaches"],
                counts["cancellation_breaches"],
            ),
            "change_emergencies": (
                counts["change_emergencies"] - counts["cancellation_emergencies"],
                counts["cancellation_emergencies"],
            ),
        }
