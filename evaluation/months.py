"""Months as the monthly reports take them (DB1403/T 7.4 assessment, 8.1 self-evaluation): a
month is its first day, read from "YYYY-MM", bounded by local midnights (Asia/Shanghai), and
nothing is said of a month that has not begun."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from duty.calendar import local


def month_clean(value) -> dt.date:
    """A month as its first day, from a date that is a first day or from "YYYY-MM"."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if value.day != 1:
            raise ValidationError(
                {"month": ValidationError(_("A month starts on its first day."), code="day")}
            )
        return value
    text = (value or "").strip() if isinstance(value, str) else ""
    try:
        year, month = (int(part) for part in text.split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        raise ValidationError(
            {
                "month": ValidationError(
                    _("“%(value)s” is not a month; write it as YYYY-MM.") % {"value": text},
                    code="invalid",
                )
            }
        ) from None


def next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as [first midnight, next month's first midnight) in the hall's time zone."""
    tz = timezone.get_default_timezone()
    return (
        dt.datetime.combine(month, dt.time(), tzinfo=tz),
        dt.datetime.combine(next_month(month), dt.time(), tzinfo=tz),
    )


def month_started_check(*, month: dt.date, now: dt.datetime) -> None:
    """Nothing can be said of a month that has not begun."""
    if month > local(now).date().replace(day=1):
        raise ValidationError(
            {
                "month": ValidationError(
                    _("%(month)s has not started yet.") % {"month": month.strftime("%Y-%m")},
                    code="future",
                )
            }
        )


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
