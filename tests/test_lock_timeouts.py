"""Bounded lock waits on the booking path (issue 13, part 5): a slot or booking locked by
someone else — here a transaction held open in another thread with its own database connection —
makes every path answer "busy, try again" after BOOKING_LOCK_TIMEOUT_SECONDS (1 s here), with
nothing saved; once the lock is released the same request goes through.

On PostgreSQL the other transaction holds the slot's (or booking's) row and the waiter's
``lock_timeout`` runs out. On SQLite, where IMMEDIATE transactions take the database's write lock
at BEGIN, it holds that lock and the waiter's busy timeout runs out; the error is then the
general "busy" one, since the whole database was locked. Tests of row-level behaviour run on
PostgreSQL only (CI's second pass, DATABASE_URL=postgres://…).
"""

import datetime as dt
import threading
import time
from contextlib import contextmanager

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse

from appointments import services
from appointments.citizen import citizen_booking_create
from appointments.models import Appointment, ChangeRequest, NoShowFollowUp, Slot, Status
from appointments.slots import slot_at
from duty.models import Window
from sms.services import verification_code_send
from yuyue.locks import BusyError, locking_transaction

from .conftest import NEW_START, START, THREE_DAYS_BEFORE, roster_test_dates

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TIMEOUT = 1
ON_POSTGRESQL = connection.vendor == "postgresql"
postgresql_only = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="row locks: PostgreSQL only (SQLite locks the whole database)"
)
MOBILE, E164 = "137 0013 7000", "+8613700137000"
BUSY_TEXT = "请稍后重试"  # the end of every busy message, in the default language
SLOT_BUSY_TEXT = "该时段正在被他人预约"


@pytest.fixture(autouse=True)
def short_lock_timeout(settings, monkeypatch):
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = TIMEOUT
    # The rate limits count in the database, whose write lock the SQLite cases hold: they are
    # not what these tests are about.
    monkeypatch.setattr("appointments.api.request_rate_limited", lambda *a, **k: False)
    monkeypatch.setattr("appointments.public_views.request_rate_limited", lambda *a, **k: False)


@contextmanager
def held(lock):
    """Run ``lock`` in a transaction of another thread and connection, and keep that
    transaction open (its locks held) until the block ends."""
    locked, release = threading.Event(), threading.Event()
    errors = []

    def hold():
        try:
            with transaction.atomic():
                lock()
                locked.set()
                release.wait(timeout=60)
        except Exception as error:  # reported below
            errors.append(error)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(timeout=30) and not errors, errors
    try:
        yield
    finally:
        release.set()
        thread.join(timeout=30)


def slot_row(window, start) -> Slot:
    """The slot's row, committed, so that another transaction can lock it."""
    slot = slot_at(window=window, start=start)
    return Slot.objects.get_or_create(window=window, start=start, defaults={"end": slot.end})[0]


def slot_locked(window, start):
    slot_row(window, start)
    return held(lambda: Slot.objects.select_for_update().get(window=window, start=start))


def booking_locked(appointment):
    return held(lambda: Appointment.objects.select_for_update().get(pk=appointment.pk))


@contextmanager
def timed():
    elapsed = []
    began = time.perf_counter()
    yield elapsed
    elapsed.append(time.perf_counter() - began)


def assert_waited_the_timeout(elapsed):
    """It did wait (the lock was held), and not much longer than the limit."""
    assert TIMEOUT * 0.9 <= elapsed[0] < TIMEOUT + 4, elapsed


def expected_busy_code(row_code: str) -> str:
    return row_code if ON_POSTGRESQL else "busy"


def code_for(sms_inbox, now) -> str:
    verification_code_send(phone=MOBILE, client_address="203.0.113.7", now=now)
    return sms_inbox.last_code(E164)


# --- every service that books or moves a booking into a slot ----------------------------------


@pytest.fixture
def other_window(hall, matter, no_rest_window, make_user):
    window = Window.objects.create(hall=hall, number="A03", name="综合", is_no_rest=True)
    window.departments.add(*no_rest_window.departments.all())
    matter.windows.add(window)
    roster_test_dates(window, make_user("other", "window_staff", hall, window))
    return window


def _register(request):
    matter, window = request.getfixturevalue("matter"), request.getfixturevalue("no_rest_window")
    desk = request.getfixturevalue("desk")

    def attempt():
        services.appointment_register(
            matter=matter,
            window=window,
            start=START,
            applicant_name="张伟",
            phone="13800138000",
            channel="onsite",
            actor=desk,
            now=THREE_DAYS_BEFORE,
        )

    return attempt, (window, START), lambda: not Appointment.objects.exists()


def _book_online(request):
    matter, window = request.getfixturevalue("matter"), request.getfixturevalue("no_rest_window")
    code = code_for(request.getfixturevalue("sms_inbox"), THREE_DAYS_BEFORE)

    def attempt():
        citizen_booking_create(
            matter=matter,
            window=window,
            start=START,
            applicant_name="李娜",
            phone=MOBILE,
            code=code,
            now=THREE_DAYS_BEFORE,
        )

    # The code is not used up by the refused attempt: the second one goes through with it.
    return attempt, (window, START), lambda: not Appointment.objects.exists()


