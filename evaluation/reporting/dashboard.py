"""The supervisors' dashboard figures (DB1403/T 7.1–7.4, 8.1–8.3), computed in a fixed number of
queries whatever the size of the data.

The period is two dates, ``start`` and ``end``, both included, in the hall's time zone
(Asia/Shanghai): 2026-10-01..2026-10-07 is from 10-01 00:00 to 10-08 00:00 Beijing time.

What each figure counts (documented here once, shown on the page):

- **Bookings** are those whose *appointment time* (``Appointment.start``) falls in the period,
  whatever their status; by channel and by status.
- **Shares off-hours / weekend / holiday** (DB1403/T 3.2, 4) are of the bookings not cancelled:
  a booking on a working day outside the hall's regular periods is off-hours; a booking on a
  weekend day (make-up working days are working days) or a statutory holiday counts as such
  whatever the hour. Day types come from ``duty.calendar.days_info``.
- **Time to confirmation** (DB1403/T 5.1.3 c): online bookings accepted, ``created_at`` to
  ``accepted_at``, in *elapsed clock hours* — the applicant waits the same whether the office is
  open or not, and the figure can be computed in the database. Median and 90th percentile by
  nearest rank, to the minute.
- **No-show rate** (DB1403/T 6.2.3) = no-shows / (served + no-shows): of the bookings that were
  concluded either way.
- **Follow-ups on time** (6.2.3): the no-show follow-ups of the period's bookings whose outcome
  was recorded on time (``evaluation.figures.follow_up_on_time``).
- **8 h rule** (6.2.2): change requests whose *original* time is in the period and whose applicant
  was told less than ``CHANGE_NOTICE_MIN_HOURS`` before it; recorded emergencies are separate.
- **Roster gaps** (4, 5.2, 6.2.4): off-hours periods of the period's no-rest windows with nobody
  on duty (people on leave not counted), and holiday periods someone booked with nobody on duty —
  the rule of ``duty.rosters.roster_problems`` (kinds ``nobody`` and ``holiday``), counted here in
  two queries instead of its nine (a test checks both agree); conflicts (one person in two places,
  on duty while on leave) are on the roster page. **Late check-ins** (6.2.1) among the duty
  assignments of the period (people on leave excluded).
- **Complaints** (7.3): received in the period; open and overdue *now*
  (``complaints.services.complaints_overdue``).
- **好评率, 主动评价好评率, 未评价率** (8.2): ``evaluation.figures`` over the period's bookings
  that were served. **Served on time**: ``evaluation.figures.served_on_time``, as in the
  self-evaluation and the assessment.
- **Bad-review rectification rate** (8.3): bad-review cases whose ``rectify_due`` lies in the
  period and has passed; rectified on or before it / those cases.
- **Improvement actions overdue** (8.3): open or in progress with a due date before today.
"""

import datetime as dt
import math
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    TimeField,
    Value,
)
from django.db.models.functions import Cast, Floor, TruncDate, TruncMonth, TruncTime
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import (
    LIVE_STATUSES as LIVE,
)
from appointments.models import (
    Appointment,
    ChangeRequest,
    Channel,
    NoShowFollowUp,
    Status,
)
from complaints.models import AWAITING_ACCEPTANCE, AWAITING_REPLY, Complaint
from complaints.services import overdue_condition
from duty.calendar import days_info, local
from duty.models import DayType, Duty, DutyAssignment, ServicePeriod, Window

from .figures import (
    RATING_AGGREGATES,
    change_told_late,
    follow_up_on_time,
    rating_rates,
    ratio,
    served_on_time,
)
from .models import BadReviewCase, ImprovementAction, Rating

MAX_PERIOD_DAYS = 366
# Periods longer than this are charted per week (Monday to Sunday) rather than per day.
DAILY_TREND_MAX_DAYS = 62


