"""The dashboard's figures from the records beside the bookings (DB1403/T 4, 5.2, 6.2.1–6.2.4,
7.3, 8.3): no-show follow-ups, changes told late, duty check-ins, complaints, bad-review cases and
improvement actions in one query (``side_counts``), and the roster gaps of the no-rest windows
(``roster_gaps``). What each counts is in ``evaluation.reporting.dashboard``'s docstring.
"""

import datetime as dt

from django.db.models import Count, Exists, F, Func, IntegerField, OuterRef, Q, Value
from django.utils import timezone

from appointments.models import Appointment, ChangeRequest, NoShowFollowUp
from complaints.models import AWAITING_ACCEPTANCE, AWAITING_REPLY, Complaint
from complaints.services import overdue_condition
from duty.models import DayType, Duty, DutyAssignment

from ..figures import change_told_late, follow_up_on_time
from ..models import BadReviewCase, ImprovementAction, Rating

# Every record (no restriction).
EVERY = Q()


def side_counts(
    *,
    hall_id,
    window_ids,
    start,
    end,
    low,
    high,
    department_id,
    window_id,
    now,
    today,
    live_follow_ups=EVERY,
    hall_ids=None,
    every_hall=False,
):
    """The counts of the other records of the period, in one query (see the module docstring).
    Only the follow-ups ``live_follow_ups`` selects are counted (None: none): the dashboard's
    summary holds the others. ``hall_ids`` (instead of ``hall_id``): those halls together;
    ``every_hall``: they are every hall, so the records need no hall filter (the bad-review
    cases' EXISTS on their rating's hall would read every rating of the city)."""
    if every_hall:
        halls = {}
    else:
        halls = {"hall_id": hall_id} if hall_ids is None else {"hall_id__in": hall_ids}
    # Follow-ups and bad-review cases are found by their own date (follow_up_slot_start_idx;
    # the cases are few), their booking's or rating's hall, window and department checked in
    # an EXISTS: with a join SQLite starts from the hall's bookings or ratings of all time.
    follow_up_bookings = Appointment.objects.filter(
        pk=OuterRef("appointment_id"), window_id__in=window_ids
    )
    case_ratings = Rating.objects.filter(pk=OuterRef("rating_id"), **halls)
    changes = ChangeRequest.objects.filter(
        original_window_id__in=window_ids,
        original_start__gte=low,
        original_start__lt=high,
        notified_at__isnull=False,
    )
    assignments = DutyAssignment.objects.filter(
        **{f"duty__window__{k}": v for k, v in halls.items()},
        duty__start__gte=low,
        duty__start__lt=high,
        on_leave__isnull=True,
    )
    complaints = Complaint.objects.filter(**halls)
    actions = ImprovementAction.objects.filter(
        **halls,
        state__in=[ImprovementAction.State.OPEN, ImprovementAction.State.IN_PROGRESS],
    )
    if department_id is not None:
        follow_up_bookings = follow_up_bookings.filter(matter__departments=department_id)
        changes = changes.filter(appointment__matter__departments=department_id)
        assignments = assignments.filter(duty__window__departments=department_id)
        complaints = complaints.filter(department_id=department_id)
        case_ratings = case_ratings.filter(department_id=department_id)
        actions = actions.filter(window__departments=department_id)
    if window_id is not None:
        follow_up_bookings = follow_up_bookings.filter(window_id=window_id)
        changes = changes.filter(original_window_id=window_id)
        assignments = assignments.filter(duty__window_id=window_id)
        complaints = complaints.filter(window_id=window_id)
        case_ratings = case_ratings.filter(window_id=window_id)
        actions = actions.filter(window_id=window_id)
    follow_ups = NoShowFollowUp.objects.filter(
        Exists(follow_up_bookings), slot_start__gte=low, slot_start__lt=high
    )
    follow_ups = (
        follow_ups.filter(live_follow_ups) if live_follow_ups is not None else follow_ups.none()
    )
    cases = BadReviewCase.objects.filter(
        EVERY if every_hall else Exists(case_ratings),
        rectify_due__gte=start,
        rectify_due__lte=end,
        rectify_due__lt=today,
    )
    overdue = overdue_condition(now)
    late_notice = change_told_late()
    # One query: for each table one aggregate row of up to four counts (without GROUP BY, so a
    # row even when nothing matches), the rows joined by UNION ALL. Each table is read once.
    parts = {
        "follow_ups": (
            follow_ups,
            {
                "follow_ups": Count("pk"),
                "follow_ups_on_time": Count("pk", filter=follow_up_on_time()),
                "follow_ups_open": Count("pk", filter=Q(outcome="")),
            },
        ),
        "changes": (
            changes,
            {
                "changes_notified": Count("pk"),
                "changes_late": Count("pk", filter=late_notice & Q(is_emergency=False)),
                "changes_emergency": Count("pk", filter=late_notice & Q(is_emergency=True)),
            },
        ),
        "assignments": (
            assignments,
            {
                "assignments_due": Count("pk", filter=Q(duty__start__lte=now)),
                "late_check_ins": Count("pk", filter=Q(is_late=True)),
            },
        ),
        "complaints": (
            complaints,
            {
                "complaints_received": Count(
                    "pk", filter=Q(received_at__gte=low, received_at__lt=high)
                ),
                "complaints_open": Count(
                    "pk", filter=Q(state__in=[*AWAITING_ACCEPTANCE, *AWAITING_REPLY])
                ),
                "complaints_overdue_accept": Count(
                    "pk", filter=overdue & Q(state__in=AWAITING_ACCEPTANCE)
                ),
                "complaints_overdue_reply": Count(
                    "pk", filter=overdue & Q(state__in=AWAITING_REPLY)
                ),
            },
        ),
        "cases": (
            cases,
            {
                "cases_due": Count("pk"),
                "cases_rectified": Count(
                    "pk",
                    filter=Q(rectified_at__isnull=False, rectified_at__date__lte=F("rectify_due")),
                ),
            },
        ),
        "actions": (
            actions,
            {
                "actions_open": Count("pk", distinct=True),
                "actions_overdue": Count("pk", distinct=True, filter=Q(due__lt=today)),
            },
        ),
    }
    width = max(len(counts) for _queryset, counts in parts.values())
    queries = []
    for number, (queryset, counts) in enumerate(parts.values()):
        columns = list(counts.values())
        columns += [Value(0, output_field=IntegerField())] * (width - len(columns))
        queries.append(
            queryset.order_by()
            .annotate(_part=Value(number, output_field=IntegerField()))
            .values("_part")
            .annotate(**{f"c{i}": column for i, column in enumerate(columns)})
        )
    rows = {row["_part"]: row for row in queries[0].union(*queries[1:], all=True)}
    result = {}
    for number, (_queryset, counts) in enumerate(parts.values()):
        # A part whose filter can match nothing (``window_id__in=[]``: a hall without windows)
        # is left out of the UNION by the ORM: it counts nothing.
        row = rows.get(number)
        for i, name in enumerate(counts):
            result[name] = row[f"c{i}"] if row else 0
    return result


