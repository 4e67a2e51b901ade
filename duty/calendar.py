"""The service calendar of DB1403/T 4: what kind of time a moment is for a hall.

Holidays are data (``CalendarDay``), loaded per year (``HolidayYear``) from the State Council's
arrangement. A year whose arrangement is not entered yet still has its statutory holidays: the law
fixes them (``holiday_law``), so they are *provisional* holidays — served by appointment like any
holiday, marked provisional — and the rest of the year follows "Saturday and Sunday are rest days"
until the official arrangement (its bridging rest days and make-up working days) replaces them.
``missing_holiday_years`` lets administrators see which years still wait for it.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .holiday_law import statutory_holidays
from .models import CalendarDay, DayType, Hall, HolidayYear, PhoneLinePeriod, ServicePeriod


class TimeKind(models.TextChoices):
    WORKING = "working", _("working hours")
    OFF_HOURS = "off_hours", _("off-hours on a working day")
    WEEKEND = "weekend", _("weekend")
    HOLIDAY = "holiday", _("statutory holiday")


@dataclass(frozen=True)
class DayInfo:
    date: dt.date
    day_type: DayType
    holiday_name: str = ""
    year_loaded: bool = True
    # A statutory holiday computed from the law, in a year whose official arrangement is not
    # entered yet (DB1403/T 4): a holiday everywhere, shown as provisional.
    provisional: bool = False

    @property
    def is_workday(self) -> bool:
        return self.day_type == DayType.WORKDAY

    @property
    def kind_label(self) -> str:
        """The day's kind as staff read it, e.g. "statutory holiday (provisional)"."""
        label = DayType(self.day_type).label
        if self.provisional:
            return gettext("%(kind)s (provisional)") % {"kind": label}
        return str(label)


def local(moment: dt.datetime) -> dt.datetime:
    """``moment`` in the hall's time zone (Asia/Shanghai); naive datetimes are a bug."""
    if timezone.is_naive(moment):
        raise ValueError("Calendar functions need an aware datetime.")
    return timezone.localtime(moment)


def show_time(moment: dt.datetime) -> str:
    """``moment`` as staff and applicants read it: local date and time to the minute."""
    return formats.date_format(local(moment), "Y-m-d H:i")


def representable(moment: dt.datetime) -> bool:
    """Can both UTC and the hall's clock show this aware moment? (Year 1 at +14:00 is year 0 in
    UTC: showing it would raise OverflowError.)"""
    try:
        moment.astimezone(dt.UTC)
        local(moment)
    except OverflowError:
        return False
    return True


def days_info(start: dt.date, end: dt.date) -> dict[dt.date, DayInfo]:
    """Day types for every date from ``start`` to ``end`` inclusive, in two queries.

    In a year whose arrangement is not loaded, a date the holiday table names anyway (entered
    ahead in the console) is taken as entered; the law's statutory days are provisional holidays.
    """
    loaded = set(
        HolidayYear.objects.filter(year__gte=start.year, year__lte=end.year).values_list(
            "year", flat=True
        )
    )
    special = {day.date: day for day in CalendarDay.objects.filter(date__gte=start, date__lte=end)}
    result = {}
    day = start
    while day <= end:
        result[day] = _day_info(day, special.get(day), day.year in loaded)
        day += dt.timedelta(days=1)
    return result


def _day_info(day: dt.date, special: CalendarDay | None, year_loaded: bool) -> DayInfo:
    weekend = day.weekday() >= 5
    if special is None and not year_loaded:
        statutory = statutory_holidays(day.year).get(day)
        if statutory:
            return DayInfo(day, DayType.HOLIDAY, statutory, False, provisional=True)
    if special is not None:
        if special.kind == CalendarDay.Kind.HOLIDAY:
            return DayInfo(day, DayType.HOLIDAY, special.name, year_loaded)
        return DayInfo(day, DayType.WORKDAY, special.name, year_loaded)
    return DayInfo(day, DayType.WEEKEND if weekend else DayType.WORKDAY, "", year_loaded)


