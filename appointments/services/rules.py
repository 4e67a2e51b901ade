"""The booking rules as predicates (DB1403/T 5.1.1, 5.1.2, 6.2.1, 6.2.2, 6.2.3) and the check of
where and when a booking may be made (DB1403/T 4, 5.1.2, 5.2)."""

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from duty.calendar import local, representable
from duty.models import Window
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware

from ..models import (
    Appointment,
    ChangeRequest,
    ContactLog,
    Matter,
    Status,
)
from ..notifications import show_time
from ..slots import SlotTime, slot_at
from ._common import _open_changes


def booking_lead_is_sufficient(*, start: dt.datetime, now: dt.datetime) -> bool:
    """DB1403/T 5.1.1: a booking is made at least 24 h before its start."""
    return start - now >= dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS)


def change_notice_in_time(*, original_start: dt.datetime, now: dt.datetime) -> bool:
    """DB1403/T 6.2.2: the applicant is told of a change at least 8 h before the original start."""
    return original_start - now >= dt.timedelta(hours=settings.CHANGE_NOTICE_MIN_HOURS)


def no_show_follow_up_due_at(*, start: dt.datetime) -> dt.datetime:
    """DB1403/T 6.2.3: the follow-up is due 30 min after the start without arrival."""
    return start + dt.timedelta(minutes=settings.NO_SHOW_FOLLOW_UP_MINUTES)


def one_time_notice_due_at(*, start: dt.datetime) -> dt.datetime:
    """DB1403/T 6.1.3: the window's contact gives the one-time notice and reconfirms the time at
    once after the hand-over, and at the latest ONE_TIME_NOTICE_DEADLINE_HOURS (8) before the
    start: the standard's own measure of the warning an applicant needs about the time (6.2.2's
    8 h), here for what to bring."""
    return start - dt.timedelta(hours=settings.ONE_TIME_NOTICE_DEADLINE_HOURS)


def without_one_time_notice(queryset):
    """DB1403/T 6.1.3: bookings handed over to their window whose contact has not given the
    one-time notice since (a booking handed over afresh, e.g. after a reassignment, is told
    afresh)."""
    notice = ContactLog.objects.filter(
        appointment=OuterRef("pk"),
        purpose=ContactLog.Purpose.ONE_TIME_NOTICE,
        at__gte=OuterRef("handed_over_at"),
    )
    return queryset.filter(handed_over_at__isnull=False).filter(~Exists(notice))


def one_time_notice_overdue(queryset, *, now: dt.datetime):
    """DB1403/T 6.1.3: bookings waiting at their window, not yet begun, whose notice deadline
    (``one_time_notice_due_at``) has come without the notice."""
    latest_start = now + dt.timedelta(hours=settings.ONE_TIME_NOTICE_DEADLINE_HOURS)
    return without_one_time_notice(
        queryset.filter(status=Status.HANDED_OVER, start__gt=now, start__lte=latest_start)
    )


def one_time_notice_given(appointment: Appointment) -> bool:
    """DB1403/T 6.1.3: whether the booking's contact gave the one-time notice since it was last
    handed over (a booking never handed over was never told either)."""
    if appointment.handed_over_at is None:
        return False
    return ContactLog.objects.filter(
        appointment=appointment,
        purpose=ContactLog.Purpose.ONE_TIME_NOTICE,
        at__gte=appointment.handed_over_at,
    ).exists()


def citizen_may_cancel(*, start: dt.datetime, now: dt.datetime) -> bool:
    """Local practice: a citizen cancels up to CITIZEN_CANCEL_MIN_HOURS before the start."""
    return start - now >= dt.timedelta(hours=settings.CITIZEN_CANCEL_MIN_HOURS)


def change_request_open(appointment: Appointment) -> ChangeRequest | None:
    """DB1403/T 6.2.2: the booking's change under way (requested or approved), if any: at most
    one at a time."""
    return _open_changes(appointment).first()


def no_change_open(appointment: Appointment, now: dt.datetime) -> bool:
    """DB1403/T 6.2.2: a new change is requested only when none is under way."""
    return not _open_changes(appointment).exists()


def check_in_day(appointment: Appointment, now: dt.datetime) -> bool:
    """DB1403/T 5.1.2, 6.2.1: check-in is on the day of the booking (Asia/Shanghai)."""
    return local(now).date() == local(appointment.start).date()


def booking_target_clean(
    *,
    matter: Matter,
    window: Window,
    start: dt.datetime,
    now: dt.datetime,
    window_handles_matter: bool | None = None,
) -> SlotTime:
    """DB1403/T 4, 5.1.2, 5.2: the window handles the matter and serves a slot at ``start``;
    an off-hours slot needs someone on duty (holidays excepted: served by appointment).

    ``window_handles_matter``: already known by a caller that loaded the two through their link
    (``booking_place_load``); asked of the database when None."""
    _require_aware(now)
    if matter is None or not matter.is_active:
        raise _error("matter", _("This matter cannot be booked."), "unknown_matter")
    if window is None or not window.is_active or window.hall_id != matter.hall_id:
        raise _error("window", _("This window cannot be booked."), "unknown_window")
    if window_handles_matter is None:
        window_handles_matter = matter.windows.filter(pk=window.pk).exists()
    if not window_handles_matter:
        raise _error(
            "window",
            _("Window %(window)s does not handle “%(matter)s”.")
            % {"window": window, "matter": matter},
            "window_not_for_matter",
        )
    if start is None or timezone.is_naive(start) or not representable(start):
        raise _error("start", _("Enter a date and time."), "invalid_start")
    if start <= now:
        raise _error(
            "start", _("%(time)s has already passed.") % {"time": show_time(start)}, "past"
        )
    if start > now + dt.timedelta(days=366):
        raise _error("start", _("Bookings are taken at most a year ahead."), "too_far")
    slot = slot_at(window=window, start=start)
    if slot is None:
        raise _error(
            "start",
            _(
                "Window %(window)s does not serve at %(time)s: it is outside the window's "
                "service hours, on a day it does not serve, or not the start of a slot."
            )
            % {"window": window, "time": show_time(start)},
            "no_service",
        )
    if not slot.bookable:
        raise _error(
            "start",
            _(
                "Nobody is on duty at window %(window)s at %(time)s, so this off-hours time "
                "cannot be booked; choose another time."
            )
            % {"window": window, "time": show_time(start)},
            "no_duty",
        )
    return slot
