from django.utils import timezone

from .calendar import missing_holiday_years


def calendar_warnings(request):
    """Warn staff when this year's or next year's holidays are not loaded (DB1403/T 4): dates
    in such a year are treated as plain weekdays and weekends until someone enters them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    year = timezone.localdate().year
    return {"missing_holiday_years": missing_holiday_years([year, year + 1])}
