"""Duty rosters, leave with cover, and the coverage check (DB1403/T 4, 5.2, 6.2.4, 6.2.5).

A duty is one no-rest window's off-hours period on one date; its assignments are the people on
it, one of them the receiving staff member (direct responsibility), the window head bearing
overall responsibility (6.2.5). Working days' rest periods and weekend hours need someone on duty
(4, 5.2); a statutory holiday period needs a duty only once somebody books it, and the booking
opens that duty for the window head to fill.

Standing rotations are not rows forever: ``roster_rotation_repeat`` writes a rotation's duties
over a date range, and the planning grid edits them. A window head's *standing* rotation
(``roster_rotation_stand``) runs forward by itself: ``standing_rotations_extend`` (a sweep) writes
each new day up to the booking horizon, so citizens find off-hours slots as far ahead as they can
book, and the coverage check looks as far ahead too. Every function is keyword-only; those that
change something take ``now`` and the acting user, and refuse with a ``ValidationError``
leaving nothing half-saved.

The package by sub-area (callers import the public names from here):

- ``periods``: the off-hours periods a roster covers, and whether a duty lies inside one;
- ``planning``: planning a roster, repeating a rotation, a holiday booking opening its duty;
- ``coverage``: the coverage check (gaps and conflicts);
- ``leave``: leave (调休) with cover (顶岗);
- ``_common``: naming people and periods, who plans, the row locks.
"""

from ._common import period_label, person, user_manages_window
from .coverage import ProblemKind, RosterProblem, duty_coverage_check, roster_problems
from .leave import leave_approve, leave_reject, leave_request
from .periods import OffHoursPeriod, duty_period_clean, off_hours_periods
from .planning import (
    MAX_PLAN_DAYS,
    CellPlan,
    booking_horizon_end,
    duties_off_the_calendar_remove,
    duty_open_for_holiday_booking,
    roster_plan,
    roster_rotation_repeat,
    roster_rotation_stand,
    roster_rotation_stop,
    roster_week_copy,
    standing_rotations_extend,
)

__all__ = [
    "MAX_PLAN_DAYS",
    "CellPlan",
    "OffHoursPeriod",
    "ProblemKind",
    "RosterProblem",
    "booking_horizon_end",
    "duties_off_the_calendar_remove",
    "duty_coverage_check",
    "duty_open_for_holiday_booking",
    "duty_period_clean",
    "leave_approve",
    "leave_reject",
    "leave_request",
    "off_hours_periods",
    "period_label",
    "person",
    "roster_plan",
    "roster_problems",
    "roster_rotation_repeat",
    "roster_rotation_stand",
    "roster_rotation_stop",
    "roster_week_copy",
    "standing_rotations_extend",
    "user_manages_window",
]
