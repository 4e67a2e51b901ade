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