def _apply_change(request):
    change = request.getfixturevalue("change")
    window_staff = request.getfixturevalue("window_staff")
    services.change_request_approve(
        change=change, actor=request.getfixturevalue("approver"), now=START - dt.timedelta(hours=30)
    )

    def attempt():
        services.change_request_notify_and_apply(
            change=change, method="phone", actor=window_staff, now=START - dt.timedelta(hours=29)
        )

    def unchanged():
        change.refresh_from_db()
        booking = Appointment.objects.get()
        return change.state == ChangeRequest.State.APPROVED and booking.start == START

    return attempt, (change.new_window, NEW_START), unchanged


def _reassign(request):
    accepted, other = request.getfixturevalue("accepted"), request.getfixturevalue("other_window")
    head, approver = request.getfixturevalue("head"), request.getfixturevalue("approver")

    def attempt():
        services.appointment_reassign(
            appointment=accepted,
            window=other,
            reason="设备故障",
            reported_to=approver,
            actor=head,
            now=START - dt.timedelta(days=1),
        )

    return (
        attempt,
        (other, START),
        lambda: Appointment.objects.get().window_id == accepted.window_id,
    )


def _reschedule_no_show(request):
    handed_over = request.getfixturevalue("handed_over")
    window_staff = request.getfixturevalue("window_staff")
    later = START + dt.timedelta(minutes=31)
    follow_up = services.no_show_follow_up_open(appointment=handed_over, now=later)
    new_start = START + dt.timedelta(days=2)

    def attempt():
        services.no_show_follow_up_record(
            follow_up=follow_up,
            outcome=NoShowFollowUp.Outcome.RESCHEDULED,
            method="phone",
            new_start=new_start,
            actor=window_staff,
            now=later,
        )

    def unchanged():
        follow_up.refresh_from_db()
        return follow_up.outcome == "" and Appointment.objects.get().start == START

    return attempt, (handed_over.window, new_start), unchanged


# path: (set-up, error code on PostgreSQL, on SQLite). On SQLite the wait is at the outermost
# transaction's BEGIN, which the desk's registration opens itself ("slot_busy") and the others
# open before they come to the slot (the code's check, the booking's lock: "busy").
PATHS = {
    "desk registration": (_register, "slot_busy", "slot_busy"),
    "citizen booking": (_book_online, "slot_busy", "busy"),
    "change applied": (_apply_change, "slot_busy", "busy"),
    "reassignment to another window": (_reassign, "slot_busy", "busy"),
    "no-show rescheduled": (_reschedule_no_show, "slot_busy", "busy"),
}


@pytest.mark.parametrize("path", PATHS)
def test_a_held_slot_makes_every_booking_path_busy_then_free(request, path):
    """Lock, recount, then create, with a lock timeout: each service that puts a booking into a
    slot answers BusyError after about the timeout while the slot is held, changes nothing, and
    succeeds once the lock is released."""
    setup, on_postgresql, on_sqlite = PATHS[path]
    attempt, (window, start), unchanged = setup(request)

    with slot_locked(window, start), timed() as elapsed, pytest.raises(BusyError) as refused:
        attempt()

    assert_waited_the_timeout(elapsed)
    [(field, [error])] = refused.value.error_dict.items()
    assert error.code == (on_postgresql if ON_POSTGRESQL else on_sqlite), refused.value
    assert unchanged()
    attempt()
    assert not unchanged()


def test_a_staff_step_on_a_held_booking_is_busy(accepted, window_staff, approver):
    """The booking's own row: a cancellation waits for it at most the timeout."""
    cancel = dict(
        appointment=accepted,
        reason="申请人来电取消",
        at_applicants_request=True,
        actor=window_staff,
        now=START - dt.timedelta(days=1),
    )
    with booking_locked(accepted), timed() as elapsed, pytest.raises(BusyError) as refused:
        services.appointment_cancel_by_staff(**cancel)

    assert_waited_the_timeout(elapsed)
    assert refused.value.error_dict["__all__"][0].code == expected_busy_code("booking_busy")
    accepted.refresh_from_db()
    assert accepted.status == Status.ACCEPTED
    services.appointment_cancel_by_staff(**cancel)
    accepted.refresh_from_db()
    assert accepted.status == Status.CANCELLED


# --- what people see ---------------------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(THREE_DAYS_BEFORE, tick=False):
        yield


def test_api_answers_503_with_retry_after_then_books(
    client, sms_inbox, matter, no_rest_window, frozen
):
    code = code_for(sms_inbox, THREE_DAYS_BEFORE)
    payload = {
        "matter": matter.pk,
        "window": no_rest_window.pk,
        "start": START.isoformat(),
        "name": "李娜",
        "phone": MOBILE,
        "code": code,
    }

    with slot_locked(no_rest_window, START), timed() as elapsed:
        response = client.post("/api/v1/appointments/", payload, content_type="application/json")

    assert_waited_the_timeout(elapsed)
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(TIMEOUT)
    [detail] = response.json()["detail"]
    assert detail["type"] == expected_busy_code("slot_busy")
    assert detail["loc"] == ["body", "start" if ON_POSTGRESQL else "__all__"]
    assert BUSY_TEXT in detail["msg"]
    assert not Appointment.objects.exists()
    # The same request, code included, once the slot is free.
    response = client.post("/api/v1/appointments/", payload, content_type="application/json")
    assert response.status_code == 201, response.content


