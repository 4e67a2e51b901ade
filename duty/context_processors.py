from django.utils import timezone

from .calendar import missing_holiday_years
from .scoping import user_keeps_shared_data


def calendar_warnings(request):
    """Tell those who keep the national holiday table (the city administrators) when this year's
    or next year's official arrangement is not entered (DB1403/T 4): its statutory holidays are
    served as provisional ones and its bridging days are unknown until they enter it on the
    console's arrangement page. Nobody else can act on it, so nobody else is told."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    if not user_keeps_shared_data(user):
        return {}
    year = timezone.localdate().year
    return {"missing_holiday_years": missing_holiday_years([year, year + 1])}
