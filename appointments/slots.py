"""Which times a window can be booked for, and how many places are left.

One place computes it — the booking services, the desk and the citizen site all call it.
"""

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from duty.calendar import DayInfo, TimeKind, days_info, local
from duty.models import DayType, DutyAssignment, ServicePeriod, Window

from .models import LIVE_STATUSES, Appointment, Slot


@dataclass(frozen=True)
class SlotTime:
    window_id: int
    start: dt.datetime
    end: dt.datetime
    day_type: DayType
    period_kind: str
    holiday_name: str = ""
    year_loaded: bool = True
    provisional: bool = False
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None
    staffed: bool = True

    @property
    def is_off_hours(self) -> bool:
        """DB1403/T 3.2: no-rest service, i.e. outside regular working hours."""
        return self.period_kind == ServicePeriod.Kind.NO_REST

    @property
    def time_kind(self) -> TimeKind:
        """DB1403/T 4: working hours, off-hours on a working day, weekend or holiday."""
        if self.day_type == DayType.HOLIDAY:
            return TimeKind.HOLIDAY
        if self.day_type == DayType.WEEKEND:
            return TimeKind.WEEKEND
        return TimeKind.OFF_HOURS if self.is_off_hours else TimeKind.WORKING

    @property
    def needs_duty(self) -> bool:
        """DB1403/T 4, 5.2: an off-hours slot is served only by someone on duty; a statutory
        holiday is served by appointment, so its booking opens the duty instead."""
        return self.is_off_hours and self.day_type != DayType.HOLIDAY

    @property
    def bookable(self) -> bool:
        return self.staffed or not self.needs_duty


@dataclass(frozen=True)
class AvailableSlot:
    slot: SlotTime
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


def _periods_by_window(windows: list[Window]) -> dict[int, dict[str, list[ServicePeriod]]]:
    """Each window's service periods by day type, from one query for all their halls."""
    by_hall: dict[int, list[ServicePeriod]] = {}
    for period in ServicePeriod.objects.filter(hall_id__in={w.hall_id for w in windows}).order_by(
        "start"
    ):
        by_hall.setdefault(period.hall_id, []).append(period)
    result = {}
    for window in windows:
        periods: dict[str, list[ServicePeriod]] = {}
        for period in by_hall.get(window.hall_id, []):
            # DB1403/T 5.2: only no-rest windows serve outside regular working hours.
            if period.kind == ServicePeriod.Kind.REGULAR or window.is_no_rest:
                periods.setdefault(period.day_type, []).append(period)
        result[window.pk] = periods
    return result


def _staffed_times(
    windows: list[Window], start_date: dt.date, end_date: dt.date
) -> dict[tuple[int, dt.date], list[tuple[dt.datetime, dt.datetime]]]:
    """DB1403/T 5.2: the times someone (not on leave) is on duty at each no-rest window, by
    window and local date, from one query for all the windows and the whole range."""
    ids = [w.pk for w in windows if w.is_no_rest]
    if not ids:
        return {}
    tz = timezone.get_default_timezone()
    low = dt.datetime.combine(start_date, dt.time.min, tzinfo=tz)
    high = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    result: dict[tuple[int, dt.date], list[tuple[dt.datetime, dt.datetime]]] = {}
    for window_id, start, end in (
        DutyAssignment.objects.filter(
            duty__window_id__in=ids,
            duty__start__lt=high,
            duty__end__gt=low,
            on_leave__isnull=True,
        )
        .values_list("duty__window_id", "duty__start", "duty__end")
        .distinct()
    ):
        result.setdefault((window_id, local(start).date()), []).append((start, end))
    return result


