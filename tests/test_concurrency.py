"""DESIGN.md "Capacity without overbooking": many attempts at the last place, one booking.

Runs on whichever database the suite runs on: SQLite (IMMEDIATE transactions) locally and in the
first CI pass, PostgreSQL (SELECT ... FOR UPDATE on the slot row) in the second.
"""

import datetime as dt
import threading

import pytest
from django.db import connection

from appointments import services
from appointments.models import Appointment
from appointments.services import SlotFullError

from .conftest import START, at

ATTEMPTS = 8
DAY = dt.timedelta(days=1)


def race(attempts) -> list[str]:
    """Run the callables at once, each in its own thread and database connection.

    Each outcome is "won", "full" (SlotFullError) or the repr of any other error, so that a
    deadlock or a crash shows in the assertion.
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
    return lambda: services.appointment_book_online(
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
