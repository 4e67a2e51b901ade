"""Services for the organisation and the calendar (DB1403/T 4, 5.1.3 b)."""

import datetime as dt

from django.db import transaction

from .models import CalendarDay, DayType, Hall, HolidayYear, PhoneLinePeriod, ServicePeriod

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


def holiday_year_import(*, year: int, dry_run: bool = False) -> list[CalendarDay]:
    """DB1403/T 4: load a year's statutory holidays and make-up working days from the
    ``chinese-calendar`` package. Re-importing replaces that year's rows."""
    from chinese_calendar import constants

    holidays = {d: n for d, n in constants.holidays.items() if d.year == year}
    workdays = {d: n for d, n in constants.workdays.items() if d.year == year}
    if not holidays:
        raise HolidayDataMissing(year)
    days = [
        CalendarDay(date=d, kind=CalendarDay.Kind.HOLIDAY, name=CHINESE_HOLIDAY_NAMES.get(n, n))
        for d, n in sorted(holidays.items())
    ] + [
        CalendarDay(
            date=d, kind=CalendarDay.Kind.MAKEUP_WORKDAY, name=CHINESE_HOLIDAY_NAMES.get(n, n)
        )
        for d, n in sorted(workdays.items())
    ]
    if dry_run:
        return days
    with transaction.atomic():
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarDay.objects.bulk_create(days)
        HolidayYear.objects.update_or_create(year=year, defaults={"source": "chinese-calendar"})
    return days
