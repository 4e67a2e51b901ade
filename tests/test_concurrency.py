"""DESIGN.md "Capacity without overbooking": many attempts at the last place, one booking.

Runs on whichever database the suite runs on: SQLite (IMMEDIATE transactions) locally and in the
first CI pass, PostgreSQL (SELECT ... FOR UPDATE on the slot row) in the second.
"""

import datetime as dt
import threading

import pytest
from django.db import connection

from appointments.models import Appointment
from appointments.services import SlotFullError, appointment_book_online

from .conftest import at

START = at(2026, 9, 16, 12, 0)
ATTEMPTS = 8


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_many_attempts_at_the_last_place_give_exactly_one_booking(matter, no_rest_window):
    no_rest_window.capacity_per_slot = 2
    no_rest_window.save()
    # One place is taken already, so the slot row exists and only its lock stands between the
    # attempts (a first booking would also be serialised by the slot row's unique index).
    appointment_book_online(
        matter=matter,
        window=no_rest_window,
        start=START,
        applicant_name="先到者",
        phone="13900139000",
        now=START - dt.timedelta(days=3),
    )
    barrier = threading.Barrier(ATTEMPTS)
    outcomes = []
    lock = threading.Lock()

    def attempt(i):
        try:
            barrier.wait()
            appointment_book_online(
                matter=matter,
                window=no_rest_window,
                start=START,
                applicant_name=f"申请人{i}",
                phone=f"1380013{8000 + i}",
                now=START - dt.timedelta(days=2),
            )
            result = "booked"
        except SlotFullError:
            result = "full"
        except Exception as error:  # any other failure is reported by the assertion below
            result = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["booked"] + ["full"] * (ATTEMPTS - 1), outcomes
    assert Appointment.objects.filter(window=no_rest_window, start=START).count() == 2
    print(f"{connection.vendor}: {outcomes.count('booked')} booked, {outcomes.count('full')} full")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_move_and_new_bookings_racing_for_the_last_place_give_one_winner(
    matter, no_rest_window, desk, window_staff, approver
):
    """Moving a booking (6.2.2 change applied) locks and recounts the target slot like a new
    booking does: with one place left, exactly one of them gets it."""
    from appointments import services

    target = at(2026, 9, 17, 12, 0)
    services.appointment_book_online(
        matter=matter,
        window=no_rest_window,
        start=target,
        applicant_name="先到者",
        phone="13900139000",
        now=START - dt.timedelta(days=3),
    )
    moving = services.appointment_register(
        matter=matter,
        window=no_rest_window,
        start=START,
        applicant_name="改期者",
        phone="13700137000",
        channel="onsite",
        actor=desk,
        now=START - dt.timedelta(days=3),
    )
    change = services.change_request_create(
        appointment=moving,
        new_start=target,
        reason="系统升级",
        actor=window_staff,
        now=START - dt.timedelta(days=2),
    )
    services.change_request_approve(change=change, actor=approver, now=START - dt.timedelta(days=2))
    barrier = threading.Barrier(ATTEMPTS)
    outcomes = {}
    lock = threading.Lock()

    def attempt(i):
        try:
            barrier.wait()
            if i == 0:
                services.change_request_notify_and_apply(
                    change=change,
                    method="phone",
                    actor=window_staff,
                    now=START - dt.timedelta(days=1),
                )
            else:
                appointment_book_online(
                    matter=matter,
                    window=no_rest_window,
                    start=target,
                    applicant_name=f"申请人{i}",
                    phone=f"1380013{8000 + i}",
                    now=START - dt.timedelta(days=1),
                )
            result = "won"
        except SlotFullError:
            result = "full"
        except Exception as error:  # any other failure is reported by the assertion below
            result = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes[i] = result

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes.values()) == ["full"] * (ATTEMPTS - 1) + ["won"], outcomes
    assert Appointment.objects.filter(window=no_rest_window, start=target).count() == 2