def _day_slots(
    window: Window,
    info: DayInfo,
    periods: list[ServicePeriod],
    staffed: list[tuple[dt.datetime, dt.datetime]],
) -> list[SlotTime]:
    tz = timezone.get_default_timezone()
    length = dt.timedelta(minutes=window.slot_minutes)
    slots = []
    for period in periods:
        first = start = dt.datetime.combine(info.date, period.start, tzinfo=tz)
        period_end = dt.datetime.combine(info.date, period.end, tzinfo=tz)
        while start + length <= period_end:
            slots.append(
                SlotTime(
                    window_id=window.pk,
                    start=start,
                    end=start + length,
                    day_type=info.day_type,
                    period_kind=period.kind,
                    holiday_name=info.holiday_name,
                    year_loaded=info.year_loaded,
                    provisional=info.provisional,
                    period_start=first,
                    period_end=period_end,
                    staffed=any(a <= start and start + length <= b for a, b in staffed),
                )
            )
            start += length
    return slots


def windows_slots(
    *, windows: list[Window], start_date: dt.date, end_date: dt.date
) -> list[SlotTime]:
    """Every slot the windows serve from ``start_date`` to ``end_date`` (DB1403/T 4, 5.2),
    ordered by time, then window, each saying whether someone is on duty for it; four queries
    whatever the number of windows and days."""
    return _slots_on(windows, days_info(start_date, end_date))


def _slots_on(windows: list[Window], days: dict[dt.date, DayInfo]) -> list[SlotTime]:
    if not days:
        return []
    periods = _periods_by_window(windows)
    staffed = _staffed_times(windows, min(days), max(days))
    slots = []
    for window in windows:
        for info in days.values():
            on_duty = staffed.get((window.pk, info.date), [])
            slots.extend(
                _day_slots(window, info, periods[window.pk].get(info.day_type, []), on_duty)
            )
    slots.sort(key=lambda s: (s.start, s.window_id))
    return slots


def window_slots(*, window: Window, start_date: dt.date, end_date: dt.date) -> list[SlotTime]:
    """Every slot the window serves from ``start_date`` to ``end_date`` (DB1403/T 4, 5.2)."""
    return windows_slots(windows=[window], start_date=start_date, end_date=end_date)


def slot_at(*, window: Window, start: dt.datetime) -> SlotTime | None:
    """The window's slot beginning exactly at ``start``, or None if it serves no such slot.

    The slot says whether it can be booked (DB1403/T 5.2: ``bookable``): an off-hours slot with
    nobody on duty is served by the calendar but not bookable."""
    day = local(start).date()
    for slot in window_slots(window=window, start_date=day, end_date=day):
        if slot.start == start:
            return slot
    return None


def windows_availability(
    *, windows: list[Window], start_date: dt.date, end_date: dt.date, not_before: dt.datetime
) -> list[AvailableSlot]:
    """Slots of ``windows`` starting at or after ``not_before``, with their places left.

    The one function that says what can be booked: the booking services, the desk and the
    citizen site and API all call it. DB1403/T 4, 5.2: an off-hours slot is offered only when
    someone is on duty for it, holidays excepted (served by appointment); working hours up to
    capacity. Its queries do not grow with the windows, the days or the bookings: periods,
    calendar, duties, slot capacities and grouped booking counts.
    """
    windows = list(windows)
    if not windows:
        return []
    slots = windows_slots(windows=windows, start_date=start_date, end_date=end_date)
    return _with_places(windows, [s for s in slots if s.start >= not_before and s.bookable])


def slot_capacities(
    *, window_ids: list[int], first: dt.datetime, last: dt.datetime
) -> dict[tuple[int, dt.datetime], int]:
    """The capacities set for single slots (``Slot``) of the windows starting from ``first`` to
    ``last``, by (window, start); one query. Slots not listed hold the window's capacity."""
    return {
        (window_id, start): capacity
        for window_id, start, capacity in Slot.objects.filter(
            window_id__in=window_ids, start__gte=first, start__lte=last, capacity__isnull=False
        ).values_list("window_id", "start", "capacity")
    }


