"""Which times a window can be booked for, and how many places are left.

One place computes it — the booking services, the desk and the citizen site all call it.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from duty.calendar import DayInfo, days_info, local
from duty.models import DayType, ServicePeriod, Window

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

    @property
    def is_off_hours(self) -> bool:
        """DB1403/T 3.2: no-rest service, i.e. outside regular working hours."""
        return self.period_kind == ServicePeriod.Kind.NO_REST


@dataclass(frozen=True)
class AvailableSlot:
    slot: SlotTime
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


def _periods_by_day_type(window: Window) -> dict[str, list[ServicePeriod]]:
    periods: dict[str, list[ServicePeriod]] = {}
    for period in ServicePeriod.objects.filter(hall_id=window.hall_id).order_by("start"):
        # DB1403/T 5.2: only no-rest windows serve outside regular working hours.
        if period.kind == ServicePeriod.Kind.REGULAR or window.is_no_rest:
            periods.setdefault(period.day_type, []).append(period)
    return periods


def _day_slots(window: Window, info: DayInfo, periods: list[ServicePeriod]) -> list[SlotTime]:
    tz = timezone.get_default_timezone()
    length = dt.timedelta(minutes=window.slot_minutes)
    slots = []
    for period in periods:
        start = dt.datetime.combine(info.date, period.start, tzinfo=tz)
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
                )
            )
            start += length
    return slots


def window_slots(*, window: Window, start_date: dt.date, end_date: dt.date) -> list[SlotTime]:
    """Every slot the window serves from ``start_date`` to ``end_date`` (DB1403/T 4, 5.2)."""
    periods = _periods_by_day_type(window)
    slots = []
    for info in days_info(start_date, end_date).values():
        slots.extend(_day_slots(window, info, periods.get(info.day_type, [])))
    return slots


def slot_at(*, window: Window, start: dt.datetime) -> SlotTime | None:
    """The window's slot beginning exactly at ``start``, or None if it serves no such slot."""
    day = local(start).date()
    for slot in window_slots(window=window, start_date=day, end_date=day):
        if slot.start == start:
            return slot
    return None


def window_availability(
    *, window: Window, start_date: dt.date, end_date: dt.date, not_before: dt.datetime
) -> list[AvailableSlot]:
    """Slots of ``window`` starting at or after ``not_before``, with their places left.

    Counts come from two grouped queries, so the cost does not grow with the bookings.
    """
    slots = [
        s
        for s in window_slots(window=window, start_date=start_date, end_date=end_date)
        if s.start >= not_before
    ]
    if not slots:
        return []
    first, last = slots[0].start, slots[-1].start
    capacities = dict(
        Slot.objects.filter(
            window=window, start__gte=first, start__lte=last, capacity__isnull=False
        ).values_list("start", "capacity")
    )
    booked = Counter(
        {
            row["start"]: row["n"]
            for row in Appointment.objects.filter(
                window=window, start__gte=first, start__lte=last, status__in=LIVE_STATUSES
            )
            .values("start")
            .annotate(n=Count("pk"))
        }
    )
    return [
        AvailableSlot(
            slot=s,
            capacity=capacities.get(s.start, window.capacity_per_slot),
            booked=booked[s.start],
        )
        for s in slots
    ]
