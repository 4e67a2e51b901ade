"""The dashboard's per-day summary (DB1403/T 6.2.3, 7.4, 8.2): the booking counts of each
window, local day and matter (``evaluation.models.DashboardDay``, the confirmation-time
histogram in ``DashboardMinutes``) and the no-show follow-ups' counts by their booking's window
and matter and their booked day, so that a year is read as a few thousand rows instead of every
booking. It is never trusted blindly:

- **Stale days.** Every write that can change a day's counts — a booking, a rating or a
  follow-up saved or deleted (the receivers of ``evaluation.summary_marks``), and any bulk write
  (``day_mark_stale`` there, at its call site) — marks that (window, day) stale in the same
  transaction (``DashboardStaleDay``). The dashboard counts stale days from the records; the
  sweep counts them again and clears the marks it counted. Only days before today are marked:
  the summary never holds today or yesterday (``SUMMARY_LAG_DAYS``), which the dashboard always
  counts from the records — a day's margin against a transaction open across midnight or clocks
  apart between web and worker hosts.
- **Fingerprint.** The counts depend on ``SERVED_ON_TIME_MINUTES``,
  ``NO_SHOW_FOLLOW_UP_RECORD_MINUTES``, the hall's regular and holiday periods (off-hours share,
  holiday bookings) and its windows; each hall's state holds a fingerprint of them. When it
  differs from the current one the whole summary of the hall is ignored (counted from the
  records) until the sweep makes it again.
- **Safety net.** A daily sweep rebuilds every hall's summary from the records, and
  ``manage.py dashboard_summary --dry-run`` compares it with the records without writing.

So an answer is never wrong, only sometimes slower. Day types (weekend, holiday) are applied
when the dashboard reads, from the calendar, so the calendar is not part of the summary.
"""

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from operator import add

from django.conf import settings
from django.db import transaction
from django.db.models import DateField, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value

from appointments.models import Appointment, Channel, Matter, NoShowFollowUp, Status
from duty.calendar import local
from duty.models import DayType, Hall, ServicePeriod, Window

from ..figures import RATING_AGGREGATES
from ..models import (
    BAD_LEVELS,
    FOLLOW_UP_COUNTS,
    GOOD_LEVELS,
    MAX_HOLIDAY_PERIODS,
    SUMMARY_COUNTS,
    SUMMARY_HOLIDAYS,
    DashboardDay,
    DashboardMinutes,
    DashboardStaleDay,
    DashboardSummaryState,
)
from ..summary_marks import SUMMARY_LAG_DAYS
from .day_counts import booking_rows, confirmation_histograms, follow_up_rows
from .periods import period_bounds

# Bump when what a summary row counts changes: every hall's summary is then made again.
SUMMARY_VERSION = 3
# More separate stale stretches than this in one request: count the whole period live (a
# query with hundreds of OR'ed ranges is slower than reading the bookings).
MAX_STALE_RANGES = 60
# Stale (window, day) pairs counted again per query by the sweep.
REFRESH_CHUNK = 200


# --- what the counts depend on -------------------------------------------------------------------


def hall_periods(hall_id: int) -> tuple[list, dict]:
    """The hall's regular periods [(start, end)] and off-hours periods {day type: [(start,
    end)]}, ordered by start: one query."""
    regular, no_rest = [], defaultdict(list)
    for period in ServicePeriod.objects.filter(hall_id=hall_id).order_by("start"):
        if period.kind == ServicePeriod.Kind.REGULAR:
            regular.append((period.start, period.end))
        else:
            no_rest[period.day_type].append((period.start, period.end))
    return regular, no_rest


def halls_periods(hall_ids) -> dict[int, tuple[list, dict]]:
    """``hall_periods`` of several halls in one query: {hall id: (regular, no_rest)}."""
    found = {hall_id: ([], defaultdict(list)) for hall_id in hall_ids}
    for period in ServicePeriod.objects.filter(hall_id__in=list(found)).order_by("start"):
        regular, no_rest = found[period.hall_id]
        if period.kind == ServicePeriod.Kind.REGULAR:
            regular.append((period.start, period.end))
        else:
            no_rest[period.day_type].append((period.start, period.end))
    return found


def summary_fingerprint(*, window_ids, regular, holidays) -> str:
    """What a hall's summary was counted with: change any of it and the summary is ignored.
    A hall with more holiday periods than the summary has columns for is never summarised."""
    if len(holidays) > MAX_HOLIDAY_PERIODS:
        return "-"
    basis = {
        "version": SUMMARY_VERSION,
        "time_zone": settings.TIME_ZONE,
        "served_on_time_minutes": settings.SERVED_ON_TIME_MINUTES,
        "follow_up_record_minutes": settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES,
        "windows": sorted(window_ids),
        "regular": [(s.isoformat(), e.isoformat()) for s, e in regular],
        "holidays": [(s.isoformat(), e.isoformat()) for s, e in holidays],
        "statuses": list(Status.values),
        "channels": list(Channel.values),
        "ratings": list(RATING_AGGREGATES),
        "levels": [sorted(GOOD_LEVELS), sorted(BAD_LEVELS)],
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def summary_through(now: dt.datetime) -> dt.date:
    """The last day a summary made at ``now`` holds."""
    return local(now).date() - dt.timedelta(days=SUMMARY_LAG_DAYS)


# --- reading -------------------------------------------------------------------------------------


def summary_state_annotations() -> dict:
    """Annotations of a ``Window`` queryset: its hall's summary state (``summary_through``,
    ``summary_fingerprint``; None without one), read with the windows rather than in a query of
    its own."""
    state = DashboardSummaryState.objects.filter(hall_id=OuterRef("hall_id"))
    return {
        "summary_through": Subquery(state.values("through")[:1]),
        "summary_fingerprint": Subquery(state.values("fingerprint")[:1]),
    }


def summary_read(
    *, window_ids, start, last, department_id, holidays, stale_possible=True, group=None, apart=()
):
    """One query (a UNION ALL of three): the summary's counts of ``window_ids`` from ``start`` to
    ``last`` by (window, day) — as ``day_counts.booking_rows`` gives them — the stale (window,
    day) pairs (left out), and the confirmation histogram of the days not stale, added up by
    the database: (rows, histogram, stale). ``stale_possible`` False (the caller knows there is
    no stale mark in the period): the histogram without the anti-join on the marks, which
    PostgreSQL plans as a loop over every minute row when the marks' table is empty.
    ``group`` ({window id: key}): rows by (key, day) rather than (window, day), except on the
    days in ``apart`` (the city-wide view adds up a hall's windows here, in C, rather than
    row by row in Python)."""
    days = DashboardDay.objects.filter(window_id__in=window_ids, day__gte=start, day__lte=last)
    minutes = DashboardMinutes.objects.filter(
        window_id__in=window_ids, day__gte=start, day__lte=last
    )
    if department_id is not None:
        of_department = Matter.departments.through.objects.filter(
            department_id=department_id
        ).values("matter_id")
        days = days.filter(matter_id__in=of_department)
        minutes = minutes.filter(matter_id__in=of_department)
    holding = (*SUMMARY_COUNTS, *FOLLOW_UP_COUNTS, *SUMMARY_HOLIDAYS)
    # A stale mark is a row with a count of -1 (no summary row has one).
    marks = (
        DashboardStaleDay.objects.filter(window_id__in=window_ids, day__gte=start, day__lte=last)
        .annotate(**{f"_{name}": Value(-1 if i == 0 else 0) for i, name in enumerate(holding)})
        .values_list("window_id", "day", *(f"_{name}" for name in holding))
    )
    # The histogram of the days not stale, by minute (added up by the database): a row with a
    # count of -2, the minutes and their count in the next two columns.
    is_stale = DashboardStaleDay.objects.filter(
        window_id=OuterRef("window_id"), day=OuterRef("day")
    )
    histogram_rows = (
        (minutes.filter(~Exists(is_stale)) if stale_possible else minutes)
        .order_by()
        .values("minutes")
        .annotate(
            _w=Value(None, output_field=IntegerField()),
            _d=Value(None, output_field=DateField()),
            _flag=Value(-2),
            _n=Sum("count"),
            **{f"_{name}": Value(0) for name in holding[3:]},
        )
        .values_list("_w", "_d", "_flag", "minutes", "_n", *(f"_{name}" for name in holding[3:]))
    )
    fetched = list(
        days.values_list("window_id", "day", *holding).union(marks, histogram_rows, all=True)
    )
    stale = {(row[0], row[1]) for row in fetched if row[2] == -1}
    histogram = {row[3]: row[4] for row in fetched if row[2] == -2}
    sums = {}
    for window_id, day, *counts in fetched:
        key = (window_id, day)
        if counts[0] < 0 or key in stale:
            continue
        if group is not None and day not in apart:
            key = (group[window_id], day)
        total = sums.get(key)
        if total is None:
            sums[key] = counts
        else:
            total[:] = map(add, total, counts)  # added up in C: a year is ~3 000 rows
    rows = []
    names = (*SUMMARY_COUNTS, *FOLLOW_UP_COUNTS, *SUMMARY_HOLIDAYS[: len(holidays)])
    for (window_id, day), counts in sums.items():
        row = dict(zip(names, counts, strict=False))
        row["window_id"], row["_day"] = window_id, day
        rows.append(row)
    return rows, histogram, stale


def _stale_ranges(stale, *, start, last):
    """The stale pairs as (window, first day, last day) stretches of consecutive days."""
    by_window = defaultdict(list)
    for window_id, day in stale:
        if start <= day <= last:
            by_window[window_id].append(day)
    ranges = []
    for window_id, days in sorted(by_window.items()):
        days.sort()
        first = prev = days[0]
        for day in [*days[1:], None]:
            if day is not None and day == prev + dt.timedelta(days=1):
                prev = day
                continue
            ranges.append((window_id, first, prev))
            if day is not None:
                first = prev = day
    return ranges


def live_ranges(*, stale, last, start, end, window="window_id", moment="start"):
    """The bookings of the period the summary does not answer for, as a Q over ``Appointment``
    (None: there are none): all of them without a summary (``last`` None), else the stale
    (window, day) stretches and the days after ``last``. Also whether to use the summary's
    rows: not if so many days are stale that it is quicker to count them all."""
    if last is None:
        return Q(), False
    ranges = _stale_ranges(stale, start=start, last=last)
    if len(ranges) > MAX_STALE_RANGES:
        return Q(), False
    live = None
    for window_id, first, final in ranges:
        low, high = period_bounds(first, final)
        part = Q(**{window: window_id, f"{moment}__gte": low, f"{moment}__lt": high})
        live = part if live is None else live | part
    if last < end:
        low, _high = period_bounds(last + dt.timedelta(days=1), end)
        part = Q(**{f"{moment}__gte": low})
        live = part if live is None else live | part
    return live, True


def live_days(*, stale, last, end, used) -> int:
    """About how many days ``live_ranges`` counts from the bookings (a window's day as one)."""
    if last is None or not used:
        return 10**6
    return len(stale) + (end - last).days


# --- making it -----------------------------------------------------------------------------------


def _count(*, bookings, follow_ups, regular, holidays, low, high) -> tuple[list, list]:
    """The summary rows of ``bookings`` and ``follow_ups`` (booked in [low, high)), days and
    minutes: three queries."""
    days = {}
    for row in booking_rows(
        bookings, regular=regular, holidays=holidays, low=low, high=high, by_matter=True
    ):
        days[(row["window_id"], row["_day"], row["matter_id"])] = DashboardDay(
            window_id=row["window_id"],
            day=row["_day"],
            matter_id=row["matter_id"],
            **{name: row[name] for name in SUMMARY_COUNTS},
            **{f"holiday_{i}": row[f"holiday_{i}"] for i in range(len(holidays))},
        )
    for row in follow_up_rows(follow_ups, low=low, high=high):
        key = (row["appointment__window_id"], row["_day"], row["appointment__matter_id"])
        if key not in days:  # a day with follow-ups of bookings moved away
            days[key] = DashboardDay(window_id=key[0], day=key[1], matter_id=key[2])
        for name in FOLLOW_UP_COUNTS:
            setattr(days[key], name, row[name])
    minutes = [
        DashboardMinutes(
            window_id=row["window_id"],
            day=row["_day"],
            matter_id=row["matter_id"],
            minutes=row["_m"],
            count=row["n"],
        )
        for row in confirmation_histograms(bookings, low=low, high=high)
    ]
    return list(days.values()), minutes


def _store(rows: tuple[list, list]) -> None:
    days, minutes = rows
    DashboardDay.objects.bulk_create(days, batch_size=2000)
    DashboardMinutes.objects.bulk_create(minutes, batch_size=5000)


def _delete(which: Q) -> None:
    DashboardDay.objects.filter(which).delete()
    DashboardMinutes.objects.filter(which).delete()


@dataclass
class _Hall:
    hall_id: int
    window_ids: list
    regular: list
    holidays: list
    fingerprint: str


def _hall(hall_id: int) -> _Hall:
    window_ids = list(Window.objects.filter(hall_id=hall_id).values_list("pk", flat=True))
    regular, no_rest = hall_periods(hall_id)
    holidays = no_rest[DayType.HOLIDAY]
    return _Hall(
        hall_id,
        window_ids,
        regular,
        holidays,
        summary_fingerprint(window_ids=window_ids, regular=regular, holidays=holidays),
    )


def _rebuild(hall: _Hall, *, through: dt.date) -> int:
    """Every day of the hall up to ``through``, counted again from the bookings."""
    _delete(Q(window_id__in=hall.window_ids))
    if not hall.window_ids:
        return 0
    first = _first_day(hall)
    if first is None or first > through:
        return 0
    low, high = period_bounds(first, through)
    _store(_count(**_records(hall, low=low, high=high)))
    return ((through - first).days + 1) * len(hall.window_ids)


def _first_day(hall: _Hall) -> dt.date | None:
    """The first local day with a booking or a follow-up of the hall's windows."""
    moments = [
        Appointment.objects.filter(window_id__in=hall.window_ids)
        .order_by("start")
        .values_list("start", flat=True)
        .first(),
        NoShowFollowUp.objects.filter(appointment__window_id__in=hall.window_ids)
        .order_by("slot_start")
        .values_list("slot_start", flat=True)
        .first(),
    ]
    moments = [m for m in moments if m is not None]
    return local(min(moments)).date() if moments else None


def _records(hall: _Hall, *, low, high) -> dict:
    """``_count``'s arguments for every window of the hall over [low, high)."""
    return {
        "bookings": Appointment.objects.filter(
            window_id__in=hall.window_ids, start__gte=low, start__lt=high
        ),
        "follow_ups": NoShowFollowUp.objects.filter(
            appointment__window_id__in=hall.window_ids, slot_start__gte=low, slot_start__lt=high
        ),
        "regular": hall.regular,
        "holidays": hall.holidays,
        "low": low,
        "high": high,
    }


def _update(hall: _Hall, *, pairs, since: dt.date, through: dt.date) -> int:
    """The stale ``pairs`` up to ``since`` and every day after ``since`` up to ``through``,
    counted again from the bookings."""
    made = 0
    pairs = sorted((w, d) for w, d in pairs if d <= since and w in hall.window_ids)
    for i in range(0, len(pairs), REFRESH_CHUNK):
        chunk = pairs[i : i + REFRESH_CHUNK]
        which, where, where_follow_ups = Q(), Q(), Q()
        for window_id, day in chunk:
            low, high = period_bounds(day, day)
            which |= Q(window_id=window_id, day=day)
            where |= Q(window_id=window_id, start__gte=low, start__lt=high)
            where_follow_ups |= Q(
                appointment__window_id=window_id, slot_start__gte=low, slot_start__lt=high
            )
        _delete(which)
        low, high = period_bounds(min(d for _w, d in chunk), max(d for _w, d in chunk))
        rows = _count(
            bookings=Appointment.objects.filter(where),
            follow_ups=NoShowFollowUp.objects.filter(where_follow_ups),
            regular=hall.regular,
            holidays=hall.holidays,
            low=low,
            high=high,
        )
        _store(rows)
        made += len(chunk)
    if through > since and hall.window_ids:
        first = since + dt.timedelta(days=1)
        _delete(Q(window_id__in=hall.window_ids, day__gte=first))
        low, high = period_bounds(first, through)
        _store(_count(**_records(hall, low=low, high=high)))
        made += (through - since).days * len(hall.window_ids)
    return made


def summary_refresh(*, now: dt.datetime, full: bool = False, hall_ids=None) -> int:
    """Bring every hall's summary (or those of ``hall_ids``) up to the day before yesterday:
    the stale days counted again, the new days added, and the whole hall rebuilt if its
    fingerprint changed (or ``full``). Returns the (window, day) pairs made (about)."""
    through = summary_through(now)
    halls = Hall.objects.order_by("pk").values_list("pk", flat=True)
    if hall_ids is not None:
        halls = halls.filter(pk__in=hall_ids)
    made = 0
    for hall_id in halls:
        made += _refresh_hall(_hall(hall_id), now=now, through=through, full=full)
    return made


def _refresh_hall(hall: _Hall, *, now, through, full) -> int:
    with transaction.atomic():
        state, _created = DashboardSummaryState.objects.get_or_create(
            hall_id=hall.hall_id,
            defaults={"fingerprint": "", "through": through, "refreshed_at": now},
        )
        # Two workers refreshing one hall would delete and insert the same rows twice.
        state = DashboardSummaryState.objects.select_for_update().get(pk=state.pk)
        # The marks this refresh answers for, read before the bookings are: a mark written
        # later (its change maybe not counted) is not among them and survives.
        marks = list(
            DashboardStaleDay.objects.filter(window_id__in=hall.window_ids).values_list(
                "pk", "window_id", "day"
            )
        )
        if full or state.fingerprint != hall.fingerprint:
            made = _rebuild(hall, through=through)
        else:
            made = _update(
                hall, pairs={(w, d) for _pk, w, d in marks}, since=state.through, through=through
            )
        ids = [pk for pk, _w, _d in marks]
        for i in range(0, len(ids), 1000):
            DashboardStaleDay.objects.filter(pk__in=ids[i : i + 1000]).delete()
        state.fingerprint, state.through, state.refreshed_at = hall.fingerprint, through, now
        state.save()
    return made


def summary_check(*, now: dt.datetime, hall_ids=None) -> list[tuple]:
    """The (window, day, column, summary, records) that differ between the summary and the
    records, for the days the summary answers for (stale days left out): nothing written."""
    halls = Hall.objects.order_by("pk").values_list("pk", flat=True)
    if hall_ids is not None:
        halls = halls.filter(pk__in=hall_ids)
    differences = []
    for hall_id in halls:
        hall = _hall(hall_id)
        state = DashboardSummaryState.objects.filter(hall_id=hall_id).first()
        if state is None or state.fingerprint != hall.fingerprint or not hall.window_ids:
            continue
        stale = set(
            DashboardStaleDay.objects.filter(window_id__in=hall.window_ids).values_list(
                "window_id", "day"
            )
        )
        first = _first_day(hall)
        low, high = period_bounds(min(first or state.through, state.through), state.through)
        recounted = _count(**_records(hall, low=low, high=high))
        differences += _differences(
            stored=(
                DashboardDay.objects.filter(window_id__in=hall.window_ids),
                DashboardMinutes.objects.filter(window_id__in=hall.window_ids),
            ),
            recounted=recounted,
            stale=stale,
        )
    return differences


def _differences(*, stored, recounted, stale):
    """(window, day, matter, column, summary, records) where the two differ."""

    def table(days, minutes):
        found = defaultdict(dict)
        for row in days:
            key = (row.window_id, row.day, row.matter_id)
            for name in (*SUMMARY_COUNTS, *FOLLOW_UP_COUNTS, *SUMMARY_HOLIDAYS):
                if getattr(row, name):
                    found[key][name] = getattr(row, name)
        for row in minutes:
            found[(row.window_id, row.day, row.matter_id)][f"minutes={row.minutes}"] = row.count
        return found

    have, want = table(*stored), table(*recounted)
    differences = []
    for key in sorted(have.keys() | want.keys()):
        if (key[0], key[1]) in stale:
            continue
        a, b = have.get(key, {}), want.get(key, {})
        for name in sorted(a.keys() | b.keys()):
            if a.get(name, 0) != b.get(name, 0):
                differences.append((*key, name, a.get(name, 0), b.get(name, 0)))
    return differences