def slot_bookings(
    *, window_ids: list[int], first: dt.datetime, last: dt.datetime
) -> Counter[tuple[int, dt.datetime]]:
    """The live bookings of the windows' slots starting from ``first`` to ``last``, by (window,
    start); one grouped query on the (window, start, status) index."""
    return Counter(
        {
            (row["window_id"], row["start"]): row["n"]
            for row in Appointment.objects.filter(
                window_id__in=window_ids,
                start__gte=first,
                start__lte=last,
                status__in=LIVE_STATUSES,
            )
            .values("window_id", "start")
            .annotate(n=Count("pk"))
        }
    )


def _with_places(windows: list[Window], slots: list[SlotTime]) -> list[AvailableSlot]:
    """The bookable ``slots`` with their capacity and live bookings, in two queries."""
    if not slots:
        return []
    first, last = slots[0].start, slots[-1].start
    window_ids = [w.pk for w in windows]
    capacities = slot_capacities(window_ids=window_ids, first=first, last=last)
    booked = slot_bookings(window_ids=window_ids, first=first, last=last)
    per_slot = {w.pk: w.capacity_per_slot for w in windows}
    return [
        AvailableSlot(
            slot=s,
            capacity=capacities.get((s.window_id, s.start), per_slot[s.window_id]),
            booked=booked[(s.window_id, s.start)],
        )
        for s in slots
    ]


@dataclass
class DayOffer:
    """One day as a citizen chooses it: its kind, its bookable slots, and whether off-hours
    slots the calendar serves are still waiting for someone on the roster (DB1403/T 5.2)."""

    info: DayInfo
    available: list[AvailableSlot]
    off_hours_waiting: bool = False


def windows_days(
    *, windows: list[Window], start_date: dt.date, end_date: dt.date, not_before: dt.datetime
) -> dict[dt.date, DayOffer]:
    """Each day from ``start_date`` to ``end_date`` with the windows' bookable slots from
    ``not_before`` (as ``windows_availability``), its kind (a provisional holiday says so,
    DB1403/T 4) and whether it has off-hours slots nobody is on duty for yet (5.2), in the
    same queries as ``windows_availability``."""
    windows = list(windows)
    days = days_info(start_date, end_date)
    result = {day: DayOffer(info=info, available=[]) for day, info in days.items()}
    slots = [s for s in _slots_on(windows, days) if s.start >= not_before] if windows else []
    for slot in slots:
        if not slot.bookable:
            result[local(slot.start).date()].off_hours_waiting = True
    for available in _with_places(windows, [s for s in slots if s.bookable]):
        result[local(available.slot.start).date()].available.append(available)
    return result


def window_availability(
    *, window: Window, start_date: dt.date, end_date: dt.date, not_before: dt.datetime
) -> list[AvailableSlot]:
    """Slots of one window starting at or after ``not_before``, with their places left."""
    return windows_availability(
        windows=[window], start_date=start_date, end_date=end_date, not_before=not_before
    )


# --- caching what the citizen API shows ---------------------------------------------------------
# Availability is read far more often than it changes. The API assembles its answers from pieces
# of one matter and one day (appointments/availability_cache.py), each valid under this version —
# bumped once committed by any change to what slots are made of: windows, service periods, the
# calendar, duties, matters (appointments/receivers.py) — and under a token of its own that a
# booking or a slot's capacity on that day replaces. A booking is still judged on the locked,
# recounted slot, so a cached answer can at worst show a place that has just gone.

AVAILABILITY_VERSION_KEY = "availability:version"


def availability_version() -> int:
    version = cache.get(AVAILABILITY_VERSION_KEY)
    if version is None:
        # Lost (evicted, cache flushed): start from the clock, never from a number an older
        # cached answer may carry.
        cache.add(AVAILABILITY_VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(AVAILABILITY_VERSION_KEY, 0)
    return version


def availability_changed() -> None:
    """Make every cached availability answer stale (call once the change is committed); a
    change to bookings or a slot's capacity makes only its days stale
    (``availability_cache.availability_places_changed``)."""
    try:
        cache.incr(AVAILABILITY_VERSION_KEY)
    except ValueError:
        cache.add(AVAILABILITY_VERSION_KEY, time.time_ns(), timeout=None)
