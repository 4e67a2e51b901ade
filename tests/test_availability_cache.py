"""The API's availability answers, assembled from cached pieces of one matter and one day
(appointments/availability_cache.py), are the answers computed afresh, byte for byte, and a
committed change to a booking, a slot, a window or the calendar is in the next answer of this
process (for another process's view see tests/test_availability_fresh.py)."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from appointments.api import SLOTS_JSON, SlotOut
from appointments.availability_cache import availability_local_clear
from appointments.models import Appointment, Slot, Status
from appointments.slots import windows_availability
from duty.models import CalendarDay

from .conftest import START, at

NOW = START - dt.timedelta(days=3)  # Sunday 2026-09-13 12:00; START is Wednesday 12:00


@pytest.fixture
def api(client, db):
    cache.clear()
    availability_local_clear()
    return client


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def computed(matter, date_from: dt.date, date_to: dt.date) -> bytes:
    """The answer as the endpoint computed it before it was cached in pieces."""
    now = timezone.now()
    windows = list(matter.windows.filter(is_active=True).order_by("number"))
    names = {w.pk: str(w) for w in windows}
    slots = windows_availability(
        windows=windows,
        start_date=max(date_from, timezone.localdate(now)),
        end_date=date_to,
        not_before=now + dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS),
    )
    return SLOTS_JSON.dump_json(
        [
            SlotOut(
                window=a.slot.window_id,
                window_name=names[a.slot.window_id],
                start=a.slot.start,
                end=a.slot.end,
                capacity=a.capacity,
                remaining=a.remaining,
                time_kind=a.slot.time_kind,
                holiday_name=a.slot.holiday_name,
                provisional_holiday=a.slot.provisional,
            )
            for a in slots
        ]
    )


def answered(api, matter, date_from: dt.date, date_to: dt.date) -> bytes:
    response = api.get(
        "/api/v1/availability/", {"matter": matter.pk, "from": date_from, "to": date_to}
    )
    assert response.status_code == 200, response.content
    return response.content


def booking_at(matter, window, start: dt.datetime, status=Status.ACCEPTED) -> Appointment:
    return Appointment.objects.create(
        reference=f"T{Appointment.objects.count():09}",
        channel="online",
        status=status,
        matter=matter,
        window=window,
        start=start,
        end=start + dt.timedelta(minutes=window.slot_minutes),
        applicant_name="李娜",
        phone="+8613700137000",
        created_at=timezone.now(),
        accepted_at=timezone.now(),
        cancelled_at=timezone.now() if status == Status.CANCELLED else None,
    )


RANGES = [
    (dt.date(2026, 9, 13), dt.date(2026, 9, 19)),  # today and the day the 24 h lead ends in
    (dt.date(2026, 9, 10), dt.date(2026, 9, 14)),  # from the past
    (dt.date(2026, 9, 16), dt.date(2026, 9, 16)),
    (dt.date(2026, 9, 28), dt.date(2026, 10, 10)),  # National Day (DB1403/T 4), a workday Sat
    (dt.date(2026, 9, 14), dt.date(2026, 10, 14)),  # the longest range
]


def test_assembled_answers_equal_the_computed_ones_byte_for_byte(
    api, matter, no_rest_window, regular_window, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking_at(matter, no_rest_window, START)
        booking_at(matter, no_rest_window, START)  # full
        booking_at(matter, regular_window, START + dt.timedelta(hours=3))
        booking_at(matter, regular_window, START + dt.timedelta(hours=4), Status.CANCELLED)
        Slot.objects.create(
            window=regular_window,
            start=START + dt.timedelta(hours=5),
            end=START + dt.timedelta(hours=5, minutes=30),
            capacity=3,
        )
    for date_from, date_to in RANGES:
        assert answered(api, matter, date_from, date_to) == computed(matter, date_from, date_to)
    # The lead's end moves within the minute and across it; answers of one minute are shared.
    for seconds in (1, 59, 60, 61, 30 * 60):
        frozen.shift(dt.timedelta(seconds=seconds))
        for date_from, date_to in RANGES[:2]:
            assert answered(api, matter, date_from, date_to) == computed(
                matter, date_from, date_to
            ), (seconds, date_from)


def test_a_committed_change_is_in_the_next_answer(
    api, matter, no_rest_window, regular_window, frozen, django_capture_on_commit_callbacks
):
    """A booking, a cancellation, a move, a slot's capacity, a window, the calendar: each
    committed change shows in the very next answer, also when every day was cached before."""
    week = (dt.date(2026, 9, 14), dt.date(2026, 9, 20))

    def fresh() -> bytes:
        cached = answered(api, matter, *week)
        assert cached == computed(matter, *week)
        return cached

    def changed(change) -> None:
        before = fresh()
        with django_capture_on_commit_callbacks(execute=True):
            change()
        assert fresh() != before, change

    booked = []
    changed(
        lambda: booked.append(booking_at(matter, regular_window, START + dt.timedelta(hours=3)))
    )
    changed(lambda: Appointment.objects.filter(pk=booked[0].pk).first().delete())
    with django_capture_on_commit_callbacks(execute=True):
        moving = booking_at(matter, regular_window, START + dt.timedelta(hours=-2))

    def move():
        moving.start = START + dt.timedelta(days=1, hours=-2)
        moving.end = moving.start + dt.timedelta(minutes=30)
        moving.save(update_fields=["start", "end"])

    changed(move)

    def cancel():
        moving.status, moving.cancelled_at = Status.CANCELLED, timezone.now()
        moving.save(update_fields=["status", "cancelled_at"])

    changed(cancel)
    changed(
        lambda: Slot.objects.create(
            window=regular_window,
            start=START + dt.timedelta(hours=2),
            end=START + dt.timedelta(hours=2, minutes=30),
            capacity=5,
        )
    )
    changed(
        lambda: CalendarDay.objects.create(
            date=START.date(), kind=CalendarDay.Kind.HOLIDAY, name="临时休假"
        )
    )

    def close_window():
        regular_window.is_active = False
        regular_window.save()

    changed(close_window)


def test_a_note_on_a_booking_keeps_its_day_cached(
    api, matter, regular_window, frozen, django_capture_on_commit_callbacks
):
    """Confirming, contacting or noting a booking does not change its place: the day's piece
    stays valid (no recount)."""
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_at(matter, regular_window, START)
    answered(api, matter, START.date(), START.date())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking.remarks = "带齐材料"
        booking.save(update_fields=["remarks"])
    assert not callbacks


def test_a_booking_makes_only_its_own_day_stale(
    api,
    matter,
    regular_window,
    frozen,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    """With 5 % of requests booking, a change that made every cached answer stale would leave
    nearly none: a booking (and the slot row its lock makes) changes its day's piece alone.
    The cache here is the database's: reading it is one query."""
    this_week, next_week = (
        (START.date(), START.date()),
        (
            START.date() + dt.timedelta(days=7),
            START.date() + dt.timedelta(days=13),
        ),
    )
    answered(api, matter, *this_week)
    answered(api, matter, *next_week)
    with django_capture_on_commit_callbacks(execute=True):
        booking_at(matter, regular_window, START + dt.timedelta(hours=3))
        Slot.objects.create(
            window=regular_window,
            start=START + dt.timedelta(hours=3),
            end=START + dt.timedelta(hours=3, minutes=30),
        )
    with django_assert_num_queries(1):  # the version and tokens: every day still cached
        answered(api, matter, *next_week)
    with django_assert_max_num_queries(3):  # and the booked day's capacities and count
        fresh = answered(api, matter, *this_week)
    assert fresh == computed(matter, *this_week)


