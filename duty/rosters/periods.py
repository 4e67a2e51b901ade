"""The off-hours periods a roster covers (DB1403/T 4, 5.2): one no-rest period of a hall on one
date is what one duty covers; a duty must lie inside one."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from yuyue.checks import field_error as _error

from ..calendar import days_info, local
from ..models import DayType, ServicePeriod, Window
from ._common import _require_no_rest, period_label

# --- the periods a roster covers ---------------------------------------------------------------


@dataclass(frozen=True)
class OffHoursPeriod:
    """A no-rest period of a hall on a date: what one duty covers (DB1403/T 4)."""

    date: dt.date
    start: dt.datetime
    end: dt.datetime
    day_type: str
    holiday_name: str = ""
    year_loaded: bool = True
    provisional: bool = False

    @property
    def is_holiday(self) -> bool:
        return self.day_type == DayType.HOLIDAY

    @property
    def label(self) -> str:
        return period_label(self.start, self.end)


def off_hours_periods(
    *, hall_ids, start_date: dt.date, end_date: dt.date
) -> dict[int, list[OffHoursPeriod]]:
    """Every no-rest period of the halls from ``start_date`` to ``end_date`` (DB1403/T 4),
    by hall, in time order; three queries whatever the range."""
    hall_ids = set(hall_ids)
    tz = timezone.get_default_timezone()
    by_hall: dict[int, dict[str, list[ServicePeriod]]] = defaultdict(lambda: defaultdict(list))
    for period in ServicePeriod.objects.filter(
        hall_id__in=hall_ids, kind=ServicePeriod.Kind.NO_REST
    ).order_by("start"):
        by_hall[period.hall_id][period.day_type].append(period)
    days = days_info(start_date, end_date)
    result: dict[int, list[OffHoursPeriod]] = {}
    for hall_id in hall_ids:
        periods = []
        for info in days.values():
            for period in by_hall[hall_id].get(info.day_type, []):
                periods.append(
                    OffHoursPeriod(
                        date=info.date,
                        start=dt.datetime.combine(info.date, period.start, tzinfo=tz),
                        end=dt.datetime.combine(info.date, period.end, tzinfo=tz),
                        day_type=info.day_type,
                        holiday_name=info.holiday_name,
                        year_loaded=info.year_loaded,
                        provisional=info.provisional,
                    )
                )
        result[hall_id] = periods
    return result


def duty_period_clean(*, window: Window, date: dt.date, start: dt.datetime, end: dt.datetime):
    """Bad input (DB1403/T 4, 5.2): a duty belongs to a no-rest window, lies inside one of the
    hall's off-hours periods on its date (provisional holidays included)."""
    _require_no_rest(window)
    periods = off_hours_periods(hall_ids=[window.hall_id], start_date=date, end_date=date)
    periods = periods[window.hall_id]
    for period in periods:
        if period.start <= start and end <= period.end:
            return period
    raise _error(
        "start",
        _("%(time)s is not inside an off-hours period of %(date)s (%(periods)s).")
        % {
            "time": period_label(start, end),
            "date": formats.date_format(date, "Y-m-d"),
            "periods": "、".join(f"{local(p.start):%H:%M}–{local(p.end):%H:%M}" for p in periods)
            or _("none"),
        },
        "outside_period",
    )
