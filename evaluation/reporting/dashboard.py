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

The bookings' figures are read from the per-day summary where it holds them and is up to date
(``summary``: how it stays exact) and counted from the bookings elsewhere (``day_counts``,
which defines the counts for both), and everything assembled here; the figures from the other
records (follow-ups, changes, check-ins, roster gaps, complaints, bad reviews, improvement
actions) in ``dashboard_records``; periods and their local dates in SQL in ``periods``.
"""

import datetime as dt
import math
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, Channel, Status
from duty.calendar import days_info, local
from duty.models import DayType, Window

from ..figures import RATING_AGGREGATES, rating_rates, ratio
from .dashboard_records import roster_gaps, side_counts
from .day_counts import FEW_LIVE_DAYS, booking_counts
from .periods import period_bounds, period_clean
from .summary import (
    hall_periods,
    live_days,
    live_ranges,
    summary_fingerprint,
    summary_read,
    summary_state_annotations,
)

# Periods longer than this are charted per week (Monday to Sunday) rather than per day.
DAILY_TREND_MAX_DAYS = 62


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
    docstring for what each figure counts. Eight queries whatever the data size: the
    bookings' counts come from the per-day summary (``summary``) for the days it holds and are
    counted from the bookings for the others (today, yesterday, days changed since)."""
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    period_clean(start, end)
    low, high = period_bounds(start, end)
    today = local(now).date()

    # 1. The hall's windows (names for the ranking, no-rest windows for the roster check).
    in_department = Window.departments.through.objects.filter(
        window_id=OuterRef("pk"), department_id=department_id or 0
    )
    # With them, how far the hall's per-day summary goes and what it was counted with.
    windows = {
        w.pk: w
        for w in Window.objects.filter(hall_id=hall_id)
        .annotate(in_department=Exists(in_department), **summary_state_annotations())
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
    regular, no_rest = hall_periods(hall_id)
    holidays = no_rest[DayType.HOLIDAY]
    days = days_info(start, end)

    # 5. The summary's rows and stale days, if it was counted with today's settings and
    # periods (see ``summary``): every day it holds is read from it except those marked stale.
    state = next(iter(windows.values()), None)
    fingerprint = summary_fingerprint(window_ids=list(windows), regular=regular, holidays=holidays)
    rows, histogram, stale, last = [], {}, set(), None
    if state is not None and state.summary_fingerprint == fingerprint:
        last = min(end, state.summary_through)
    if last is not None and last >= start:
        rows, histogram, stale = summary_read(
            window_ids=[window_id] if window_id is not None else list(windows),
            start=start,
            last=last,
            department_id=department_id,
            holidays=holidays,
        )
    else:
        last = None
    # 6. (-7.) The other days, counted from the bookings: grouped by window and local date
    # (the booking's columns are all in the index appointment_window_start_idx: no row
    # look-ups), and the time from online booking to confirmation as a histogram of minutes.
    live, used = live_ranges(stale=stale, last=last, start=start, end=end)
    # The follow-ups of the same days (by their booking's window and their booked day) too.
    live_follow_ups, _used = live_ranges(
        stale=stale,
        last=last,
        start=start,
        end=end,
        window="appointment__window_id",
        moment="slot_start",
    )
    if not used:
        rows, histogram = [], {}
    if live is not None:
        more, more_histogram = booking_counts(
            bookings.filter(live),
            regular=regular,
            holidays=holidays,
            low=low,
            high=high,
            few=live_days(stale=stale, last=last, end=end, used=used) <= FEW_LIVE_DAYS,
        )
        rows += more
        for minutes, n in more_histogram.items():
            histogram[minutes] = histogram.get(minutes, 0) + n

    # 8. One query of counts from the other tables.
    side = side_counts(
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
        live_follow_ups=live_follow_ups,
    )

    # 9. Roster gaps: the off-hours periods somebody (not on leave) is on duty.
    roster_windows = [
        w
        for w in windows.values()
        if w.is_no_rest and w.is_active and (window_id is None or w.pk == window_id)
    ]
    if department_id is not None:
        roster_windows = [w for w in roster_windows if w.in_department]
    gaps = roster_gaps(
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
    # From the summary for the days it holds, counted from the records for the others.
    follow_ups = side["follow_ups"] + totals["fu_total"]
    follow_ups_on_time = side["follow_ups_on_time"] + totals["fu_on_time"]
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
            "follow_ups": follow_ups,
            "follow_ups_on_time": follow_ups_on_time,
            "follow_ups_open": side["follow_ups_open"] + totals["fu_open"],
            "follow_ups_on_time_rate": ratio(follow_ups_on_time, follow_ups),
        },
        "changes": {
            "notified": side["changes_notified"],
            "late": side["changes_late"],
            "emergency": side["changes_emergency"],
        },
        "duty": {
            "gaps": len(gaps),
            "holiday_gaps": sum(1 for g in gaps if g["holiday"]),
            "gap_list": gaps,  # listed by the dashboard's "gaps" page
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
