"""What one booking costs the database (issue 19): a handful of queries for a citizen's booking
through the API and for a desk registration, the same whatever the size of the table; and the
shortcuts taken for it (the code spent in one UPDATE, the matter, window and hall read through
their link in one query) still refuse at every boundary."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, reset_queries

from appointments.citizen import citizen_booking_create
from appointments.models import Appointment, ParallelTask, Status
from appointments.services import appointment_register
from duty.models import Window
from sms.services import verification_code_send
from tests.conftest import START, at
from tests.test_api import E164, MOBILE, api, book, booking, frozen, get_code, post
from tests.test_concurrency import ATTEMPTS, DAY, book_online, race

__all__ = ["api", "frozen"]  # fixtures, used by name

# Statements of one booking as the tests see them, on a slot booked for the first time (its row
# is inserted, then locked: two more than for a slot's later bookings). The test's transaction
# makes each outermost transaction a savepoint (SAVEPOINT and RELEASE are two of them);
# PostgreSQL adds the booking transaction's SET LOCAL lock_timeout. Before issue 19 they were
# 31 and 26 on SQLite, 33 and 28 on PostgreSQL.
API_BOOKING_QUERIES = {"sqlite": 19, "postgresql": 20}
DESK_REGISTRATION_QUERIES = {"sqlite": 20, "postgresql": 21}


def _fill(matter, window, count):
    """``count`` other bookings, served in the weeks before, of other numbers and this one."""
    first = START - dt.timedelta(days=120)
    rows = [
        Appointment(
            reference=f"F{number:07}",
            channel="online",
            status=Status.SERVED,
            matter=matter,
            window=window,
            start=first + dt.timedelta(minutes=30 * number),
            end=first + dt.timedelta(minutes=30 * number + 30),
            applicant_name="王芳",
            phone=E164 if number % 10 == 0 else f"+86136{number:08}",
            created_at=first - dt.timedelta(days=3),
            accepted_at=first - dt.timedelta(days=2),
        )
        for number in range(Appointment.objects.count(), count)
    ]
    Appointment.objects.bulk_create(rows)
    assert Appointment.objects.count() >= count


def _api_booking_queries(api, sms_inbox, matter, window, start, phone, assert_max):
    code = get_code(api, sms_inbox, phone, "+86" + phone)
    reset_queries()  # a request resets the log; counted from an empty one
    with assert_max(API_BOOKING_QUERIES[connection.vendor]) as counted:
        response = post(
            api, "/api/v1/appointments/", booking(matter, window, start, code, phone=phone)
        )
    assert response.status_code == 201, response.json()
    return len(counted.captured_queries)


def test_an_api_booking_takes_a_handful_of_queries_with_10_or_1000_bookings_in_the_table(
    api, sms_inbox, matter, no_rest_window, frozen, django_assert_max_num_queries
):
    _fill(matter, no_rest_window, 10)
    small = _api_booking_queries(
        api, sms_inbox, matter, no_rest_window, START, "13700137001", django_assert_max_num_queries
    )
    _fill(matter, no_rest_window, 1000)
    later = START + dt.timedelta(days=1)
    large = _api_booking_queries(
        api, sms_inbox, matter, no_rest_window, later, "13700137002", django_assert_max_num_queries
    )
    assert small == large


def _registration_queries(matter, window, desk, start, assert_max):
    # A fresh user, as each console request has (its permissions read again: two queries).
    desk = type(desk).objects.select_related("staff_profile").get(pk=desk.pk)
    reset_queries()
    with assert_max(DESK_REGISTRATION_QUERIES[connection.vendor]) as counted:
        appointment_register(
            matter=matter,
            window=window,
            start=start,
            applicant_name="张伟",
            phone="13800138000",
            channel="onsite",
            actor=desk,
            now=start - dt.timedelta(hours=48),
        )
    return len(counted.captured_queries)


def test_a_desk_registration_takes_a_handful_of_queries_with_10_or_1000_bookings_in_the_table(
    matter, no_rest_window, desk, frozen, django_assert_max_num_queries
):
    # Frozen before the booked day: a booking of a past day also marks the dashboard's summary.
    _fill(matter, no_rest_window, 10)
    small = _registration_queries(
        matter, no_rest_window, desk, START, django_assert_max_num_queries
    )
    _fill(matter, no_rest_window, 1000)
    later = START + dt.timedelta(days=1)
    large = _registration_queries(
        matter, no_rest_window, desk, later, django_assert_max_num_queries
    )
    assert small == large


def test_the_second_booking_of_a_slot_reuses_its_locked_row(
    api, sms_inbox, matter, no_rest_window, frozen
):
    first = book(api, sms_inbox, matter, no_rest_window)
    second = book(
        api, sms_inbox, matter, no_rest_window, phone="13700137009", e164="+8613700137009"
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert no_rest_window.slots.filter(start=START).count() == 1


def test_an_older_code_of_the_number_does_not_book(api, sms_inbox, matter, no_rest_window, frozen):
    """Only the newest code counts: the one-UPDATE spend picks the newest row, and an older code
    entered falls through to the counted wrong try."""
    older = newer = get_code(api, sms_inbox)
    while newer == older:  # random codes: once in a million the next one is the same
        frozen.shift(dt.timedelta(seconds=61))
        newer = get_code(api, sms_inbox)
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=older))
    assert response.json()["detail"][0]["type"] == "wrong_code"
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=newer))
    assert response.status_code == 201


def test_a_code_is_usable_until_the_moment_it_expires_and_not_at_it(
    api, sms_inbox, matter, no_rest_window, frozen
):
    code = get_code(api, sms_inbox)
    frozen.shift(dt.timedelta(minutes=5) - dt.timedelta(microseconds=1))
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, code=code))
    assert response.status_code == 201
    again = get_code(api, sms_inbox)
    frozen.shift(dt.timedelta(minutes=5))
    later = START + dt.timedelta(days=1)
    response = post(api, "/api/v1/appointments/", booking(matter, no_rest_window, later, again))
    assert response.json()["detail"][0]["type"] == "code_expired"


def test_a_window_that_does_not_handle_the_matter_is_refused_on_the_window(
    api, sms_inbox, matter, hall, department, frozen
):
    other = Window.objects.create(hall=hall, number="C01", name="其他", is_no_rest=True)
    other.departments.add(department)
    code = get_code(api, sms_inbox)
    response = post(api, "/api/v1/appointments/", booking(matter, other, code=code))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"][-1], error["type"]) == ("window", "window_not_for_matter")
    assert not Appointment.objects.exists()


def test_an_api_booking_of_a_matter_of_two_departments_opens_a_task_for_each(
    api, sms_inbox, matter, no_rest_window, hall, tax, frozen
):
    """DB1403/T 6.1.1 b, with the departments counted in the query that reads the matter."""
    tax_window = Window.objects.create(hall=hall, number="B01", name="税务", is_no_rest=True)
    tax_window.departments.add(tax)
    matter.departments.add(tax)
    matter.windows.add(tax_window)
    response = book(api, sms_inbox, matter, no_rest_window)
    assert response.status_code == 201
    tasks = {t.department.name: t.window.number for t in ParallelTask.objects.all()}
    assert tasks == {"市场监督管理局": "A01", "税务局": "B01"}


def test_a_fourth_open_booking_of_a_number_is_refused_and_a_second_same_day_too(
    api, sms_inbox, matter, no_rest_window, frozen, settings
):
    """The two per-number rules, now counted in one query, each at its boundary."""
    settings.ONLINE_OPEN_BOOKINGS_PER_PHONE = 2
    day_one = book(api, sms_inbox, matter, no_rest_window, START)
    assert day_one.status_code == 201
    frozen.shift(dt.timedelta(seconds=61))
    same_day = book(api, sms_inbox, matter, no_rest_window, START + dt.timedelta(hours=1))
    assert same_day.json()["detail"][0]["type"] == "same_matter_same_day"
    frozen.shift(dt.timedelta(seconds=61))
    day_two = book(api, sms_inbox, matter, no_rest_window, START + dt.timedelta(days=1))
    assert day_two.status_code == 201
    frozen.shift(dt.timedelta(seconds=61))
    third = book(api, sms_inbox, matter, no_rest_window, START + dt.timedelta(days=2))
    assert third.json()["detail"][0]["type"] == "too_many_bookings"
    assert Appointment.objects.filter(phone=E164).count() == 2


# --- the shortcuts under contention (on SQLite and, in CI's second pass, PostgreSQL) ----------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_first_bookings_racing_for_a_slot_without_a_row_fill_exactly_its_places(
    matter, no_rest_window
):
    """The slot's row is inserted by whichever comes first (the others' inserts are ignored on
    the unique key) and then locked by each in turn: two places, two bookings, one row."""
    outcomes = race(
        [book_online(matter, no_rest_window, START, i, START - 2 * DAY) for i in range(ATTEMPTS)]
    )
    assert sorted(outcomes) == ["full"] * (ATTEMPTS - 2) + ["won"] * 2, outcomes
    assert Appointment.objects.filter(window=no_rest_window, start=START).count() == 2
    assert no_rest_window.slots.filter(start=START).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_code_used_by_bookings_at_once_makes_one_booking(matter, no_rest_window, sms_inbox):
    """The code is spent by one UPDATE, which takes its row's lock: the others wait, then find
    it used (not a booking each)."""
    now = START - 2 * DAY
    verification_code_send(phone=MOBILE, client_address=None, now=now)
    code = sms_inbox.last_code(E164)
    refused_on = []

    def attempt(start):
        def book():
            try:
                citizen_booking_create(
                    matter=matter,
                    window=no_rest_window,
                    start=start,
                    applicant_name="李娜",
                    phone=MOBILE,
                    code=code,
                    now=now,
                )
            except ValidationError as error:
                refused_on.append([e.code for e in error.error_dict.get("code", [])])
                raise

        return book

    starts = [at(2026, 9, day, 9, 0) for day in (16, 17, 18)]
    outcomes = race([attempt(start) for start in starts])
    assert sorted(outcomes) == ["refused", "refused", "won"], outcomes
    assert refused_on == [["code_used"], ["code_used"]]
    assert Appointment.objects.filter(phone=E164).count() == 1
