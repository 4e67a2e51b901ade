"""What the roster modules share (DB1403/T 6.2.5): how people and periods are named, who
plans a window's roster, the refusals every roster change makes, and the row locks that keep
two people from planning the same window or person at once."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from yuyue.checks import field_error as _error

from ..calendar import local
from ..models import Window
from ..names import staff_name
from ..roles import Role, user_has_role
from ..scoping import user_hall_id

# --- helpers ----------------------------------------------------------------------------------


def person(user) -> str:
    """How a staff member is named on rosters and in messages (family name first: 王敏)."""
    return staff_name(user)


def period_label(start: dt.datetime, end: dt.datetime) -> str:
    start, end = local(start), local(end)
    return f"{formats.date_format(start.date(), 'Y-m-d')} {start:%H:%M}–{end:%H:%M}"


def _require_same_hall(actor, hall_id: int) -> None:
    if not actor.is_superuser and user_hall_id(actor) != hall_id:
        raise PermissionDenied(_("This window belongs to another hall."))


def user_manages_window(user, window: Window) -> bool:
    """DB1403/T 6.2.5: the window head (or the hall's administrator) plans and approves."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if user_hall_id(user) != window.hall_id:
        return False
    return window.head_id == user.pk or user_has_role(user, Role.ADMINISTRATOR)


def _require_planner(actor, window: Window) -> None:
    if actor is None or not actor.has_perm("duty.change_duty"):
        raise PermissionDenied(_("You are not allowed to plan rosters."))
    if not user_manages_window(actor, window):
        raise PermissionDenied(
            _("Only the head of window %(window)s plans its roster.") % {"window": window}
        )


def _require_no_rest(window: Window) -> None:
    """Bad input: only no-rest windows serve off-hours, so only they have rosters (5.2)."""
    if not window.is_no_rest:
        raise _error(
            "window",
            _("Window %(window)s is not a no-rest window: it has no duty roster.")
            % {"window": window},
            "not_no_rest",
        )


def _lock_window(window: Window) -> Window:
    # Race: the head and an administrator (or two browser tabs) plan the same window, or a head
    # approves a leave while the roster is being edited. Everything that changes a window's
    # duties locks its row first, so the second waits and then sees the first one's roster.
    # of=self: PostgreSQL cannot lock the nullable side (the head) of an outer join.
    return (
        Window.objects.select_for_update(of=("self",))
        .select_related("hall", "head")
        .get(pk=window.pk)
    )


def _lock_users(user_ids) -> None:
    # Race: two heads put the same person on duty at two windows at once, or approve two leaves
    # naming the same cover. Locking the people (always in id order) makes the second recheck.
    list(
        get_user_model()
        .objects.select_for_update()
        .filter(pk__in=sorted(set(user_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _range_bounds(start_date: dt.date, end_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    return (
        dt.datetime.combine(start_date, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )
