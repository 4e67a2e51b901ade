"""No overbooking (docs/CONFORMANCE.md): many attempts at the last place, one booking.

Runs on whichever database the suite runs on: SQLite (IMMEDIATE transactions) locally and in the
first CI pass, PostgreSQL (SELECT ... FOR UPDATE on the slot row) in the second.
"""

import datetime as dt
import threading
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from appointments import services
from appointments.models import Appointment
from appointments.services import SlotFullError

from .conftest import START, at, roster_test_dates

ATTEMPTS = 8
DAY = dt.timedelta(days=1)


def race(attempts) -> list[str]:
    """Run the callables at once, each in its own thread and database connection.

    Each outcome is "won", "full" (SlotFullError), "refused" (any other ValidationError: the
    rival got there first) or the repr of any other error, so that a deadlock or a crash shows
    in the assertion.
    """
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(i, attempt):
        try:
            barrier.wait()
            attempt()
            outcomes[i] = "won"
        except SlotFullError:
            outcomes[i] = "full"
        except ValidationError:
            outcomes[i] = "refused"
        except Exception as error:
            outcomes[i] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def book_online(matter, window, start, i, now):
    return partial(
        services.appointment_book_online,
        matter=matter,
        window=window,
        start=start,
        applicant_name=f"申请人{i}",
        phone=f"1380013{8000 + i}",
        now=now,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_many_attempts_at_the_last_place_give_exactly_one_booking(matter, no_rest_window):
    # One of two places is taken already, so the slot row exists and only its lock stands
    # between the attempts (a first booking would also be serialised by the row's unique index).
    book_online(matter, no_rest_window, START, 99, START - 3 * DAY)()

    outcomes = race(
        [book_online(matter, no_rest_window, START, i, START - 2 * DAY) for i in range(ATTEMPTS)]
    )

    assert sorted(outcomes) == ["full"] * (ATTEMPTS - 1) + ["won"], outcomes
    assert Appointment.objects.filter(window=no_rest_window, start=START).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_move_and_new_bookings_racing_for_the_last_place_give_one_winner(
    matter, no_rest_window, accepted, window_staff, approver
):
    """Moving a booking (6.2.2 change applied) locks and recounts the target slot like a new
    booking does: with one place left, exactly one of them gets it."""
    target = at(2026, 9, 17, 12, 0)
    book_online(matter, no_rest_window, target, 99, START - 3 * DAY)()
    change = services.change_request_create(
        appointment=accepted,
        new_start=target,
        reason="系统升级",
        actor=window_staff,
        now=START - 2 * DAY,
    )
    services.change_request_approve(change=change, actor=approver, now=START - 2 * DAY)

    def apply_change():
        services.change_request_notify_and_apply(
            change=change, method="phone", actor=window_staff, now=START - DAY
        )

    outcomes = race(
        [apply_change]
        + [book_online(matter, no_rest_window, target, i, START - DAY) for i in range(1, ATTEMPTS)]
    )

    assert sorted(outcomes) == ["full"] * (ATTEMPTS - 1) + ["won"], outcomes
    assert Appointment.objects.filter(window=no_rest_window, start=target).count() == 2


ROUNDS = 4


def fresh_booking(matter, window, desk, start):
    return services.appointment_register(
        matter=matter,
        window=window,
        start=start,
        applicant_name="张伟",
        phone="13800138000",
        channel="onsite",
        actor=desk,
        allow_duplicate=True,
        now=start - 3 * DAY,
    )


def assert_one_step_won_cleanly(outcomes):
    # Whichever came second was refused with a message, or went through after the first: never
    # a deadlock, a half-saved state or a server error.
    assert set(outcomes) <= {"won", "refused"} and "won" in outcomes, outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("step", ["approve", "apply"])
def test_a_change_decided_while_the_booking_is_cancelled(
    step, matter, no_rest_window, desk, window_staff, approver
):
    for round_ in range(ROUNDS):
        start = START + round_ * dt.timedelta(minutes=30)
        booking = fresh_booking(matter, no_rest_window, desk, start)
        change = services.change_request_create(
            appointment=booking,
            new_start=start + DAY,
            reason="升级",
            actor=window_staff,
            now=start - 2 * DAY,
        )
        if step == "approve":
            decide = partial(
                services.change_request_approve, change=change, actor=approver, now=start - DAY
            )
        else:
            services.change_request_approve(change=change, actor=approver, now=start - 2 * DAY)
            decide = partial(
                services.change_request_notify_and_apply,
                change=change,
                method="phone",
                actor=window_staff,
                now=start - DAY,
            )
        cancel = partial(
            services.appointment_cancel_by_staff,
            appointment=booking,
            reason="申请人来电取消",
            at_applicants_request=True,
            actor=desk,
            now=start - DAY,
        )
        assert_one_step_won_cleanly(race([decide, cancel]))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_confirming_a_parallel_part_while_the_booking_is_reassigned(
    matter, no_rest_window, desk, head, approver, tax, hall, make_user
):
    from duty.models import Window

    tax_window = Window.objects.create(hall=hall, number="B01", name="税务", is_no_rest=True)
    tax_window.departments.add(tax)
    other = Window.objects.create(hall=hall, number="A03", name="综合", is_no_rest=True)
    other.departments.add(*no_rest_window.departments.all())
    matter.departments.add(tax)
    matter.windows.add(tax_window, other)
    tax_staff = make_user("tax", "window_staff", hall, tax_window)
    roster_test_dates(tax_window, tax_staff)
    roster_test_dates(other, make_user("other", "window_staff", hall, other))
    for round_ in range(ROUNDS):
        start = START + round_ * dt.timedelta(minutes=30)
        booking = fresh_booking(matter, no_rest_window, desk, start)
        task = booking.parallel_tasks.get(department=tax)
        outcomes = race(
            [
                partial(
                    services.parallel_task_confirm, task=task, actor=tax_staff, now=start - DAY
                ),
                partial(
                    services.appointment_reassign,
                    appointment=booking,
                    window=other,
                    reason="故障",
                    reported_to=approver,
                    actor=head,
                    now=start - DAY,
                ),
            ]
        )
        assert outcomes == ["won", "won"], outcomes
