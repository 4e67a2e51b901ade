"""Planning rosters (DB1403/T 4, 5.2, 6.2.5): the window head sets who is on duty in each
off-hours period, repeats a rotation or copies a week, all or nothing; a holiday booking opens
its period's duty for the head to fill."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware

from ..calendar import local
from ..models import Duty, DutyAssignment, LeaveRequest, Window
from ..signals import duty_assignments_created
from ._common import (
    _lock_users,
    _lock_window,
    _range_bounds,
    _require_no_rest,
    _require_planner,
    person,
)
from .periods import off_hours_periods

MAX_PLAN_DAYS = 366


# --- planning ----------------------------------------------------------------------------------


@dataclass
class CellPlan:
    """Who is on duty in one period: ``start`` names the period (its start)."""

    start: dt.datetime
    staff: list
    receiving: object = None


def _present(assignments) -> list[DutyAssignment]:
    return [a for a in assignments if a.on_leave_id is None]


def _duties_by_start(window: Window, start: dt.datetime, end: dt.datetime) -> dict:
    duties = (
        Duty.objects.filter(window=window, start__gte=start, start__lt=end)
        .prefetch_related("assignments")
        .order_by("start")
    )
    return {d.start: d for d in duties}


def _plan_range_clean(start_date: dt.date, end_date: dt.date) -> None:
    if end_date < start_date:
        raise _error("end_date", _("The end date is before the start date."), "range")
    if (end_date - start_date).days >= MAX_PLAN_DAYS:
        raise _error("end_date", _("Plan at most a year at once."), "range")


def _apply_cells(
    *, window: Window, start_date, end_date, cells: list[CellPlan], now, skip_started: bool
) -> int:
    """Check every cell, then write them all or nothing. Call inside a transaction with the
    window locked. Returns how many periods changed.

    Fires ``duty_assignments_created`` (duty/signals.py) when it puts people on a duty;
    appointments listens to make the cached availability stale (DB1403/T 5.2)."""
    periods = {
        p.start: p
        for p in off_hours_periods(
            hall_ids=[window.hall_id], start_date=start_date, end_date=end_date
        )[window.hall_id]
    }
    low, high = _range_bounds(start_date, end_date)
    existing = _duties_by_start(window, low, high)
    user_ids = {u.pk for cell in cells for u in cell.staff}
    _lock_users(user_ids)
    User = get_user_model()
    users = User.objects.select_related("staff_profile").in_bulk(user_ids)
    elsewhere = defaultdict(list)
    for a in (
        DutyAssignment.objects.filter(
            staff_id__in=user_ids, on_leave__isnull=True, duty__start__lt=high, duty__end__gt=low
        )
        .exclude(duty__window=window)
        .select_related("duty__window")
    ):
        elsewhere[a.staff_id].append(a.duty)
    leaves = defaultdict(list)
    for leave in LeaveRequest.objects.filter(
        staff_id__in=user_ids, state=LeaveRequest.State.APPROVED, start__lt=high, end__gt=low
    ):
        leaves[leave.staff_id].append(leave)

    errors: list[str] = []
    changes = []
    missing_years = set()
    for cell in cells:
        period = periods.get(cell.start)
        if period is None:
            errors.append(
                _("%(time)s is not an off-hours period of window %(window)s.")
                % {"time": formats.date_format(local(cell.start), "Y-m-d H:i"), "window": window}
            )
            continue
        duty = existing.get(cell.start)
        assignments = list(duty.assignments.all()) if duty else []
        current = [a.staff_id for a in _present(assignments)]
        current_receiving = next((a.staff_id for a in assignments if a.is_receiving), None)
        on_leave_ids = {a.staff_id for a in assignments if a.on_leave_id is not None}
        desired = list(dict.fromkeys(u.pk for u in cell.staff))
        receiving = cell.receiving.pk if cell.receiving is not None else None
        if receiving is None and desired:
            receiving = current_receiving if current_receiving in desired else desired[0]
        if set(desired) == set(current) and receiving == current_receiving:
            continue
        if not period.year_loaded:
            missing_years.add(period.date.year)
            continue
        if period.start <= now:
            if skip_started:
                continue
            errors.append(
                _("%(period)s has already begun; its roster is no longer changed.")
                % {"period": period.label}
            )
            continue
        if receiving is not None and receiving not in desired:
            errors.append(
                _("%(period)s: the receiving staff member must be one of those on duty.")
                % {"period": period.label}
            )
        for uid in desired:
            if uid in current:
                continue
            user = users.get(uid)
            profile = getattr(user, "staff_profile", None)
            if user is None or not user.is_active or profile is None:
                errors.append(_("%(period)s: unknown staff member.") % {"period": period.label})
                continue
            if profile.hall_id != window.hall_id:
                errors.append(
                    _("%(period)s: %(person)s belongs to another hall.")
                    % {"period": period.label, "person": person(user)}
                )
            if uid in on_leave_ids or any(
                lv.start < period.end and period.start < lv.end for lv in leaves[uid]
            ):
                errors.append(
                    _("%(period)s: %(person)s is on leave (调休) then.")
                    % {"period": period.label, "person": person(user)}
                )
            for other in elsewhere[uid]:
                if other.start < period.end and period.start < other.end:
                    errors.append(
                        _("%(period)s: %(person)s is already on duty at window %(window)s then.")
                        % {"period": period.label, "person": person(user), "window": other.window}
                    )
        for a in _present(assignments):
            if a.staff_id not in desired and a.checked_in_at is not None:
                errors.append(
                    _("%(period)s: %(person)s has already checked in and stays on the roster.")
                    % {"period": period.label, "person": person(a.staff)}
                )
        changes.append((period, duty, assignments, desired, receiving))
    if missing_years:
        errors.insert(
            0,
            _(
                "The holidays of %(years)s are not loaded: load them (manage.py import_holidays, "
                "or the holiday table) before planning duties in that year."
            )
            % {"years": "、".join(str(y) for y in sorted(missing_years))},
        )
    if errors:
        raise ValidationError({"staff": errors})

    for period, duty, assignments, desired, receiving in changes:
        if duty is None:
            duty = Duty.objects.create(
                window=window,
                date=period.date,
                start=period.start,
                end=period.end,
                head=window.head,
            )
        present = {a.staff_id: a for a in _present(assignments)}
        DutyAssignment.objects.filter(
            pk__in=[a.pk for uid, a in present.items() if uid not in desired]
        ).delete()
        DutyAssignment.objects.filter(duty=duty, is_receiving=True).update(is_receiving=False)
        if DutyAssignment.objects.bulk_create(
            DutyAssignment(duty=duty, staff_id=uid) for uid in desired if uid not in present
        ):
            # bulk_create sends no save signal: tell those who cache availability (DB1403/T 5.2).
            duty_assignments_created.send(sender=DutyAssignment)
        if receiving is not None:
            DutyAssignment.objects.filter(duty=duty, staff_id=receiving).update(is_receiving=True)
        remaining = DutyAssignment.objects.filter(duty=duty).exists()  # not the prefetch
        if not desired and not duty.opened_by_booking and not remaining:
            duty.delete()
        elif duty.head_id is None and window.head_id is not None:
            duty.head = window.head
            duty.save(update_fields=["head"])
    return len(changes)


def roster_plan(
    *,
    window: Window,
    start_date: dt.date,
    end_date: dt.date,
    cells: list[CellPlan],
    actor,
    now: dt.datetime,
) -> int:
    """DB1403/T 5.2, 6.2.5: the window head sets who is on duty (and who receives) in each
    off-hours period from ``start_date`` to ``end_date``; cells left out stay as they are.

    Refused, with every reason and nothing saved: a window that is not a no-rest window, a
    period not in the calendar, a year whose holidays are not loaded, a person already on duty
    elsewhere at that time or on leave, a period that has begun. A period left empty is not
    refused: the coverage check flags it. Returns how many periods changed.

    Fires ``duty_assignments_created`` (duty/signals.py) when it puts people on a duty;
    appointments listens to make the cached availability stale.
    """
    _require_aware(now)
    _require_planner(actor, window)
    _require_no_rest(window)
    _plan_range_clean(start_date, end_date)
    with transaction.atomic():
        window = _lock_window(window)
        return _apply_cells(
            window=window,
            start_date=start_date,
            end_date=end_date,
            cells=cells,
            now=now,
            skip_started=False,
        )


def _planned_staff(duty: Duty) -> tuple[list, object]:
    """The people planned on a duty (covers for a leave are not part of a rotation)."""
    planned = [a for a in duty.assignments.all() if a.covers_id is None]
    receiving = next((a.staff for a in planned if a.is_receiving), None)
    return [a.staff for a in planned], receiving


def roster_rotation_repeat(
    *,
    window: Window,
    source_start: dt.date,
    weeks: int,
    until: dt.date,
    actor,
    now: dt.datetime,
) -> int:
    """DB1403/T 5.2: repeat a rotation of ``weeks`` weeks beginning ``source_start`` on every
    following day up to ``until``: each period gets the people planned in the same period of
    the rotation day it falls on (covers for leave are not repeated).

    Holidays are by appointment (DB1403/T 4) and are left as they are, as are periods that have
    begun, periods whose counterpart has nobody planned, and periods with no counterpart in the
    rotation (e.g. a make-up working day on a
    Saturday — the coverage check then shows the gap).

    Fires ``duty_assignments_created`` (duty/signals.py), as ``roster_plan`` does.
    """
    _require_aware(now)
    _require_planner(actor, window)
    _require_no_rest(window)
    if not 1 <= weeks <= 8:
        raise _error("weeks", _("A rotation lasts 1 to 8 weeks."), "weeks")
    length = weeks * 7
    target_start = source_start + dt.timedelta(days=length)
    if until < target_start:
        raise _error(
            "until",
            _("Repeat until a date after the rotation (from %(date)s).")
            % {"date": formats.date_format(target_start, "Y-m-d")},
            "range",
        )
    _plan_range_clean(target_start, until)
    with transaction.atomic():
        window = _lock_window(window)
        source_periods = {
            (p.date, local(p.start).time()): p
            for p in off_hours_periods(
                hall_ids=[window.hall_id],
                start_date=source_start,
                end_date=target_start - dt.timedelta(days=1),
            )[window.hall_id]
        }
        low, high = _range_bounds(source_start, target_start - dt.timedelta(days=1))
        source_duties = {
            d.start: d
            for d in Duty.objects.filter(window=window, start__gte=low, start__lt=high)
            .prefetch_related("assignments__staff")
            .order_by("start")
        }
        cells = []
        for period in off_hours_periods(
            hall_ids=[window.hall_id], start_date=target_start, end_date=until
        )[window.hall_id]:
            if period.is_holiday or period.start <= now:
                continue
            offset = (period.date - source_start).days % length
            source_date = source_start + dt.timedelta(days=offset)
            source = source_periods.get((source_date, local(period.start).time()))
            if source is None or source.is_holiday or source.day_type != period.day_type:
                continue
            duty = source_duties.get(source.start)
            staff, receiving = _planned_staff(duty) if duty else ([], None)
            if not staff:
                continue  # nobody planned there: the target is left as it is, not wiped
            cells.append(CellPlan(start=period.start, staff=staff, receiving=receiving))
        return _apply_cells(
            window=window,
            start_date=target_start,
            end_date=until,
            cells=cells,
            now=now,
            skip_started=True,
        )


def roster_week_copy(*, window: Window, week_start: dt.date, actor, now: dt.datetime) -> int:
    """DB1403/T 5.2: copy the previous week's roster into the week beginning ``week_start``
    (holidays and periods that have begun are left as they are)."""
    return roster_rotation_repeat(
        window=window,
        source_start=week_start - dt.timedelta(days=7),
        weeks=1,
        until=week_start + dt.timedelta(days=6),
        actor=actor,
        now=now,
    )


def duty_open_for_holiday_booking(
    *, window: Window, date: dt.date, start: dt.datetime, end: dt.datetime
) -> Duty:
    """DB1403/T 4: a holiday is served by appointment; a booking for a holiday period opens
    that period's duty (with nobody on it yet) for the window head to fill. Called by the
    booking services inside their transaction; idempotent."""
    duty, _created = Duty.objects.get_or_create(
        window=window,
        start=start,
        defaults={"date": date, "end": end, "head": window.head, "opened_by_booking": True},
    )
    return duty
