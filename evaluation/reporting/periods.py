"""Periods of dates in the hall's time zone, as the dashboard and the public 好评率 page read
them (DB1403/T 7.4, 8.2): bounds, the input check, and the local date, time of day or month of a
datetime column computed in SQL.

A period is two dates, ``start`` and ``end``, both included, in the hall's time zone
(Asia/Shanghai): 2026-10-01..2026-10-07 is from 10-01 00:00 to 10-08 00:00 Beijing time.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import DateField, Func, TimeField
from django.db.models.functions import TruncDate, TruncMonth, TruncTime
from django.utils import timezone
from django.utils.translation import gettext as _

from duty.calendar import local

MAX_PERIOD_DAYS = 366


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
