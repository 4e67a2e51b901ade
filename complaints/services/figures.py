"""Results of complaint handling (DB1403/T 7.4): the monthly figures and the substantiated
complaints that count in the assessment of windows and staff."""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from duty.calendar import local
from yuyue.checks import require_aware as _require_aware

from ..models import (
    Complaint,
    ComplaintStep,
)
from ._common import S


def _month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _day_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def complaint_figures(*, hall_id: int | None, month: dt.date, now: dt.datetime) -> dict:
    """GB/T 36113 (metrics), DB1403/T 7.3 and 7.4: a month's complaint figures for one hall
    (``hall_id``) or all halls (None). ``month`` is any day of the month; days are local.

    - ``received``: complaints received in the month.
    - ``response_due``: of those, the ones answered (accepted or not) and the ones whose
      acceptance date (``accept_due``) has passed by ``now`` — a complaint still within its
      time is not judged yet; ``responded``: of those, answered on or before their acceptance
      date; ``response_rate`` = responded / response_due.
    - ``completion_due``: complaints replied to in the month (settled on the spot counts as
      replied), plus those whose reply date (``reply_due``) fell in the month, has passed by
      ``now`` and that have no reply; ``completed_on_time``: of those, replied on or before
      their reply date; ``on_time_rate`` = completed_on_time / completion_due.
    - ``decided``: complaints decided in the month (by ``decided_at``); ``substantiated``: of
      those, substantiated; ``substantiated_rate`` = substantiated / decided.
    - ``followed_up``: follow-up visits made in the month; ``satisfied``: of those, the
      complainant was satisfied; ``satisfaction_rate`` = satisfied / followed_up.

    A rate is None when there is nothing to divide by (shown as “—”), never 0 % or 100 %.
    """
    _require_aware(now)
    first, last = _month_bounds(month)
    start, end = _day_range(first, last)
    today = local(now).date()
    complaints = Complaint.objects.all()
    if hall_id is not None:
        complaints = complaints.filter(hall_id=hall_id)

    received = list(
        complaints.filter(received_at__gte=start, received_at__lt=end).values_list(
            "pk", "accept_due", "accepted_at"
        )
    )
    refused_at = dict(
        ComplaintStep.objects.filter(
            complaint_id__in=[pk for pk, _due, _acc in received], to_state=S.NOT_ACCEPTED
        ).values_list("complaint_id", "at")
    )
    responded = response_due = 0
    for pk, accept_due, accepted_at in received:
        answered = accepted_at or refused_at.get(pk)
        if answered is None and accept_due >= today:
            continue  # still within its time
        response_due += 1
        if answered is not None and local(answered).date() <= accept_due:
            responded += 1

    replied_in_month = Q(replied_at__gte=start, replied_at__lt=end)
    due_unreplied = Q(
        replied_at__isnull=True,
        reply_due__gte=first,
        reply_due__lte=min(last, today - dt.timedelta(days=1)),
    )
    completion = list(
        complaints.filter(replied_in_month | due_unreplied).values_list("replied_at", "reply_due")
    )
    on_time = sum(
        1
        for replied_at, reply_due in completion
        if replied_at and reply_due and local(replied_at).date() <= reply_due
    )

    decided = list(
        complaints.filter(decided_at__gte=start, decided_at__lt=end).values_list(
            "substantiated", flat=True
        )
    )
    follow_ups = list(
        complaints.filter(
            steps__to_state=S.FOLLOWED_UP, steps__at__gte=start, steps__at__lt=end
        ).values_list("satisfied", flat=True)
    )
    figures = {
        "hall_id": hall_id,
        "month": first,
        "received": len(received),
        "response_due": response_due,
        "responded": responded,
        "completion_due": len(completion),
        "completed_on_time": on_time,
        "decided": len(decided),
        "substantiated": sum(1 for value in decided if value is True),
        "followed_up": len(follow_ups),
        "satisfied": sum(1 for value in follow_ups if value is True),
    }
    figures["response_rate"] = _rate(figures["responded"], figures["response_due"])
    figures["on_time_rate"] = _rate(figures["completed_on_time"], figures["completion_due"])
    figures["substantiated_rate"] = _rate(figures["substantiated"], figures["decided"])
    figures["satisfaction_rate"] = _rate(figures["satisfied"], figures["followed_up"])
    return figures


def substantiated_complaints(*, hall_id: int | None, start: dt.date, end: dt.date) -> dict:
    """DB1403/T 7.4, GB/T 36113: substantiated complaints, counted against the window and the
    staff member the decision named, for the assessment of windows and staff (issue 8).

    Complaints decided substantiated with a decision date (local) from ``start`` to ``end``,
    both included, of one hall (or all with None). Returns ``{"by_window": {window_id: n},
    "by_staff": {user_id: n}}``; a complaint naming both counts once in each.
    """
    lower, upper = _day_range(start, end)
    complaints = Complaint.objects.filter(
        substantiated=True, decided_at__gte=lower, decided_at__lt=upper
    )
    if hall_id is not None:
        complaints = complaints.filter(hall_id=hall_id)
    by_window: dict[int, int] = {}
    by_staff: dict[int, int] = {}
    for window_id, staff_id in complaints.values_list("window_id", "staff_id"):
        if window_id is not None:
            by_window[window_id] = by_window.get(window_id, 0) + 1
        if staff_id is not None:
            by_staff[staff_id] = by_staff.get(staff_id, 0) + 1
    return {"by_window": by_window, "by_staff": by_staff}
