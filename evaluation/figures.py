"""The published 好差评 figures, defined once (DB1403/T 8.2; 国办发〔2019〕51号).

Every figure is over the bookings *served* in a period (``Appointment.served_at``):

- 好评率 (good-review rate) = good ratings / ratings, where good is 非常满意 or 满意.
- 主动评价好评率 (voluntary good-review rate) = good / ratings, counting only ratings the applicant
  gave themselves (SMS link, QR code, my booking) — paper forms typed in by staff are left out.
- 未评价率 (unrated rate) = served bookings without any rating / served bookings. No default
  rating is ever recorded, so an unrated service stays unrated here.
- A rating excluded after an upheld appeal (申诉复核) leaves 好评率 and 主动评价好评率 (numerator
  and denominator); the booking was rated, so it does not count as unrated either.

Rates are ``None`` when their denominator is zero: "no data" is not 0 %.

The rules that judge one record on time or late are here too, so that the dashboard, the
self-evaluation and the assessment count alike.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Func, Q, Value
from django.db.models.functions import Coalesce, Greatest

from .models import BAD_LEVELS, GOOD_LEVELS, RatingSource

_COUNTED = Q(rating__excluded=False)
_VOLUNTARY = _COUNTED & ~Q(rating__source=RatingSource.PAPER)

# Aggregates over an Appointment queryset (served bookings); usable in .aggregate() and, after
# .values("window") or similar, in .annotate().
RATING_AGGREGATES = {
    "served": Count("pk"),
    "rated": Count("rating", filter=_COUNTED),
    "good": Count("rating", filter=_COUNTED & Q(rating__overall__in=GOOD_LEVELS)),
    "bad": Count("rating", filter=_COUNTED & Q(rating__overall__in=BAD_LEVELS)),
    "voluntary": Count("rating", filter=_VOLUNTARY),
    "voluntary_good": Count("rating", filter=_VOLUNTARY & Q(rating__overall__in=GOOD_LEVELS)),
    "unrated": Count("pk", filter=Q(rating__isnull=True)),
}


def ratio(numerator: int, denominator: int) -> float | None:
    """A share in [0, 1], or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def rating_rates(counts: dict) -> dict:
    """好评率, 主动评价好评率 and 未评价率 from counts named as in ``RATING_AGGREGATES``."""
    return {
        "good_rate": ratio(counts["good"], counts["rated"]),
        "voluntary_good_rate": ratio(counts["voluntary_good"], counts["voluntary"]),
        "unrated_rate": ratio(counts["unrated"], counts["served"]),
    }


def rating_figures(served) -> dict:
    """Counts and rates for a queryset of served bookings, in one query."""
    counts = served.aggregate(**RATING_AGGREGATES)
    return {**counts, **rating_rates(counts)}


def _moment(expression) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=DateTimeField())


class _Shifted(Func):
    """A datetime expression moved by a fixed number of whole seconds: ``expression + delta``.

    PostgreSQL and others compute it natively. On SQLite, Django computes ``datetime + duration``
    with a Python function called once per row (``django_format_dtdelta``), which over a year of
    bookings costs more than the rest of the query; here SQLite's built-in ``datetime()`` moves
    the whole seconds and the stored fraction (``.ffffff`` or nothing) is carried over as it is,
    giving the very string Django's function returns (``str(datetime)``), so comparisons with
    stored datetimes give the same answers."""

    output_field = DateTimeField()

    def __init__(self, expression, delta: dt.timedelta):
        if delta % dt.timedelta(seconds=1):
            raise ValueError("only whole seconds")
        self.delta = delta
        super().__init__(expression)

    def as_sql(self, compiler, connection, **extra):
        (expression,) = self.get_source_expressions()
        shifted = _moment(expression + Value(self.delta)).resolve_expression(compiler.query)
        return compiler.compile(shifted)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        seconds = f"'{int(self.delta.total_seconds()):+d} seconds'"
        return (
            f"(datetime(substr({sql}, 1, 19), {seconds}) || substr({sql}, 20))",
            (*params, *params),
        )


def served_on_time() -> Q:
    """DB1403/T 5.1.2, 6.2.1 (按时办理), on bookings: the service was recorded as finished within
    ``SERVED_ON_TIME_MINUTES`` of the booked start — or of the applicant's arrival when they came
    after the start, since their lateness is not the window's."""
    due = _Shifted(
        Greatest(F("start"), Coalesce(F("arrived_at"), F("start"))),
        dt.timedelta(minutes=settings.SERVED_ON_TIME_MINUTES),
    )
    return Q(served_at__isnull=False, served_at__lte=due)


def follow_up_on_time() -> Q:
    """DB1403/T 6.2.3, on no-show follow-ups: the outcome was recorded within
    ``NO_SHOW_FOLLOW_UP_RECORD_MINUTES`` of the follow-up falling due (30 min after the start)."""
    grace = dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_RECORD_MINUTES)
    return Q(recorded_at__isnull=False, recorded_at__lte=_Shifted(F("due_at"), grace))


def change_told_late() -> Q:
    """DB1403/T 6.2.2, on change requests: the applicant was told less than
    ``CHANGE_NOTICE_MIN_HOURS`` (8 h) before the original time."""
    notice = dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)
    return Q(notified_at__gt=_Shifted(F("original_start"), -notice))
