"""What a lower app tells the apps above it, through the signals it defines (duty/signals.py,
appointments/signals.py): each signal reaches its listener."""

from appointments.slots import availability_version
from duty.models import DutyAssignment
from duty.rosters import CellPlan
from duty.signals import duty_assignments_created

from .conftest import at
from .test_rosters import plan


def test_staffing_a_duty_makes_the_cached_availability_stale_5_2(
    make_user, hall, no_rest_window, head, window_staff, django_capture_on_commit_callbacks
):
    """DB1403/T 5.2: the roster adds people with bulk_create, which sends no post_save: its own
    signal still tells the availability cache, once the plan is committed."""
    lunch = at(2026, 9, 16, 12, 0)
    plan(no_rest_window, head, [CellPlan(start=lunch, staff=[window_staff])])
    colleague = make_user("colleague", "window_staff", hall, no_rest_window)
    sent = []
    spy = "tests.duty_assignments_created"
    duty_assignments_created.connect(
        lambda sender, **kwargs: sent.append(sender), weak=False, dispatch_uid=spy
    )
    try:
        before = availability_version()
        with django_capture_on_commit_callbacks(execute=True):
            plan(no_rest_window, head, [CellPlan(start=lunch, staff=[window_staff, colleague])])
    finally:
        duty_assignments_created.disconnect(dispatch_uid=spy)
    # The duty was there already: only the new assignment changed, and only the signal told.
    assert sent == [DutyAssignment]
    assert availability_version() > before