def test_a_duty_opened_with_nobody_on_it_keeps_every_answer_cached(
    no_rest_window, django_capture_on_commit_callbacks
):
    """DB1403/T 4: a booking for a holiday period opens its duty, with nobody on it yet: no
    slot changes until someone is put on it (which makes the answers stale: test_signals)."""
    from appointments.slots import availability_version
    from duty.models import Duty

    before = availability_version()
    with django_capture_on_commit_callbacks(execute=True):
        Duty.objects.create(
            window=no_rest_window,
            date=dt.date(2026, 10, 2),
            start=at(2026, 10, 2, 9, 0),
            end=at(2026, 10, 2, 12, 0),
            head=no_rest_window.head,
            opened_by_booking=True,
        )
    assert availability_version() == before


def test_a_step_on_a_booking_within_the_24_hour_lead_makes_nothing_stale(
    matter, regular_window, frozen, django_capture_on_commit_callbacks
):
    """DB1403/T 5.1.1: availability shows nothing starting within 24 h, so the desk's steps on
    today's bookings (arrived, served, missed) leave every cached day as it is."""
    soon = NOW + dt.timedelta(hours=23)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking = booking_at(matter, regular_window, soon)
        booking.status = Status.SERVED
        booking.save(update_fields=["status"])
    assert not callbacks
