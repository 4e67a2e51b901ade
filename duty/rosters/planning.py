"""Planning rosters (DB1403/T 4, 5.2, 6.2.5): the window head sets who is on duty in each
off-hours period, repeats a rotation or copies a week, all or nothing; a holiday booking opens
its period's duty for the head to fill."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from sms.models import Alert
from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware
from yuyue.sweeps import alerts_create, alerts_to

from ..calendar import local
from ..models import Duty, DutyAssignment, LeaveRequest, StandingRotation, Window
from ..roles import supervisors_by_hall
from ..signals import duty_assignments_created
from ._common import (
    _lock_users,
    _lock_window,
    _range_bounds,
    _require_no_rest,
    _require_planner,
    period_label,
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
        .prefetch_related("assignments__staff")
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
    period not in the calendar (a year whose arrangement is not entered has its statutory
    holidays as provisional ones, DB1403/T 4), a person already on duty
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


def _rotation_cells(
    window: Window, source_start: dt.date, weeks: int, target_start: dt.date, until: dt.date, now
) -> list[CellPlan]:
    """The cells a rotation of ``weeks`` weeks from ``source_start`` gives the periods from
    ``target_start`` to ``until``: each period the people planned in the same period of the
    rotation day it falls on. Holidays (provisional ones included), periods that have begun,
    periods with no counterpart of their kind and periods whose counterpart has nobody are left
    out: they are left as they are."""
    length = weeks * 7
    source_end = source_start + dt.timedelta(days=length - 1)
    source_periods = {
        (p.date, local(p.start).time()): p
        for p in off_hours_periods(
            hall_ids=[window.hall_id], start_date=source_start, end_date=source_end
        )[window.hall_id]
    }
    source_duties = _duties_by_start(window, *_range_bounds(source_start, source_end))
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
    return cells


def _rotation_write(window, source_start, weeks, target_start, until, now) -> int:
    """Write the rotation's cells from ``target_start`` to ``until``, all or nothing (the
    window locked by the caller); periods that have begun are skipped."""
    return _apply_cells(
        window=window,
        start_date=target_start,
        end_date=until,
        cells=_rotation_cells(window, source_start, weeks, target_start, until, now),
        now=now,
        skip_started=True,
    )


def _rotation_clean(*, window, weeks, actor, now) -> None:
    _require_aware(now)
    _require_planner(actor, window)
    _require_no_rest(window)
    if not 1 <= weeks <= 8:
        raise _error("weeks", _("A rotation lasts 1 to 8 weeks."), "weeks")


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
    _rotation_clean(window=window, weeks=weeks, actor=actor, now=now)
    target_start = source_start + dt.timedelta(days=weeks * 7)
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
        return _rotation_write(window, source_start, weeks, target_start, until, now)


def booking_horizon_end(now: dt.datetime) -> dt.date:
    """The last day citizens can book today (BOOKING_HORIZON_DAYS): how far rosters must reach."""
    return local(now).date() + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS)


def roster_rotation_stand(
    *, window: Window, source_start: dt.date, weeks: int, actor, now: dt.datetime
) -> int:
    """DB1403/T 5.2: make the rotation of ``weeks`` weeks from ``source_start`` the window's
    standing rotation: it is repeated now up to the booking horizon and then runs forward by
    itself (``standing_rotations_extend``, a sweep) until the head sets another or stops it.
    Replaces the window's previous standing rotation. Returns how many periods changed now."""
    _rotation_clean(window=window, weeks=weeks, actor=actor, now=now)
    target_start = source_start + dt.timedelta(days=weeks * 7)
    until = max(booking_horizon_end(now), target_start)
    _plan_range_clean(target_start, until)
    with transaction.atomic():
        window = _lock_window(window)
        changed = _rotation_write(window, source_start, weeks, target_start, until, now)
        StandingRotation.objects.update_or_create(
            window=window,
            defaults={
                "source_start": source_start,
                "weeks": weeks,
                "extended_until": until,
                "set_by": actor,
                "set_at": now,
            },
        )
    return changed


def roster_rotation_stop(*, window: Window, actor, now: dt.datetime) -> None:
    """DB1403/T 5.2: the window's standing rotation stops running forward; the duties it has
    written stay (the coverage check shows the days beyond them)."""
    _require_aware(now)
    _require_planner(actor, window)
    with transaction.atomic():
        _lock_window(window)
        StandingRotation.objects.filter(window=window).delete()


