"""What duty tells the apps above it.

duty stands below appointments in the layers (pyproject.toml, [tool.importlinter]) and never
imports them. Where something here must reach them, duty sends one of these signals and the app
above listens; each signal says who sends it, who listens and why.
"""

from django.dispatch import Signal

# Sent by roster_plan and roster_rotation_repeat (duty/rosters/planning.py, through _apply_cells)
# after they put people on duties with bulk_create, which sends no post_save: sender=DutyAssignment.
# appointments listens (appointments/receivers.py) to make the cached availability stale once the
# transaction commits — off-hours slots are offered only while someone is on duty (DB1403/T 5.2).
duty_assignments_created = Signal()

# Sent by roster_problems (duty/rosters/coverage.py) to ask which holiday periods hold a live
# booking: sender=None, window_ids, periods (OffHoursPeriod). Each receiver returns a set of
# (window id, period start). A holiday is served by appointment (DB1403/T 4), so a booked holiday
# period with nobody on its duty is a roster problem. appointments answers from its bookings
# (appointments/receivers.py), in one query.
holiday_bookings_wanted = Signal()

# Sent by holiday_arrangement_enter (duty/services.py) inside its transaction when a year's
# official holiday arrangement changes the kind of some dates (a provisional holiday that becomes
# a make-up working day, a weekday that becomes a bridging rest day): sender=None, year, changed
# ({date: (DayInfo before, DayInfo after)}), now, actor. No booking may be moved or dropped
# silently (DB1403/T 4, 6.2.2): appointments (appointments/receivers.py) lists the live bookings on
# those dates in an alert to each hall's desk and supervisors, and returns the list (one line per
# booking) so that the console page and import_holidays show it too.
calendar_days_changed = Signal()
