"""The city-wide dashboard (DB1403/T 7.1–7.4, 8.1–8.3): the figures of several halls together,
for a city supervisor who sees them all, counted as ``dashboard.dashboard_figures`` counts one
hall's (its module docstring says what each figure counts) and in a number of queries that
does not grow with the halls: the windows, summary rows, follow-ups and side counts are read
by the halls' ids at once; only the days the summary does not answer for are counted from the
bookings, in one query per group of halls sharing the same service periods (the off-hours
share and the holiday periods depend on them); the roster gaps are worked out per hall from
one query of the duties.
"""

import datetime as dt
from collections import defaultdict
from functools import reduce
from operator import or_

from django.db.models import Case, Exists, F, OuterRef, Q, Sum, When
from django.utils import timezone

from appointments.models import Appointment
from duty.calendar import days_info, local
from duty.models import DayType, Hall, Window

from ..models import (
    FOLLOW_UP_COUNTS,
    SUMMARY_COUNTS,
    SUMMARY_HOLIDAYS,
    DashboardDay,
    DashboardMinutes,
    DashboardStaleDay,
)
from .dashboard import _assemble
from .dashboard_records import duties_covered, roster_gaps_of, side_counts
from .day_counts import FEW_LIVE_DAYS, booking_counts
from .periods import period_bounds, period_clean
from .summary import (
    halls_periods,
    live_days,
    live_ranges,
    summary_fingerprint,
    summary_read,
    summary_state_annotations,
)


def city_dashboard_figures(
    *, hall_ids: list[int], start: dt.date, end: dt.date, now: dt.datetime
) -> dict:
    """DB1403/T 7.1–7.4, 8.1–8.3: the supervision figures of the halls ``hall_ids`` together
    over a period (dates, both included, Asia/Shanghai), as ``dashboard_figures`` gives them for
    one hall; the rankings are of the halls rather than of windows. Additive figures are the
    sums of the halls' figures. About ten queries however many halls (one more per further
    group of halls with their own service periods)."""
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    period_clean(start, end)
    low, high = period_bounds(start, end)
    today = local(now).date()
    hall_ids = sorted(set(hall_ids))

    # 1. Every hall's windows, with their hall's summary state; 2. their service periods;
    # 3.-4. day types over the period.
    windows = {
        w.pk: w
        for w in Window.objects.filter(hall_id__in=hall_ids)
        .select_related("hall")
        .annotate(
            **summary_state_annotations(),
            # Whether the summary has a stale day of the window in the period.
            stale_marks=Exists(
                DashboardStaleDay.objects.filter(
                    window_id=OuterRef("pk"), day__gte=start, day__lte=end
                )
            ),
        )
        .order_by("hall_id", "number")
    }
    of_hall = defaultdict(list)
    for window in windows.values():
        of_hall[window.hall_id].append(window.pk)
    periods = halls_periods(hall_ids)
    days = days_info(start, end)

    # Which halls' summaries were counted with today's settings and periods, and how far.
    lasts = {}
    for hall_id, window_ids in of_hall.items():
        regular, no_rest = periods[hall_id]
        state = windows[window_ids[0]]
        fingerprint = summary_fingerprint(
            window_ids=window_ids, regular=regular, holidays=no_rest[DayType.HOLIDAY]
        )
        if state.summary_fingerprint == fingerprint:
            last = min(end, state.summary_through)
            if last >= start:
                lasts[hall_id] = last

    # 5. The summary's rows of those halls in one query; a hall with so many stale days that
    # counting it from the bookings is quicker is left out, and the others read again (rare).
    rows, histogram, live = _summary(
        lasts=lasts,
        of_hall=of_hall,
        windows=windows,
        periods=periods,
        start=start,
        end=end,
        holiday_days={d for d, info in days.items() if info.day_type == DayType.HOLIDAY},
    )

    # 6. The other days, counted from the bookings: one query per group of halls with the same
    # service periods.
    groups = defaultdict(list)
    for hall_id in of_hall:
        regular, no_rest = periods[hall_id]
        groups[(tuple(regular), tuple(no_rest[DayType.HOLIDAY]))].append(hall_id)
    for (regular, holidays), group in groups.items():
        parts = [live[h]["bookings"] for h in group if live[h]["bookings"] is not None]
        if not parts:
            continue
        more, more_histogram = booking_counts(
            Appointment.objects.filter(start__gte=low, start__lt=high)
            .filter(reduce(or_, parts))
            .order_by(),
            regular=list(regular),
            holidays=list(holidays),
            low=low,
            high=high,
            few=sum(live[h]["days"] for h in group) <= FEW_LIVE_DAYS * len(group),
        )
        rows += more
        for minutes, n in more_histogram.items():
            histogram[minutes] = histogram.get(minutes, 0) + n

    # 7. One query of counts from the other tables (the follow-ups the summary lacks).
    follow_ups = [live[h]["follow_ups"] for h in of_hall if live[h]["follow_ups"] is not None]
    side = side_counts(
        hall_id=None,
        hall_ids=hall_ids,
        every_hall=not Hall.objects.exclude(pk__in=hall_ids).exists(),
        window_ids=list(windows),
        start=start,
        end=end,
        low=low,
        high=high,
        department_id=None,
        window_id=None,
        now=now,
        today=today,
        live_follow_ups=reduce(or_, follow_ups) if follow_ups else None,
    )

    # 8. Roster gaps, hall by hall (their off-hours periods differ), from one query of duties.
    roster_windows = [w for w in windows.values() if w.is_no_rest and w.is_active]
    covered = duties_covered(window_ids=[w.pk for w in roster_windows], low=low, high=high)
    # Only the rows of holidays tell which holiday periods were booked: a few, found once.
    holiday_rows = defaultdict(list)
    for row in rows:
        if days[row["_day"]].day_type == DayType.HOLIDAY:
            holiday_rows[windows[row["window_id"]].hall_id].append(row)
    # (The summary's rows of other days are by hall already: ("hall", id), see ``_summary``.)
    gaps = []
    for hall_id in of_hall:
        hall_windows = [w for w in roster_windows if w.hall_id == hall_id]
        if hall_windows:
            gaps += roster_gaps_of(
                windows=hall_windows,
                days=days,
                no_rest=periods[hall_id][1],
                rows=holiday_rows[hall_id],
                covered=covered,
            )
    gaps.sort(key=lambda g: (g["start"], g["window"].hall_id, g["window"].number))

    # The rankings are of halls: each row is put under its window's hall.
    halls = {w.hall_id: w.hall for w in windows.values()}
    for row in rows:
        owner = row["window_id"]
        row["window_id"] = owner[1] if isinstance(owner, tuple) else windows[owner].hall_id
    return _assemble(
        rows=rows,
        days=days,
        windows=halls,
        histogram=histogram,
        side=side,
        gaps=gaps,
        start=start,
        end=end,
    )