def test_citizen_site_shows_the_form_again_with_the_message(
    client, sms_inbox, matter, no_rest_window, frozen
):
    book_url = reverse("public:book", args=[matter.pk])
    query = f"?window={no_rest_window.pk}&start={START.isoformat()}".replace("+", "%2B")
    response = client.post(book_url + query, {"applicant_name": "李娜", "phone": MOBILE})
    assert response.status_code == 302, response.content.decode()
    code = sms_inbox.last_code(E164)

    with slot_locked(no_rest_window, START), timed() as elapsed:
        response = client.post(reverse("public:book_verify"), {"code": code})

    assert_waited_the_timeout(elapsed)
    assert response.status_code == 200
    page = response.content.decode()
    assert BUSY_TEXT in page and 'name="code"' in page
    if ON_POSTGRESQL:
        assert SLOT_BUSY_TEXT in page
    assert not Appointment.objects.exists()
    response = client.post(reverse("public:book_verify"), {"code": code})
    booking = Appointment.objects.get()
    assert response["Location"] == reverse("public:booking", args=[booking.reference])


def test_console_registration_shows_the_message(client, desk, matter, no_rest_window, frozen):
    client.force_login(desk)
    add_url = reverse("admin:appointments_appointment_add")
    data = {
        "channel": "onsite",
        "matter": matter.pk,
        "window": no_rest_window.pk,
        "start_0": "2026-09-16",
        "start_1": "12:00:00",
        "applicant_name": "张伟",
        "phone": "138 0013 8000",
    }

    with slot_locked(no_rest_window, START), timed() as elapsed:
        response = client.post(add_url, data)

    assert_waited_the_timeout(elapsed)
    if ON_POSTGRESQL:
        # The service's error, next to the time, in the form as it was filled in.
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert SLOT_BUSY_TEXT in errors["start"][0]
    else:
        # SQLite: the admin's own transaction found the database locked; the message is shown
        # above the form.
        assert response.status_code == 302 and response["Location"] == add_url
        response = client.get(add_url)
    assert BUSY_TEXT in response.content.decode()
    assert not Appointment.objects.exists()
    assert client.post(add_url, data).status_code == 302
    assert Appointment.objects.get().received_by == desk


def test_console_step_shows_the_message(client, change, approver, window_staff):
    """6.2.2: applying an approved change moves the booking into the new slot, which is held."""
    services.change_request_approve(
        change=change, actor=approver, now=START - dt.timedelta(hours=30)
    )
    client.force_login(window_staff)
    step_url = reverse(
        "admin:appointments_appointment_step", args=[change.appointment_id, "apply_change"]
    )

    with time_machine.travel(START - dt.timedelta(hours=29), tick=False):
        with slot_locked(change.new_window, NEW_START), timed() as elapsed:
            response = client.post(step_url, {"method": "phone"})

        assert_waited_the_timeout(elapsed)
        assert response.status_code == 200
        page = response.content.decode()
        assert BUSY_TEXT in page
        if ON_POSTGRESQL:
            assert SLOT_BUSY_TEXT in page
        assert Appointment.objects.get().start == START
        assert client.post(step_url, {"method": "phone"}).status_code == 302
    assert Appointment.objects.get().start == NEW_START


# --- PostgreSQL: row locks, and the setting's scope ---------------------------------------------


@postgresql_only
def test_other_slots_are_booked_without_waiting(matter, no_rest_window, desk):
    """Only the held slot waits: a booking of the next slot of the same window goes through at
    once."""
    with slot_locked(no_rest_window, START), timed() as elapsed:
        services.appointment_register(
            matter=matter,
            window=no_rest_window,
            start=START + dt.timedelta(minutes=30),
            applicant_name="张伟",
            phone="13800138000",
            channel="onsite",
            actor=desk,
            now=THREE_DAYS_BEFORE,
        )
    assert elapsed[0] < TIMEOUT / 2, elapsed


@postgresql_only
def test_lock_timeout_is_set_for_the_transaction_only(db):
    def lock_timeout():
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            return cursor.fetchone()[0]

    with locking_transaction():
        assert lock_timeout() == "1s"
    with transaction.atomic():
        assert lock_timeout() == "0"


@pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite's busy timeout")
def test_sqlite_busy_timeout_is_restored_after_a_booking_transaction(db):
    def busy_timeout():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            return cursor.fetchone()[0]

    configured = busy_timeout()
    assert configured == 20_000
    with locking_transaction():
        assert busy_timeout() == TIMEOUT * 1000
    assert busy_timeout() == configured
