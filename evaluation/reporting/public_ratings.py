"""The citizen site's page of published 好评率 (DB1403/T 8.2; 国办发〔2019〕51号: results are
published): each department's monthly 好评率, ratings and services over the last 12 months, from
``evaluation.figures``; departments, months and numbers only, never a person.
"""

import datetime as dt

from django.core.cache import cache
from django.db.models.functions import TruncMonth
from django.template.response import TemplateResponse
from django.utils import timezone, translation

from appointments.models import Appointment

from ..figures import RATING_AGGREGATES, rating_rates
from .periods import LocalDatePart, fixed_offset, period_bounds

PUBLIC_MONTHS = 12
PUBLIC_CACHE_SECONDS = 600


def _month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def public_rating_figures(*, now: dt.datetime) -> list[dict]:
    """DB1403/T 8.2, 国办发〔2019〕51号 (results are published): each department's monthly
    好评率 and counts over the last 12 months (this month included), from the served bookings of
    its matters. No person is named: only departments, months and numbers. One query."""
    this_month = timezone.localdate(now).replace(day=1)
    first = _month_add(this_month, -(PUBLIC_MONTHS - 1))
    low, _high = period_bounds(first, this_month)
    months = [_month_add(first, i) for i in range(PUBLIC_MONTHS)]
    offset = fixed_offset(low, now)
    tz = timezone.get_default_timezone()
    month = (
        LocalDatePart("served_at", offset=offset, kind="month")
        if offset is not None
        else TruncMonth("served_at", tzinfo=tz)
    )
    rows = (
        Appointment.objects.filter(served_at__gte=low, served_at__lte=now)
        .order_by()
        .annotate(_month=month)
        .values(
            "matter__departments",
            "matter__departments__name",
            "matter__departments__hall__name",
            "_month",
        )
        .annotate(**RATING_AGGREGATES)
    )
    departments: dict[int, dict] = {}
    for row in rows:
        dep_id = row["matter__departments"]
        if dep_id is None:
            continue
        entry = departments.setdefault(
            dep_id,
            {
                "hall": row["matter__departments__hall__name"],
                "name": row["matter__departments__name"],
                "months": {m: None for m in months},
            },
        )
        month = row["_month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        counts = {k: row[k] for k in RATING_AGGREGATES}
        entry["months"][month.replace(day=1)] = {
            "served": counts["served"],
            "rated": counts["rated"],
            "good_rate": rating_rates(counts)["good_rate"],
        }
    result = []
    for entry in sorted(departments.values(), key=lambda e: (e["hall"], e["name"])):
        entry["months"] = [{"month": m, "figures": entry["months"][m]} for m in months]
        result.append(entry)
    return result


def public_ratings_view(request):
    """The citizen site's page of published 好评率 (DB1403/T 8.2), cached for ten minutes."""
    now = timezone.now()
    key = f"public-ratings:{timezone.localdate(now).isoformat()}:{timezone.localtime(now):%H}"
    departments = cache.get(key)
    if departments is None:
        departments = public_rating_figures(now=now)
        cache.set(key, departments, PUBLIC_CACHE_SECONDS)
    months = departments[0]["months"] if departments else []
    return TemplateResponse(
        request,
        "evaluation/public_ratings.html",
        {
            "departments": departments,
            "months": [m["month"] for m in months],
            "language": translation.get_language(),
        },
    )