def _summary(*, lasts, of_hall, windows, periods, start, end, holiday_days):
    """(summary rows, histogram, and per hall the Q of the bookings and of the
    follow-ups to count from the records, with about how many days that is)."""
    while True:
        rows, histogram, stale = [], {}, set()
        stale_possible = any(windows[w].stale_marks for h in lasts for w in of_hall[h])
        if lasts and not stale_possible:
            rows, histogram = _summary_by_hall(
                window_ids=[w for h in lasts for w in of_hall[h]],
                start=start,
                last=max(lasts.values()),
                holiday_days=holiday_days,
                holidays=max(len(periods[h][1][DayType.HOLIDAY]) for h in lasts),
            )
        elif lasts:
            holidays = max((periods[h][1][DayType.HOLIDAY] for h in lasts), key=len)
            rows, histogram, stale = summary_read(
                window_ids=[w for h in lasts for w in of_hall[h]],
                start=start,
                last=max(lasts.values()),
                department_id=None,
                holidays=holidays,
                stale_possible=True,
                # Rows by hall and day (what the city's figures need), by window on holidays
                # (the roster gaps need the holiday periods each window booked).
                group={w: ("hall", h) for h in lasts for w in of_hall[h]},
                apart=holiday_days,
            )
        live, unused = {}, []
        for hall_id, window_ids in of_hall.items():
            last = lasts.get(hall_id)
            own = set(window_ids)
            mine = {(w, d) for w, d in stale if w in own}
            bookings, used = live_ranges(stale=mine, last=last, start=start, end=end)
            follow_ups, _used = live_ranges(
                stale=mine,
                last=last,
                start=start,
                end=end,
                window="appointment__window_id",
                moment="slot_start",
            )
            if last is not None and not used:
                unused.append(hall_id)
            live[hall_id] = {
                "bookings": None if bookings is None else Q(window_id__in=window_ids) & bookings,
                "follow_ups": None
                if follow_ups is None
                else Q(appointment__window_id__in=window_ids) & follow_ups,
                "days": live_days(stale=mine, last=last, end=end, used=used),
            }
        if not unused:
            return rows, histogram, live
        for hall_id in unused:
            del lasts[hall_id]


def _summary_by_hall(*, window_ids, start, last, holiday_days, holidays):
    """Without a stale day among them, the summary's rows of ``window_ids`` added up by the
    database by hall and day — by window on holidays, for the roster gaps — and their
    histogram: two queries, ~7 000 rows for a city's year instead of ~70 000."""
    names = (*SUMMARY_COUNTS, *FOLLOW_UP_COUNTS, *SUMMARY_HOLIDAYS[:holidays])
    in_range = {"window_id__in": window_ids, "day__gte": start, "day__lte": last}
    rows = []
    for row in (
        DashboardDay.objects.filter(**in_range)
        .order_by()
        .annotate(
            _hall=F("window__hall_id"),
            _w=Case(When(day__in=holiday_days, then=F("window_id")), default=None),
        )
        .values("_hall", "_w", "day")
        .annotate(**{name: Sum(name) for name in names})
    ):
        hall_id, window_id = row.pop("_hall"), row.pop("_w")
        row["window_id"] = window_id if window_id is not None else ("hall", hall_id)
        row["_day"] = row.pop("day")
        rows.append(row)
    histogram = dict(
        DashboardMinutes.objects.filter(**in_range)
        .order_by()
        .values("minutes")
        .annotate(n=Sum("count"))
        .values_list("minutes", "n")
    )
    return rows, histogram
