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
