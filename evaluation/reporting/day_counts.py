"""The dashboard's booking counts by window and local day (DB1403/T 3.2, 4, 5.1.3, 6.2.3, 8.2),
defined once: the dashboard counts them from the bookings for the days its summary does not
hold, and the summary (``summary``) stores them per window, day and matter for the others. What
each counts is in ``dashboard``'s docstring.
"""

import datetime as dt

from django.db.models import Case, Count, FloatField, Func, IntegerField, Q, When
from django.db.models.functions import Cast, Floor, TruncDate, TruncTime
from django.utils import timezone

from appointments.models import LIVE_STATUSES as LIVE
from appointments.models import Channel, Status

from ..figures import RATING_AGGREGATES, follow_up_on_time, served_on_time
from .periods import LocalDatePart, fixed_offset

# Bookings of at most this many days are counted in one query (grouped by confirmation time
# too); more in two (the histogram apart), so that the rows stay few.
FEW_LIVE_DAYS = 7


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


def _served_only(aggregate):
    """A ``RATING_AGGREGATES`` entry restricted to served bookings (the definitions stay in
    ``evaluation.figures``; the grouped query also holds unserved bookings)."""
    served = Q(served_at__isnull=False)
    copy = aggregate.copy()
    copy.filter = served & aggregate.filter if aggregate.filter is not None else served
    return copy


def booking_aggregates(*, regular, holidays) -> dict:
    """The counts of a group of bookings: ``regular`` and ``holidays`` are the hall's regular
    periods and its holiday no-rest periods, as (start, end) times of day, ordered by start.
    The keys are the summary's columns (``evaluation.models.SUMMARY_COUNTS``) and
    ``holiday_<i>`` for the i-th holiday period."""
    in_regular_hours = Q(pk__in=[])
    for period_start, period_end in regular:
        in_regular_hours |= Q(_time__gte=period_start, _time__lt=period_end)
    live = ~Q(status=Status.CANCELLED)
    return {
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
            for i, (s, e) in enumerate(holidays)
        },
    }


def local_day_and_time(low: dt.datetime, high: dt.datetime, column: str = "start"):
    """Expressions of a booking's local date and time of day over [low, high)."""
    offset = fixed_offset(low, high)
    if offset is not None:
        return (
            LocalDatePart(column, offset=offset, kind="date"),
            LocalDatePart(column, offset=offset, kind="time"),
        )
    tz = timezone.get_default_timezone()
    return TruncDate(column, tzinfo=tz), TruncTime(column, tzinfo=tz)


def follow_up_rows(follow_ups, *, low, high) -> list[dict]:
    """One query: DB1403/T 6.2.3, the no-show follow-ups (booked in [low, high)) by their
    booking's window and matter and the local day of their booked time (``slot_start``): all,
    recorded on time (``evaluation.figures.follow_up_on_time``), not recorded yet."""
    day_expr, _time = local_day_and_time(low, high, "slot_start")
    return list(
        follow_ups.order_by()
        .annotate(_day=day_expr)
        .values("appointment__window_id", "_day", "appointment__matter_id")
        .annotate(
            fu_total=Count("pk"),
            fu_on_time=Count("pk", filter=follow_up_on_time()),
            fu_open=Count("pk", filter=Q(outcome="")),
        )
    )


def booking_rows(bookings, *, regular, holidays, low, high, by_matter=False) -> list[dict]:
    """One query: ``booking_aggregates`` of ``bookings`` (starting in [low, high)) grouped by
    window and local day (``_day``), and matter too if ``by_matter``."""
    day_expr, time_expr = local_day_and_time(low, high)
    keys = ("window_id", "_day", "matter_id") if by_matter else ("window_id", "_day")
    return list(
        bookings.order_by()
        .annotate(_day=day_expr, _time=time_expr)
        .values(*keys)
        .annotate(**booking_aggregates(regular=regular, holidays=holidays))
    )


def _minutes():
    return Floor(_SecondsBetween("accepted_at", "created_at") / 60.0)


def booking_counts(bookings, *, regular, holidays, low, high, few) -> tuple[list, dict]:
    """``booking_rows`` and ``confirmation_histogram`` of ``bookings``: in one query if they are
    ``few`` (grouped by minutes to confirmation as well, then added up), else in two."""
    if not few:
        rows = booking_rows(bookings, regular=regular, holidays=holidays, low=low, high=high)
        return rows, confirmation_histogram(bookings)
    day_expr, time_expr = local_day_and_time(low, high)
    confirmed = Q(channel=Channel.ONLINE, accepted_at__isnull=False)
    minutes = Case(When(confirmed, then=Cast(_minutes(), IntegerField())), default=None)
    rows, histogram = {}, {}
    for row in (
        bookings.order_by()
        .annotate(_day=day_expr, _time=time_expr, _m=minutes)
        .values("window_id", "_day", "_m")
        .annotate(**booking_aggregates(regular=regular, holidays=holidays))
    ):
        m = row.pop("_m")
        if m is not None:
            histogram[int(m)] = histogram.get(int(m), 0) + row["total"]
        key = (row["window_id"], row["_day"])
        if key not in rows:
            rows[key] = row
            continue
        total = rows[key]
        for name, value in row.items():
            if name not in ("window_id", "_day"):
                total[name] += value
    return list(rows.values()), histogram


def _confirmations(bookings):
    """DB1403/T 5.1.3 c: online bookings accepted, with whole minutes from booking to
    confirmation (elapsed clock time) as ``_m``."""
    return (
        bookings.order_by()
        .filter(channel=Channel.ONLINE, accepted_at__isnull=False)
        .annotate(_m=Cast(_minutes(), IntegerField()))
    )


def confirmation_histogram(bookings) -> dict[int, int]:
    """One query: {whole minutes to confirmation: online bookings accepted}."""
    return {
        int(row["_m"]): row["n"]
        for row in _confirmations(bookings).values("_m").annotate(n=Count("pk"))
    }


def confirmation_histograms(bookings, *, low, high) -> list[dict]:
    """One query: the histogram's counts by window, local day and matter."""
    day_expr, _time = local_day_and_time(low, high)
    return list(
        _confirmations(bookings)
        .annotate(_day=day_expr)
        .values("window_id", "_day", "matter_id", "_m")
        .annotate(n=Count("pk"))
    )