class _SecondsBetween(Func):
    """Seconds from the second expression to the first, on SQLite and PostgreSQL."""

    output_field = FloatField()
    arity = 2

    def _parts(self, compiler):
        (a, pa), (b, pb) = (compiler.compile(e) for e in self.get_source_expressions())
        return a, b, (*pa, *pb)

    def as_sqlite(self, compiler, connection, **extra):
        a, b, params = self._parts(compiler)
        return f"((julianday({a}) - julianday({b})) * 86400.0)", params

    def as_postgresql(self, compiler, connection, **extra):
        a, b, params = self._parts(compiler)
        return f"EXTRACT(EPOCH FROM ({a} - {b}))", params

    def as_sql(self, compiler, connection, **extra):  # MySQL/MariaDB
        a, b, params = self._parts(compiler)
        return f"TIMESTAMPDIFF(SECOND, {b}, {a})", params


class LocalDatePart(Func):
    """The local date (or time of day) of a datetime column in a zone with one UTC offset over
    the period (Asia/Shanghai has had no daylight saving since 1991). On SQLite this is the
    built-in ``date(col, '+8 hours')`` instead of Django's per-row Python function, which is
    ten times slower over a year of bookings; on PostgreSQL ``col AT TIME ZONE INTERVAL
    '+480 minutes'``; elsewhere Django's TruncDate/TruncTime."""

    def __init__(self, expression, *, offset: dt.timedelta, kind: str):
        self.offset, self.kind = offset, kind
        output = TimeField() if kind == "time" else DateField()
        super().__init__(expression, output_field=output)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        shift = f"'{int(self.offset.total_seconds() // 60):+d} minutes'"
        if self.kind == "month":
            return f"strftime('%%Y-%%m-01', {sql}, {shift})", params
        return f"{self.kind}({sql}, {shift})", params

    def as_postgresql(self, compiler, connection, **extra):
        # A fixed offset (an interval) rather than the zone's name: PostgreSQL then need not look
        # the zone's rules up for every row, which halves the cost of grouping a year by day.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        minutes = int(self.offset.total_seconds() // 60)
        shifted = f"({sql} AT TIME ZONE INTERVAL '{minutes:+d} minutes')"
        if self.kind == "month":
            return f"date_trunc('month', {shifted})::date", params
        return f"{shifted}::{self.kind}", params

    def as_sql(self, compiler, connection, **extra):
        tz = timezone.get_default_timezone()
        expression = self.get_source_expressions()[0]
        if self.kind == "month":
            # Truncated in the local zone straight to a date: truncating to a datetime first
            # gives a local timestamp that a second zone conversion shifts back a day.
            return compiler.compile(TruncMonth(expression, tzinfo=tz, output_field=DateField()))
        trunc = TruncDate if self.kind == "date" else TruncTime
        return compiler.compile(trunc(expression, tzinfo=tz))


