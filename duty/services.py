"""Services for the organisation and the calendar (DB1403/T 4, 5.1.3 b)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware

from .calendar import DayInfo, days_info
from .models import CalendarDay, DayType, Hall, HolidayYear, PhoneLinePeriod, ServicePeriod
from .rosters import duties_off_the_calendar_remove
from .signals import calendar_days_changed

T = dt.time
# DB1403/T 4: regular hours on working days, with the lunch break and the early evening served
# by no-rest windows; weekends and holidays (by appointment) served in the day.
DEFAULT_SERVICE_PERIODS = [
    (DayType.WORKDAY, ServicePeriod.Kind.REGULAR, T(9), T(12)),
    (DayType.WORKDAY, ServicePeriod.Kind.NO_REST, T(12), T(13)),
    (DayType.WORKDAY, ServicePeriod.Kind.REGULAR, T(13), T(17)),
    (DayType.WORKDAY, ServicePeriod.Kind.NO_REST, T(17), T(18)),
    (DayType.WEEKEND, ServicePeriod.Kind.NO_REST, T(9), T(12)),
    (DayType.WEEKEND, ServicePeriod.Kind.NO_REST, T(13), T(17)),
    (DayType.HOLIDAY, ServicePeriod.Kind.NO_REST, T(9), T(12)),
    (DayType.HOLIDAY, ServicePeriod.Kind.NO_REST, T(13), T(17)),
]
# DB1403/T 5.1.3 b: the phone line is answered 9:00–12:00 and 13:00–17:00.
DEFAULT_PHONE_LINE = [(T(9), T(12)), (T(13), T(17))]

CHINESE_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def hall_calendar_set_defaults(*, hall: Hall) -> None:
    """Give a new hall the standard's default service periods and phone-line hours."""
    with transaction.atomic():
        if not hall.service_periods.exists():
            ServicePeriod.objects.bulk_create(
                ServicePeriod(hall=hall, day_type=d, kind=k, start=s, end=e)
                for d, k, s, e in DEFAULT_SERVICE_PERIODS
            )
        if not hall.phone_line_periods.exists():
            PhoneLinePeriod.objects.bulk_create(
                PhoneLinePeriod(hall=hall, start=s, end=e) for s, e in DEFAULT_PHONE_LINE
            )


class HolidayDataMissing(Exception):
    pass


@dataclass
class ArrangementEntered:
    """What entering a year's official arrangement did: its rows, the dates whose kind changed
    (before, after) and the bookings on them that the apps above listed for the desk."""

    days: list[CalendarDay]
    changed: dict[dt.date, tuple[DayInfo, DayInfo]] = field(default_factory=dict)
    bookings: list[str] = field(default_factory=list)
    duties_removed: list[str] = field(default_factory=list)


def _arrangement_rows(year: int, holidays: dict, makeup_days: dict) -> list[CalendarDay]:
    """Bad input (DB1403/T 4): every date in ``year``, none both a holiday and a working day."""
    outside = sorted(d for d in (*holidays, *makeup_days) if d.year != year)
    if outside:
        raise _error(
            "days",
            _("%(date)s is not in %(year)s.") % {"date": outside[0].isoformat(), "year": year},
            "other_year",
        )
    both = sorted(set(holidays) & set(makeup_days))
    if both:
        raise _error(
            "days",
            _("%(date)s cannot be both a holiday and a make-up working day.")
            % {"date": both[0].isoformat()},
            "both",
        )
    if not holidays:
        raise _error("days", _("An arrangement names at least one holiday."), "empty")
    return [
        CalendarDay(date=d, kind=CalendarDay.Kind.HOLIDAY, name=n)
        for d, n in sorted(holidays.items())
    ] + [
        CalendarDay(date=d, kind=CalendarDay.Kind.MAKEUP_WORKDAY, name=n)
        for d, n in sorted(makeup_days.items())
    ]


def holiday_arrangement_enter(
    *,
    year: int,
    holidays: dict[dt.date, str],
    makeup_days: dict[dt.date, str],
    source: str,
    now: dt.datetime,
    actor=None,
    dry_run: bool = False,
) -> ArrangementEntered:
    """DB1403/T 4: the State Council's arrangement of ``year`` (its holidays, bridging rest days
    included, and its make-up working days) replaces the provisional statutory holidays
    computed from the law, or a previous entry of that year.

    No booking is moved or dropped: every date whose kind changes (a provisional holiday that
    becomes a make-up working day, a weekday that becomes a bridging rest day) is sent with
    ``calendar_days_changed`` (duty/signals.py); appointments answers with the live bookings on
    those dates, which it lists in an alert to the desk and the supervisors of their halls.
    Duties of those dates that no longer fit the day's off-hours periods are removed, their
    window heads alerted (``duties_off_the_calendar_remove``, DB1403/T 5.2).
    """
    _require_aware(now)
    days = _arrangement_rows(year, holidays, makeup_days)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if dry_run:
        return ArrangementEntered(days=days)
    with transaction.atomic():
        before = days_info(first, last)  # provisional days, if the year was not entered yet
        # Race: two administrators (or the console and import_holidays) enter the same year at
        # once. The year's row is made (or found) and locked first, so the second waits; it
        # then compares against the first one's arrangement and lists only what it changes.
        _entry, created = HolidayYear.objects.get_or_create(year=year, defaults={"source": source})
        entry = HolidayYear.objects.select_for_update().get(year=year)
        if not created:
            before = days_info(first, last)  # the arrangement replaced, read under the lock
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarDay.objects.bulk_create(days)
        entry.source = source
        entry.save(update_fields=["source"])
        after = days_info(first, last)
        changed = {
            day: (before[day], after[day])
            for day in after
            if before[day].day_type != after[day].day_type
        }
        listed = []
        if changed:
            for _receiver, answer in calendar_days_changed.send(
                sender=None, year=year, changed=changed, now=now, actor=actor
            ):
                listed += answer or []
        removed = duties_off_the_calendar_remove(days=set(changed), now=now)
    return ArrangementEntered(days=days, changed=changed, bookings=listed, duties_removed=removed)


def holiday_year_import(
    *, year: int, now: dt.datetime | None = None, dry_run: bool = False
) -> ArrangementEntered:
    """DB1403/T 4: load a year's official arrangement (statutory holidays, bridging rest days
    and make-up working days) from the ``chinese-calendar`` package, through
    ``holiday_arrangement_enter``: it replaces the provisional days and lists the bookings whose
    day changes kind. Re-importing replaces that year's rows."""
    from chinese_calendar import constants

    holidays = {d: n for d, n in constants.holidays.items() if d.year == year}
    workdays = {d: n for d, n in constants.workdays.items() if d.year == year}
    if not holidays:
        raise HolidayDataMissing(year)
    return holiday_arrangement_enter(
        year=year,
        holidays={d: CHINESE_HOLIDAY_NAMES.get(n, n) for d, n in holidays.items()},
        makeup_days={d: CHINESE_HOLIDAY_NAMES.get(n, n) for d, n in workdays.items()},
        source="chinese-calendar",
        now=now or timezone.now(),
        dry_run=dry_run,
    )
