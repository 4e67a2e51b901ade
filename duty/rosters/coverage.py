"""The coverage check (DB1403/T 4, 5.2, 6.2.4, 6.2.5): every gap and conflict of the no-rest
windows' rosters, for the console's grid, the ``duty_coverage`` command and the sweep."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..calendar import missing_holiday_years
from ..models import DutyAssignment, LeaveRequest, Window
from ..signals import holiday_bookings_wanted
from ._common import _range_bounds, period_label, person
from .periods import off_hours_periods

# --- the coverage check ------------------------------------------------------------------------


class ProblemKind(models.TextChoices):
    NOBODY = "nobody", gettext_lazy("nobody on duty")
    HOLIDAY_UNFILLED = "holiday", gettext_lazy("holiday booking without a duty")
    DOUBLE = "double", gettext_lazy("in two places at once")
    ON_LEAVE = "on_leave", gettext_lazy("on duty while on leave")
    NO_HEAD = "no_head", gettext_lazy("window without a head")
    YEAR_NOT_LOADED = "year", gettext_lazy("holiday arrangement not entered")


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
    - a no-rest window without a head; a year whose official holiday arrangement is not entered
      (its statutory holidays are provisional, its bridging days unknown).

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
                    "The official holiday arrangement of %(year)s is not entered: its statutory "
                    "holidays are provisional and its bridging rest days and make-up working "
                    "days unknown, so this roster may still change (the city administrators "
                    "enter the arrangement)."
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