def fixed_offset(low: dt.datetime, high: dt.datetime) -> dt.timedelta | None:
    """The zone's UTC offset if it is the same all through [low, high], else None."""
    offsets = {local(low).utcoffset(), local(high).utcoffset()}
    return offsets.pop() if len(offsets) == 1 else None


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The aware instants [start 00:00, end + 1 day 00:00) in the hall's time zone."""
    tz = timezone.get_default_timezone()
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def period_clean(start, end) -> None:
    """Bad input: a period is two dates, the first not after the second, at most a year long."""
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise ValidationError(_("Enter the period as two dates."), code="invalid")
    if start > end:
        raise ValidationError(
            _("The period is reversed: %(start)s is after %(end)s.")
            % {"start": start.isoformat(), "end": end.isoformat()},
            code="reversed",
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError(
            _("The period is longer than %(days)s days; choose a shorter one.")
            % {"days": MAX_PERIOD_DAYS},
            code="too_long",
        )


def _percentile(histogram: dict[int, int], share: float) -> int | None:
    """Nearest-rank percentile of values given as {value: count}."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover


def _served_only(aggregate):
    """A ``RATING_AGGREGATES`` entry restricted to served bookings (the definitions stay in
    ``evaluation.figures``; the dashboard's grouped query also holds unserved bookings)."""
    served = Q(served_at__isnull=False)
    copy = aggregate.copy()
    copy.filter = served & aggregate.filter if aggregate.filter is not None else served
    return copy


def dashboard_figures(
    *,
    hall_id: int,
    start: dt.date,
    end: dt.date,
    department_id: int | None = None,
    window_id: int | None = None,
    now: dt.datetime,
) -> dict:
    """DB1403/T 7.1–7.4, 8.1–8.3: the supervision figures of one hall over a period (dates, both
    included, Asia/Shanghai), optionally for one department or one window. See the module
    docstring for what each figure counts. Eight queries whatever the data size."""
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    period_clean(start, end)
    low, high = period_bounds(start, end)
    today = local(now).date()

    # 1. The hall's windows (names for the ranking, no-rest windows for the roster check).
    in_department = Window.departments.through.objects.filter(
        window_id=OuterRef("pk"), department_id=department_id or 0
    )
    windows = {
        w.pk: w
        for w in Window.objects.filter(hall_id=hall_id)
        .annotate(in_department=Exists(in_department))
        .order_by("number")
    }
    if window_id is not None and window_id not in windows:
        raise ValidationError(_("This window does not belong to the hall."), code="window")

    # By the hall's window ids rather than a join to the window table (one join less per
    # booking read).
    bookings = Appointment.objects.filter(
        window_id__in=list(windows), start__gte=low, start__lt=high
    ).order_by()
    if department_id is not None:
        bookings = bookings.filter(matter__departments=department_id)
    if window_id is not None:
        bookings = bookings.filter(window_id=window_id)

    # 2. The hall's service periods (regular hours; off-hours periods the rosters cover), 3.-4.
    # day types over the period.
    regular, no_rest = [], defaultdict(list)
    for period in ServicePeriod.objects.filter(hall_id=hall_id).order_by("start"):
        if period.kind == ServicePeriod.Kind.REGULAR:
            regular.append((period.start, period.end))
        else:
            no_rest[period.day_type].append((period.start, period.end))
    days = days_info(start, end)

    # 5. Everything about the bookings themselves, grouped by window and local date. The
    # booking's columns are all in the index appointment_window_start_idx (no row look-ups).
    tz = timezone.get_default_timezone()
    in_regular_hours = Q(pk__in=[])
    for period_start, period_end in regular:
        in_regular_hours |= Q(_time__gte=period_start, _time__lt=period_end)
    live = ~Q(status=Status.CANCELLED)
    aggregates = {
        "total": Count("pk"),
        "live": Count("pk", filter=live),
        "live_outside_regular": Count("pk", filter=live & ~in_regular_hours),
        "on_time": Count("pk", filter=served_on_time()),
        **{f"status_{s}": Count("pk", filter=Q(status=s)) for s in Status.values},
        **{f"channel_{c}": Count("pk", filter=Q(channel=c)) for c in Channel.values},
        **{f"r_{k}": _served_only(a) for k, a in RATING_AGGREGATES.items()},
        # DB1403/T 4: a holiday period someone booked needs somebody on duty.
        **{
            f"holiday_{i}": Count("pk", filter=Q(_time__gte=s, _time__lt=e, status__in=LIVE))
            for i, (s, e) in enumerate(no_rest[DayType.HOLIDAY])
        },
    }
    offset = fixed_offset(low, high)
    if offset is not None:
        day_expr = LocalDatePart("start", offset=offset, kind="date")
        time_expr = LocalDatePart("start", offset=offset, kind="time")
    else:
        day_expr, time_expr = TruncDate("start", tzinfo=tz), TruncTime("start", tzinfo=tz)
    rows = list(
        bookings.annotate(_day=day_expr, _time=time_expr)
        .values("window_id", "_day")
        .annotate(**aggregates)
    )

    # 6. Time from online booking to confirmation, as a histogram of whole minutes.
    minutes = Floor(_SecondsBetween("accepted_at", "created_at") / 60.0)
    histogram = {
        int(row["m"]): row["n"]
        for row in bookings.filter(channel=Channel.ONLINE, accepted_at__isnull=False)
        .annotate(m=Cast(minutes, IntegerField()))
        .values("m")
        .annotate(n=Count("pk"))
    }

    # 7. One query of counts from the other tables.
    side = _side_counts(
        hall_id=hall_id,
        window_ids=list(windows),
        start=start,
        end=end,
        low=low,
        high=high,
        department_id=department_id,
        window_id=window_id,
        now=now,
        today=today,
    )

    # 8. Roster gaps: the off-hours periods somebody (not on leave) is on duty.
    roster_windows = [
        w
        for w in windows.values()
        if w.is_no_rest and w.is_active and (window_id is None or w.pk == window_id)
    ]
    if department_id is not None:
        roster_windows = [w for w in roster_windows if w.in_department]
    gaps = _roster_gaps(
        windows=roster_windows, days=days, no_rest=no_rest, rows=rows, low=low, high=high
    )

    return _assemble(
        rows=rows,
        days=days,
        windows=windows,
        histogram=histogram,
        side=side,
        gaps=gaps,
        start=start,
        end=end,
    )


def _side_counts(
    *, hall_id, window_ids, start, end, low, high, department_id, window_id, now, today
):
    # Follow-ups and bad-review cases are found by their own date (follow_up_slot_start_idx;
    # the cases are few), their booking's or rating's hall, window and department checked in
    # an EXISTS: with a join SQLite starts from the hall's bookings or ratings of all time.
    follow_up_bookings = Appointment.objects.filter(
        pk=OuterRef("appointment_id"), window_id__in=window_ids
    )
    case_ratings = Rating.objects.filter(pk=OuterRef("rating_id"), hall_id=hall_id)
    changes = ChangeRequest.objects.filter(
        original_window_id__in=window_ids,
        original_start__gte=low,
        original_start__lt=high,
        notified_at__isnull=False,
    )
    assignments = DutyAssignment.objects.filter(
        duty__window__hall_id=hall_id,
        duty__start__gte=low,
        duty__start__lt=high,
        on_leave__isnull=True,
    )
    complaints = Complaint.objects.filter(hall_id=hall_id)
    actions = ImprovementAction.objects.filter(
        hall_id=hall_id,
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
    cases = BadReviewCase.objects.filter(
        Exists(case_ratings),
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


def _roster_gaps(*, windows, days, no_rest, rows, low, high) -> list[dict]:
    """DB1403/T 4, 5.2, 6.2.4: as ``duty.rosters.roster_problems`` (kinds nobody and holiday):
    every off-hours period of a working day or weekend, and every booked holiday period, of the
    no-rest ``windows`` with nobody on duty. One query (the duties with somebody present)."""
    if not windows:
        return []
    tz = timezone.get_default_timezone()
    present = DutyAssignment.objects.filter(duty=OuterRef("pk"), on_leave__isnull=True)
    covered = set(
        Duty.objects.filter(window_id__in=[w.pk for w in windows], start__lt=high, end__gt=low)
        .filter(Exists(present))
        .values_list("window_id", "start")
    )
    booked_holidays = {
        (row["window_id"], row["_day"], i)
        for row in rows
        for i in range(len(no_rest[DayType.HOLIDAY]))
        if row.get(f"holiday_{i}")
    }
    gaps = []
    for window in windows:
        for info in days.values():
            for i, (p_start, p_end) in enumerate(no_rest.get(info.day_type, [])):
                moment = dt.datetime.combine(info.date, p_start, tzinfo=tz)
                if (window.pk, moment) in covered:
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


def _bucket(day: dt.date, weekly: bool) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if weekly else day


def _assemble(*, rows, days, windows, histogram, side, gaps, start, end) -> dict:
    totals = defaultdict(int)
    shares = defaultdict(int)
    weekly = (end - start).days + 1 > DAILY_TREND_MAX_DAYS
    trend = defaultdict(lambda: defaultdict(int))
    by_window = defaultdict(lambda: defaultdict(int))
    day = _bucket(start, weekly)
    while day <= end:  # every bucket, also the empty ones
        trend[day]
        day += dt.timedelta(days=7 if weekly else 1)
    for row in rows:
        info = days[row["_day"]]
        for key, value in row.items():
            if key not in ("window_id", "_day"):
                totals[key] += value
                by_window[row["window_id"]][key] += value
        if info.day_type == DayType.HOLIDAY:
            shares["holiday"] += row["live"]
        elif info.day_type == DayType.WEEKEND:
            shares["weekend"] += row["live"]
        else:
            shares["off_hours"] += row["live_outside_regular"]
        bucket = trend[_bucket(row["_day"], weekly)]
        for key in ("total", "status_no_show", "r_rated", "r_good"):
            bucket[key] += row[key]

    def rating_counts(counts):
        return {k: counts[f"r_{k}"] for k in RATING_AGGREGATES}

    ratings = rating_counts(totals)
    concluded = totals["status_served"] + totals["status_no_show"]
    ranking = []
    for window_id, counts in by_window.items():
        window = windows.get(window_id)
        rates = rating_rates(rating_counts(counts))
        ranking.append(
            {
                "window_id": window_id,
                "window": str(window) if window else str(window_id),
                "bookings": counts["total"],
                "served": counts["r_served"],
                "rated": counts["r_rated"],
                "good_rate": rates["good_rate"],
                "on_time": counts["on_time"],
                "on_time_rate": ratio(counts["on_time"], counts["r_served"]),
            }
        )
    ranking_by_rating = sorted(
        ranking, key=lambda r: (r["good_rate"] is None, -(r["good_rate"] or 0), r["window"])
    )
    ranking_by_on_time = sorted(
        ranking, key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0), r["window"])
    )
    missing_years = sorted({d.year for d in days.values() if not d.year_loaded})
    return {
        "period": {"start": start, "end": end, "weekly": weekly},
        "bookings": {
            "total": totals["total"],
            "live": totals["live"],
            "by_channel": {c: totals[f"channel_{c}"] for c in Channel.values},
            "by_status": {s: totals[f"status_{s}"] for s in Status.values},
        },
        "shares": {
            "off_hours": shares["off_hours"],
            "weekend": shares["weekend"],
            "holiday": shares["holiday"],
            "off_hours_rate": ratio(shares["off_hours"], totals["live"]),
            "weekend_rate": ratio(shares["weekend"], totals["live"]),
            "holiday_rate": ratio(shares["holiday"], totals["live"]),
        },
        "confirmation": {
            "count": sum(histogram.values()),
            "median_minutes": _percentile(histogram, 0.5),
            "p90_minutes": _percentile(histogram, 0.9),
        },
        "no_shows": {
            "no_shows": totals["status_no_show"],
            "concluded": concluded,
            "rate": ratio(totals["status_no_show"], concluded),
            "follow_ups": side["follow_ups"],
            "follow_ups_on_time": side["follow_ups_on_time"],
            "follow_ups_open": side["follow_ups_open"],
            "follow_ups_on_time_rate": ratio(side["follow_ups_on_time"], side["follow_ups"]),
        },
        "changes": {
            "notified": side["changes_notified"],
            "late": side["changes_late"],
            "emergency": side["changes_emergency"],
        },
        "duty": {
            "gaps": len(gaps),
            "holiday_gaps": sum(1 for g in gaps if g["holiday"]),
            "gap_list": gaps[:50],
            "missing_holiday_years": missing_years,
            "assignments_due": side["assignments_due"],
            "late_check_ins": side["late_check_ins"],
            "late_rate": ratio(side["late_check_ins"], side["assignments_due"]),
        },
        "complaints": {
            "received": side["complaints_received"],
            "open": side["complaints_open"],
            "overdue_accept": side["complaints_overdue_accept"],
            "overdue_reply": side["complaints_overdue_reply"],
            "overdue": side["complaints_overdue_accept"] + side["complaints_overdue_reply"],
        },
        "ratings": {**ratings, **rating_rates(ratings)},
        "served_on_time": {
            "on_time": totals["on_time"],
            "served": ratings["served"],
            "rate": ratio(totals["on_time"], ratings["served"]),
        },
        "bad_reviews": {
            "due": side["cases_due"],
            "rectified": side["cases_rectified"],
            "rate": ratio(side["cases_rectified"], side["cases_due"]),
        },
        "actions": {"open": side["actions_open"], "overdue": side["actions_overdue"]},
        "trend": [
            {
                "start": bucket,
                "bookings": counts["total"],
                "no_shows": counts["status_no_show"],
                "rated": counts["r_rated"],
                "good": counts["r_good"],
                "good_rate": ratio(counts["r_good"], counts["r_rated"]),
            }
            for bucket, counts in sorted(trend.items())
        ],
        "ranking_by_rating": ranking_by_rating,
        "ranking_by_on_time": ranking_by_on_time,
    }