def roster_gaps(*, windows, days, no_rest, rows, low, high) -> list[dict]:
    """DB1403/T 4, 5.2, 6.2.4: as ``duty.rosters.roster_problems`` (kinds nobody and holiday):
    every off-hours period of a working day or weekend, and every booked holiday period, of the
    no-rest ``windows`` with nobody on duty. One query (the duties with somebody present)."""
    if not windows:
        return []
    return roster_gaps_of(
        windows=windows,
        days=days,
        no_rest=no_rest,
        rows=rows,
        covered=duties_covered(window_ids=[w.pk for w in windows], low=low, high=high),
    )


def duties_covered(*, window_ids, low, high) -> set:
    """One query: the (window, start) of the duties in [low, high) somebody (not on leave) is
    on."""
    present = DutyAssignment.objects.filter(duty=OuterRef("pk"), on_leave__isnull=True)
    return set(
        Duty.objects.filter(window_id__in=window_ids, start__lt=high, end__gt=low)
        .filter(Exists(present))
        .annotate(_at=_EpochSeconds("start"))
        .values_list("window_id", "_at")
    )


class _EpochSeconds(Func):
    """A datetime as whole seconds since 1970 (UTC): a city's year of duties is ~50 000 rows,
    and integers are read several times faster than aware datetimes."""

    output_field = IntegerField()
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS bigint)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)",
            **extra_context,
        )


def roster_gaps_of(*, windows, days, no_rest, rows, covered) -> list[dict]:
    """``roster_gaps`` given the duties ``covered`` (``duties_covered``: (window, start in
    epoch seconds)): no query."""
    tz = timezone.get_default_timezone()
    booked_holidays = {
        (row["window_id"], row["_day"], i)
        for row in rows
        for i in range(len(no_rest[DayType.HOLIDAY]))
        if row.get(f"holiday_{i}")
    }
    # The periods of the days, worked out once for all the windows (a city's year is ~58 000
    # window periods).
    periods = [
        (info, i, p_end, moment, int(moment.timestamp()))
        for info in days.values()
        for i, (p_start, p_end) in enumerate(no_rest.get(info.day_type, []))
        for moment in [dt.datetime.combine(info.date, p_start, tzinfo=tz)]
    ]
    gaps = []
    for window in windows:
        for info, i, p_end, moment, epoch in periods:
            if (window.pk, epoch) in covered:
                continue
            if info.day_type == DayType.HOLIDAY and (
                (window.pk, info.date, i) not in booked_holidays
            ):
                continue  # 4: holidays are served by appointment
            gaps.append(
                {
                    "window": window,
                    "start": moment,
                    "end": dt.datetime.combine(info.date, p_end, tzinfo=tz),
                    "holiday": info.day_type == DayType.HOLIDAY,
                }
            )
    return gaps