def day_info(day: dt.date) -> DayInfo:
    """DB1403/T 4: is this date a working day, a weekend day or a statutory holiday?

    Make-up working days (调休上班日) are working days. In a year whose arrangement is not
    loaded, the law's statutory holidays are provisional holidays and other days follow the
    weekday rule.
    """
    return days_info(day, day)[day]


def missing_holiday_years(years) -> list[int]:
    """Those of ``years`` whose official holiday arrangement is not entered: their statutory
    holidays are provisional and their bridging days unknown (administrators are told)."""
    years = sorted(set(years))
    loaded = set(HolidayYear.objects.filter(year__in=years).values_list("year", flat=True))
    return [year for year in years if year not in loaded]


def periods_for_day(hall: Hall, day_type: DayType) -> list[ServicePeriod]:
    return list(hall.service_periods.filter(day_type=day_type).order_by("start"))


def time_kind(*, hall: Hall, moment: dt.datetime) -> TimeKind:
    """DB1403/T 4 and 3.2: working hours, off-hours on a working day, weekend or holiday."""
    moment = local(moment)
    info = day_info(moment.date())
    if info.day_type == DayType.HOLIDAY:
        return TimeKind.HOLIDAY
    if info.day_type == DayType.WEEKEND:
        return TimeKind.WEEKEND
    in_regular_hours = hall.service_periods.filter(
        day_type=DayType.WORKDAY,
        kind=ServicePeriod.Kind.REGULAR,
        start__lte=moment.time(),
        end__gt=moment.time(),
    ).exists()
    return TimeKind.WORKING if in_regular_hours else TimeKind.OFF_HOURS


def phone_line_is_open(*, hall: Hall, now: dt.datetime) -> bool:
    """DB1403/T 5.1.3 b: the desk answers booking calls Mon–Sun 9:00–12:00 and 13:00–17:00
    (the hall's phone-line periods), but not on statutory holidays unless the hall says so."""
    now = local(now)
    if not hall.phone_line_on_holidays and day_info(now.date()).day_type == DayType.HOLIDAY:
        return False
    return PhoneLinePeriod.objects.filter(
        hall=hall, start__lte=now.time(), end__gt=now.time()
    ).exists()


def working_days_add(*, start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (holidays and make-up days counted).

    Used for deadlines counted in working days (complaints, bad reviews).
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    while remaining:
        # Look ahead in chunks: at most one holiday week plus weekends per chunk.
        chunk = days_info(day + dt.timedelta(days=1), day + dt.timedelta(days=remaining * 2 + 14))
        for candidate in sorted(chunk):
            day = candidate
            if chunk[candidate].is_workday:
                remaining -= 1
                if not remaining:
                    break
    return day


def regular_periods_by_hall(hall_ids) -> dict[int, list[tuple[dt.time, dt.time]]]:
    """Each hall's regular working hours on a working day, from one query."""
    result: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for hall_id, start, end in (
        ServicePeriod.objects.filter(
            hall_id__in=set(hall_ids),
            day_type=DayType.WORKDAY,
            kind=ServicePeriod.Kind.REGULAR,
        )
        .order_by("start")
        .values_list("hall_id", "start", "end")
    ):
        result.setdefault(hall_id, []).append((start, end))
    return result


def working_time_between(
    *,
    periods: list[tuple[dt.time, dt.time]],
    days: dict[dt.date, DayInfo],
    start: dt.datetime,
    end: dt.datetime,
) -> dt.timedelta:
    """Working time (regular hours of working days) between two moments, for deadlines in
    working hours ("confirmed within 2 working hours"). ``days`` must cover both dates."""
    start, end = local(start), local(end)
    total = dt.timedelta()
    tz = timezone.get_default_timezone()
    day = start.date()
    while day <= end.date():
        if days[day].is_workday:
            for period_start, period_end in periods:
                lower = max(start, dt.datetime.combine(day, period_start, tzinfo=tz))
                upper = min(end, dt.datetime.combine(day, period_end, tzinfo=tz))
                if upper > lower:
                    total += upper - lower
        day += dt.timedelta(days=1)
    return total
