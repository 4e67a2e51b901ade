"""Duty rosters, leave with cover, and the coverage check (DB1403/T 4, 5.2, 6.2.4, 6.2.5).

A duty is one no-rest window's off-hours period on one date; its assignments are the people on
it, one of them the receiving staff member (direct responsibility), the window head bearing
overall responsibility (6.2.5). Working days' rest periods and weekend hours need someone on duty
(4, 5.2); a statutory holiday period needs a duty only once somebody books it, and the booking
opens that duty for the window head to fill.

Standing rotations are not rows forever: ``roster_rotation_repeat`` writes a rotation's duties
over a date range, and the planning grid edits them. Every function is keyword-only; those that
change something take ``now`` and the acting user, and refuse with a ``ValidationError``
leaving nothing half-saved.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yuyue.checks import field_error as _error
from yuyue.checks import require_aware as _require_aware

from .calendar import days_info, local, missing_holiday_years
from .models import DayType, Duty, DutyAssignment, LeaveRequest, ServicePeriod, Window
from .roles import Role, user_has_role
from .scoping import user_hall_id
from .signals import duty_assignments_created, holiday_bookings_wanted

MAX_PLAN_DAYS = 366


# --- helpers ----------------------------------------------------------------------------------


def person(user) -> str:
    """How a staff member is named on rosters and in messages."""
    return user.get_full_name() or user.get_username()


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
                    )
                )
        result[hall_id] = periods
    return result


def duty_period_clean(*, window: Window, date: dt.date, start: dt.datetime, end: dt.datetime):
    """Bad input (DB1403/T 4, 5.2): a duty belongs to a no-rest window, lies inside one of the
    hall's off-hours periods on its date, and its year's holidays are loaded."""
    _require_no_rest(window)
    periods = off_hours_periods(hall_ids=[window.hall_id], start_date=date, end_date=date)
    periods = periods[window.hall_id]
    info = days_info(date, date)[date]
    if not info.year_loaded:
        raise _error(
            "date",
            _(
                "The holidays of %(year)s are not loaded: load them (manage.py import_holidays "
                "%(year)s, or the holiday table) before planning duties in that year."
            )
            % {"year": date.year},
            "year_not_loaded",
        )
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


def _range_bounds(start_date: dt.date, end_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    return (
        dt.datetime.combine(start_date, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


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


# --- the coverage check ------------------------------------------------------------------------


class ProblemKind(models.TextChoices):
    NOBODY = "nobody", gettext_lazy("nobody on duty")
    HOLIDAY_UNFILLED = "holiday", gettext_lazy("holiday booking without a duty")
    DOUBLE = "double", gettext_lazy("in two places at once")
    ON_LEAVE = "on_leave", gettext_lazy("on duty while on leave")
    NO_HEAD = "no_head", gettext_lazy("window without a head")
    YEAR_NOT_LOADED = "year", gettext_lazy("holidays not loaded")


@dataclass(frozen=True)
class RosterProblem:
    kind: str
    message: str
    window: Window | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    staff: object = None

    def __str__(self):
        return self.message


def _holiday_bookings(window_ids, periods) -> set[tuple[int, dt.datetime]]:
    """(window, period start) of holiday periods with a live booking. duty holds no bookings: it
    asks whoever does (``holiday_bookings_wanted``; appointments answers in one query)."""
    found: set[tuple[int, dt.datetime]] = set()
    for _receiver, answer in holiday_bookings_wanted.send(
        sender=None, window_ids=window_ids, periods=periods
    ):
        found |= answer
    return found


def roster_problems(*, windows, start_date: dt.date, end_date: dt.date) -> list[RosterProblem]:
    """DB1403/T 4, 5.2, 6.2.4, 6.2.5: every gap and conflict of the windows' rosters from
    ``start_date`` to ``end_date``, in time order:

    - an off-hours period of a working day or weekend with nobody on duty (on leave not counted);
    - a holiday period that someone booked, with nobody on its duty;
    - a person on two duties at once, or on duty while on approved leave;
    - a no-rest window without a head; a year whose holidays are not loaded.

    The booked holiday periods come from ``holiday_bookings_wanted`` (duty/signals.py), which
    appointments answers. Nine queries whatever the number of windows, days and duties.
    """
    windows = [w for w in windows if w.is_no_rest and w.is_active]
    if not windows:
        return []
    problems: list[RosterProblem] = []
    hall_ids = {w.hall_id for w in windows}
    by_hall = off_hours_periods(hall_ids=hall_ids, start_date=start_date, end_date=end_date)
    all_periods = [p for periods in by_hall.values() for p in periods]
    missing = missing_holiday_years(range(start_date.year, end_date.year + 1))
    for year in missing:
        problems.append(
            RosterProblem(
                ProblemKind.YEAR_NOT_LOADED,
                _(
                    "The holidays of %(year)s are not loaded: its statutory holidays cannot be "
                    "told from working days (manage.py import_holidays %(year)s)."
                )
                % {"year": year},
            )
        )
    for window in windows:
        if window.head_id is None:
            problems.append(
                RosterProblem(
                    ProblemKind.NO_HEAD,
                    _("Window %(window)s has no window head (DB1403/T 6.2.5).")
                    % {"window": window},
                    window=window,
                )
            )
    low, high = _range_bounds(start_date, end_date)
    assignments = list(
        DutyAssignment.objects.filter(
            duty__window__hall_id__in=hall_ids, duty__start__lt=high, duty__end__gt=low
        ).select_related("duty__window", "staff")
    )
    present_by_duty = defaultdict(list)
    by_person = defaultdict(list)
    for a in assignments:
        if a.on_leave_id is None:
            present_by_duty[(a.duty.window_id, a.duty.start)].append(a)
            by_person[a.staff_id].append(a)
    booked_holidays = _holiday_bookings([w.pk for w in windows], all_periods)
    window_ids = {w.pk for w in windows}
    for window in windows:
        for period in by_hall[window.hall_id]:
            if present_by_duty.get((window.pk, period.start)):
                continue
            if period.is_holiday:
                if (window.pk, period.start) in booked_holidays:
                    problems.append(
                        RosterProblem(
                            ProblemKind.HOLIDAY_UNFILLED,
                            _(
                                "Window %(window)s, %(period)s (%(holiday)s): booked, but nobody "
                                "is on duty; the window head must fill the duty."
                            )
                            % {
                                "window": window,
                                "period": period.label,
                                "holiday": period.holiday_name or _("statutory holiday"),
                            },
                            window=window,
                            start=period.start,
                            end=period.end,
                        )
                    )
                continue
            problems.append(
                RosterProblem(
                    ProblemKind.NOBODY,
                    _("Window %(window)s, %(period)s: nobody on duty.")
                    % {"window": window, "period": period.label},
                    window=window,
                    start=period.start,
                    end=period.end,
                )
            )
    leaves = defaultdict(list)
    for leave in LeaveRequest.objects.filter(
        staff_id__in=by_person.keys(),
        state=LeaveRequest.State.APPROVED,
        start__lt=high,
        end__gt=low,
    ):
        leaves[leave.staff_id].append(leave)
    for staff_id, mine in by_person.items():
        mine.sort(key=lambda a: a.duty.start)
        for i, a in enumerate(mine):
            duty = a.duty
            for b in mine[i + 1 :]:
                if b.duty.start >= duty.end:
                    break
                if {duty.window_id, b.duty.window_id} & window_ids:
                    problems.append(
                        RosterProblem(
                            ProblemKind.DOUBLE,
                            _(
                                "%(person)s is on duty at windows %(first)s and %(second)s at "
                                "once (%(period)s)."
                            )
                            % {
                                "person": person(a.staff),
                                "first": duty.window,
                                "second": b.duty.window,
                                "period": period_label(b.duty.start, min(duty.end, b.duty.end)),
                            },
                            window=duty.window,
                            start=b.duty.start,
                            end=min(duty.end, b.duty.end),
                            staff=a.staff,
                        )
                    )
            if duty.window_id in window_ids and any(
                lv.start < duty.end and duty.start < lv.end for lv in leaves[staff_id]
            ):
                problems.append(
                    RosterProblem(
                        ProblemKind.ON_LEAVE,
                        _("Window %(window)s, %(period)s: %(person)s is on leave (调休) then.")
                        % {
                            "window": duty.window,
                            "period": period_label(duty.start, duty.end),
                            "person": person(a.staff),
                        },
                        window=duty.window,
                        start=duty.start,
                        end=duty.end,
                        staff=a.staff,
                    )
                )
    problems.sort(key=lambda p: (p.start or low, p.window.number if p.window else "", p.kind))
    return problems


def duty_coverage_check(*, hall, start_date: dt.date, end_date: dt.date) -> list[RosterProblem]:
    """DB1403/T 4, 5.2, 6.2.4: every gap and conflict of the hall's no-rest windows' rosters
    (the ``duty_coverage`` command and the daily background check call this)."""
    windows = Window.objects.filter(hall=hall, is_no_rest=True, is_active=True).order_by("number")
    return roster_problems(windows=list(windows), start_date=start_date, end_date=end_date)


# --- leave (调休) and cover (顶岗) -----------------------------------------------------------


def _leave_gaps(*, staff, start, end, cover, ignore_leave=None) -> list[str]:
    """DB1403/T 6.2.4: the duty periods that ``staff``'s leave would leave with nobody on duty,
    each with why the cover cannot take it."""
    mine = list(
        DutyAssignment.objects.filter(
            staff=staff, on_leave__isnull=True, duty__start__lt=end, duty__end__gt=start
        ).select_related("duty__window")
    )
    if not mine:
        return []
    duty_ids = [a.duty_id for a in mine]
    others = defaultdict(set)
    for duty_id, staff_id in DutyAssignment.objects.filter(
        duty_id__in=duty_ids, on_leave__isnull=True
    ).values_list("duty_id", "staff_id"):
        others[duty_id].add(staff_id)
    cover_duties = []
    cover_leaves = []
    if cover is not None:
        cover_duties = list(
            DutyAssignment.objects.filter(
                staff=cover,
                on_leave__isnull=True,
                duty__start__lt=end,
                duty__end__gt=start,
            ).select_related("duty__window")
        )
        cover_leaves = list(
            LeaveRequest.objects.filter(
                staff=cover, state=LeaveRequest.State.APPROVED, start__lt=end, end__gt=start
            ).exclude(pk=getattr(ignore_leave, "pk", None))
        )
    gaps = []
    for a in mine:
        duty = a.duty
        if others[duty.pk] - {staff.pk}:
            continue  # someone else stays on duty
        where = _("window %(window)s, %(period)s") % {
            "window": duty.window,
            "period": period_label(duty.start, duty.end),
        }
        if cover is None:
            gaps.append(
                _("%(where)s would have nobody on duty: name a cover (顶岗).") % {"where": where}
            )
            continue
        busy = next(
            (
                c.duty
                for c in cover_duties
                if c.duty_id != duty.pk and c.duty.start < duty.end and duty.start < c.duty.end
            ),
            None,
        )
        if busy is not None:
            reason = _("%(cover)s is on duty at window %(window)s then") % {
                "cover": person(cover),
                "window": busy.window,
            }
        elif any(lv.start < duty.end and duty.start < lv.end for lv in cover_leaves):
            reason = _("%(cover)s is on leave then") % {"cover": person(cover)}
        else:
            continue
        gaps.append(
            _("%(where)s would have nobody on duty: %(reason)s.")
            % {"where": where, "reason": reason}
        )
    return gaps


def _leave_people_clean(*, staff, cover, hall_id: int) -> None:
    if cover is not None and cover.pk == staff.pk:
        raise _error(
            "cover",
            _("The cover must be someone other than the person taking leave."),
            "cover_is_staff",
        )
    if cover is not None:
        profile = getattr(cover, "staff_profile", None)
        if not cover.is_active or profile is None or profile.hall_id != hall_id:
            raise _error("cover", _("The cover must be active staff of this hall."), "cover_hall")


def leave_request(
    *, staff, start: dt.datetime, end: dt.datetime, cover, reason: str = "", actor, now
) -> LeaveRequest:
    """DB1403/T 6.2.4: a staff member asks for leave (调休), naming who covers (顶岗).

    Refused at once, naming the period, when a duty would be left with nobody: the person is
    alone on it and no cover is named, or the cover is on another duty or on leave then.
    """
    _require_aware(now)
    if actor is None or not actor.has_perm("duty.add_leaverequest"):
        raise PermissionDenied(_("You are not allowed to request leave."))
    profile = getattr(staff, "staff_profile", None)
    if profile is None or profile.window_id is None:
        raise _error("staff", _("%(person)s has no window.") % {"person": person(staff)}, "window")
    window = profile.window
    if actor.pk != staff.pk and not user_manages_window(actor, window):
        raise PermissionDenied(_("Staff request their own leave; the window head may do it."))
    if start is None or end is None or timezone.is_naive(start) or timezone.is_naive(end):
        raise _error("start", _("Enter a date and time."), "invalid_start")
    if start >= end:
        raise _error("end", _("The end must be after the start."), "range")
    if end <= now:
        raise _error("end", _("This leave is already over."), "past")
    _leave_people_clean(staff=staff, cover=cover, hall_id=window.hall_id)
    gaps = _leave_gaps(staff=staff, start=start, end=end, cover=cover)
    if gaps:
        raise ValidationError({"cover": [ValidationError(g, code="uncovered") for g in gaps]})
    return LeaveRequest.objects.create(
        staff=staff,
        window=window,
        start=start,
        end=end,
        cover=cover,
        reason=(reason or "").strip(),
        requested_at=now,
    )


def _lock_leave(leave: LeaveRequest, action: str) -> LeaveRequest:
    leave = LeaveRequest.objects.select_for_update().get(pk=leave.pk)
    if leave.state != LeaveRequest.State.REQUESTED:
        raise _error(
            "state",
            _("Only a leave waiting for the window head can be %(action)s; it is “%(state)s”.")
            % {"action": action, "state": leave.get_state_display()},
            "invalid_state",
        )
    return leave


def _require_leave_approver(actor, leave: LeaveRequest) -> None:
    if actor is None or not actor.has_perm("duty.approve_leaverequest"):
        raise PermissionDenied(_("You are not allowed to approve leave."))
    if not user_manages_window(actor, leave.window):
        raise PermissionDenied(
            _("Only the head of window %(window)s approves this leave.") % {"window": leave.window}
        )


def leave_approve(*, leave: LeaveRequest, actor, now: dt.datetime, note: str = "") -> LeaveRequest:
    """DB1403/T 6.2.4, 6.2.5: the window head approves a leave; the roster then shows the
    person as on leave and the cover on their duties (as the receiving staff member where the
    person was). Refused, naming the period, if a duty would be left with nobody."""
    _require_aware(now)
    _require_leave_approver(actor, leave)
    with transaction.atomic():
        _lock_window(leave.window)
        leave = _lock_leave(leave, _("approved"))
        _lock_users([leave.staff_id] + ([leave.cover_id] if leave.cover_id else []))
        gaps = _leave_gaps(staff=leave.staff, start=leave.start, end=leave.end, cover=leave.cover)
        if gaps:
            raise ValidationError({"cover": [ValidationError(g, code="uncovered") for g in gaps]})
        released = list(
            DutyAssignment.objects.select_for_update(of=("self",))
            .filter(
                staff=leave.staff,
                on_leave__isnull=True,
                duty__start__lt=leave.end,
                duty__end__gt=leave.start,
            )
            .select_related("duty")
        )
        for a in released:
            was_receiving = a.is_receiving
            a.on_leave, a.is_receiving = leave, False
            a.save(update_fields=["on_leave", "is_receiving"])
            cover_assignment = None
            if leave.cover_id is not None:
                busy = DutyAssignment.objects.filter(
                    staff_id=leave.cover_id,
                    on_leave__isnull=True,
                    duty__start__lt=a.duty.end,
                    duty__end__gt=a.duty.start,
                )
                cover_assignment = busy.filter(duty=a.duty).first()
                if cover_assignment is None and not busy.exists():
                    cover_assignment = DutyAssignment.objects.create(
                        duty=a.duty, staff_id=leave.cover_id, covers=leave
                    )
            if was_receiving:
                new = cover_assignment or a.duty.assignments.filter(on_leave__isnull=True).first()
                if new is not None:
                    DutyAssignment.objects.filter(pk=new.pk).update(is_receiving=True)
        leave.state = LeaveRequest.State.APPROVED
        leave.decided_by, leave.decided_at, leave.decision_note = actor, now, note
        leave.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return leave


def leave_reject(*, leave: LeaveRequest, actor, now: dt.datetime, note: str) -> LeaveRequest:
    """DB1403/T 6.2.4: the window head refuses a leave, saying why."""
    _require_aware(now)
    _require_leave_approver(actor, leave)
    note = (note or "").strip()
    if not note:
        raise _error("decision_note", _("Say why the leave is refused."), "required")
    with transaction.atomic():
        leave = _lock_leave(leave, _("rejected"))
        leave.state = LeaveRequest.State.REJECTED
        leave.decided_by, leave.decided_at, leave.decision_note = actor, now, note
        leave.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return leave
