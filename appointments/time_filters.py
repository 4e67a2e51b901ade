"""Console list filters the supervisors' dashboard links to: bookings by kind of time (DB1403/T
3.2, 4) and changes told under 8 h (6.2.2). Each is a plain query, so the list shows exactly
the records a dashboard number counts."""

import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.utils.translation import gettext_lazy as _

from duty.calendar import TimeKind
from duty.models import CalendarDay, DayType, ServicePeriod


def _calendar_q():
    """(holiday dates Q, make-up working day Q, weekend Q) over ``start``'s local date."""
    holidays, makeups = [], []
    for date, kind in CalendarDay.objects.values_list("date", "kind"):
        (holidays if kind == CalendarDay.Kind.HOLIDAY else makeups).append(date)
    holiday = Q(start__date__in=holidays)
    weekend = Q(start__week_day__in=[1, 7]) & ~holiday & ~Q(start__date__in=makeups)
    return holiday, weekend


class TimeKindFilter(admin.SimpleListFilter):
    """DB1403/T 3.2, 4: bookings off-hours on a working day, at the weekend, or on a holiday."""

    title = _("time")
    parameter_name = "time_kind"

    def lookups(self, request, model_admin):
        return [
            (TimeKind.OFF_HOURS, TimeKind.OFF_HOURS.label),
            (TimeKind.WEEKEND, TimeKind.WEEKEND.label),
            (TimeKind.HOLIDAY, TimeKind.HOLIDAY.label),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value not in (TimeKind.OFF_HOURS, TimeKind.WEEKEND, TimeKind.HOLIDAY):
            return queryset
        holiday, weekend = _calendar_q()
        if value == TimeKind.HOLIDAY:
            return queryset.filter(holiday)
        if value == TimeKind.WEEKEND:
            return queryset.filter(weekend)
        regular = Q(pk__in=[])
        for hall_id, start, end in ServicePeriod.objects.filter(
            day_type=DayType.WORKDAY, kind=ServicePeriod.Kind.REGULAR
        ).values_list("hall_id", "start", "end"):
            regular |= Q(window__hall_id=hall_id, start__time__gte=start, start__time__lt=end)
        return queryset.filter(~holiday & ~weekend & ~regular)


class ChangeNoticeFilter(admin.SimpleListFilter):
    """DB1403/T 6.2.2: changes the applicant was told of less than 8 h before the original time."""

    title = _("notice")
    parameter_name = "notice"

    def lookups(self, request, model_admin):
        return [("late", _("told under 8 h before")), ("in_time", _("told 8 h or more before"))]

    def queryset(self, request, queryset):
        limit = ExpressionWrapper(
            F("original_start") - dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS),
            output_field=DateTimeField(),
        )
        if self.value() == "late":
            return queryset.filter(notified_at__gt=limit)
        if self.value() == "in_time":
            return queryset.filter(notified_at__lte=limit)
        return queryset


class HallCancellationFilter(admin.SimpleListFilter):
    """DB1403/T 6.2.2: bookings the hall cancelled less than 8 h before their start without a
    recorded emergency ("late"), or as a recorded emergency ("emergency") — as the assessment
    (7.4) counts them."""

    title = _("cancelled by the hall")
    parameter_name = "hall_cancel"

    def lookups(self, request, model_admin):
        return [("late", _("under 8 h before, no emergency")), ("emergency", _("emergency"))]

    def queryset(self, request, queryset):
        hall = Q(cancelled_by_hall=True, cancelled_at__isnull=False)
        if self.value() == "late":
            limit = ExpressionWrapper(
                F("start") - dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS),
                output_field=DateTimeField(),
            )
            return queryset.filter(hall, cancelled_at__gt=limit, cancel_emergency_reason="")
        if self.value() == "emergency":
            return queryset.filter(hall).exclude(cancel_emergency_reason="")
        return queryset