def standing_rotations_extend(*, now: dt.datetime) -> int:
    """DB1403/T 5.2: carry every standing rotation forward to the booking horizon, from the
    day after the last one it wrote; idempotent (a second run the same day writes nothing, and
    a day the head changed by hand is never rewritten). Returns how many periods changed.

    Fires ``duty_assignments_created`` (duty/signals.py) through ``_apply_cells``."""
    _require_aware(now)
    until = booking_horizon_end(now)
    changed = 0
    due = StandingRotation.objects.filter(
        extended_until__lt=until, window__is_active=True, window__is_no_rest=True
    )  # a window closed or no longer no-rest keeps its rotation, paused
    for rotation_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            # Race: the head sets or stops the rotation while the sweep extends it; both lock
            # the window first, and the sweep rereads the rotation under that lock.
            window_id = (
                StandingRotation.objects.filter(pk=rotation_id)
                .values_list("window_id", flat=True)
                .first()
            )
            if window_id is None:
                continue
            window = _lock_window(Window(pk=window_id))
            rotation = StandingRotation.objects.filter(pk=rotation_id).first()
            if rotation is None or rotation.extended_until >= until:
                continue
            changed += _rotation_run(rotation, window, until, now)
    return changed


def _rotation_run(rotation: StandingRotation, window: Window, until: dt.date, now) -> int:
    """Write a standing rotation's days after ``extended_until`` up to ``until``, one day at a
    time: a day the rotation cannot fill (someone is on leave or elsewhere then) is left as it
    is for the coverage check to flag, and does not hold back the other days."""
    start = rotation.extended_until + dt.timedelta(days=1)
    by_day = defaultdict(list)
    for cell in _rotation_cells(window, rotation.source_start, rotation.weeks, start, until, now):
        by_day[local(cell.start).date()].append(cell)
    changed = 0
    for day, cells in sorted(by_day.items()):
        try:
            with transaction.atomic():
                changed += _apply_cells(
                    window=window,
                    start_date=day,
                    end_date=day,
                    cells=cells,
                    now=now,
                    skip_started=True,
                )
        except ValidationError:
            continue  # the gap stays; roster_sweep alerts the head about it
    rotation.extended_until = until
    rotation.save(update_fields=["extended_until"])
    return changed
    return changed


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


def duties_off_the_calendar_remove(*, days, now: dt.datetime) -> list[str]:
    """DB1403/T 4, 5.2: after the holiday calendar changed the kind of ``days`` (the official
    arrangement entered), the duties of those days that have not begun and no longer lie inside
    one of the day's off-hours periods (a weekend's 9:00–12:00 on a new make-up working day, a
    working day's lunch duty on a new rest day) are removed: nobody could fill or be absent
    from a period the calendar no longer has, and the grid no longer shows it. Each window head
    and the hall's supervisors are alerted with what was removed; the day's new periods are
    then gaps the coverage check reports. Returns one line per removed duty.

    Call inside the transaction that changed the calendar."""
    if not days:
        return []
    low, high = _range_bounds(min(days), max(days))
    candidates = [
        d
        for d in Duty.objects.filter(start__lt=high, end__gt=low, start__gt=now)
        .select_related("window")
        .prefetch_related("assignments__staff")
        if local(d.start).date() in days
    ]
    if not candidates:
        return []
    periods = off_hours_periods(
        hall_ids={d.window.hall_id for d in candidates}, start_date=min(days), end_date=max(days)
    )
    unfit = [
        d
        for d in candidates
        if not any(p.start <= d.start and d.end <= p.end for p in periods[d.window.hall_id])
    ]
    for window_id in sorted({d.window_id for d in unfit}):
        _lock_window(Window(pk=window_id))  # Race: the head replans the window meanwhile.
    lines = [
        _("Window %(window)s, %(period)s: %(staff)s")
        % {
            "window": d.window,
            "period": period_label(d.start, d.end),
            "staff": "、".join(person(a.staff) for a in d.assignments.all()) or _("nobody"),
        }
        for d in unfit
    ]
    _alert_removed_duties(unfit, lines, now)
    Duty.objects.filter(pk__in=[d.pk for d in unfit]).delete()
    return lines


def _alert_removed_duties(unfit: list[Duty], lines: list[str], now: dt.datetime) -> None:
    supervisors = supervisors_by_hall({d.window.hall_id for d in unfit})
    alerts = []
    for window_id in sorted({d.window_id for d in unfit}):
        duties = [
            (d, line) for d, line in zip(unfit, lines, strict=True) if d.window_id == window_id
        ]
        window = duties[0][0].window
        text = "\n".join(
            [
                _(
                    "The official holiday arrangement changed the kind of these days: these "
                    "duties no longer fit their off-hours periods and were removed. Plan the "
                    "days' new periods in the roster grid:"
                ),
                *(line for _d, line in duties),
            ]
        )
        alerts += alerts_to(
            {window.head_id, *supervisors.get(window.hall_id, [])},
            dedupe_key=f"duties-refit:{now.isoformat()}:{window_id}",
            hall_id=window.hall_id,
            kind=Alert.Kind.ROSTER_PROBLEM,
            text=text,
            created_at=now,
        )
    alerts_create(alerts=alerts)
