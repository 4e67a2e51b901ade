"""A cached availability answer is never stale in a way a citizen can act on (issue 19): a
booking made through the API is in the very next availability answer of another process —
gunicorn on the same database and the same cache, whose workers had the day cached — and so is
its cancellation, a slot's new capacity and a change of the calendar.

The server uses the real clock, so the slot is a really bookable one (at least 25 h ahead). Run
with the database cache and with Redis (database 9, TEST_REDIS_URL overrides it; CI has it).
"""

import contextlib
import datetime as dt
import os
import time

import httpx
import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from appointments.models import Matter, Slot
from appointments.slots import window_availability
from duty.models import CalendarDay, Window
from duty.services import HolidayDataMissing, holiday_year_import

from .conftest import missing_part
from .subprocesses import Gunicorn, test_database_url

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
LEAD = dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS + 1)
# How many answers of the other process are read after each change: with two workers, each of
# them answers some (the order of accepting connections is the kernel's).
LOOKS = 6

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(params=["database", "redis"])
def server(request, settings, tmp_path):
    """gunicorn on the test database and the same cache as this process."""
    env = {
        "DATABASE_URL": test_database_url(),
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
    }
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.flushdb()
        except redis.RedisError as error:
            missing_part(f"Redis not reachable at {REDIS_URL} ({error})")
        env["REDIS_URL"] = REDIS_URL
        settings.CACHES = {
            "default": {"BACKEND": "yuyue.cache.TolerantRedisCache", "LOCATION": REDIS_URL}
        }
    started = Gunicorn(env=env, log_path=tmp_path / "gunicorn.log", workers=2, threads=2)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()
        # The database cache is not a model's table: the flush after the test leaves it.
        cache.clear()


def _first_free_start(window: Window) -> dt.datetime:
    now = timezone.now()
    today = timezone.localdate(now)
    for available in window_availability(
        window=window,
        start_date=today,
        end_date=today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS - 1),
        not_before=now + LEAD,
    ):
        if available.remaining == available.capacity:
            return available.slot.start
    raise AssertionError(f"window {window} has no free slot in the booking horizon")


def _places(server: Gunicorn, matter: Matter, window: Window, start: dt.datetime) -> set:
    """(capacity, remaining) of the slot in each of LOOKS answers of the server (nothing if
    the slot is not offered)."""
    day = timezone.localdate(start)
    seen = set()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for _ in range(LOOKS):
            # A connection each: both workers answer.
            answer = client.get(
                "/api/v1/availability/",
                params={"matter": matter.pk, "from": str(day), "to": str(day)},
                headers={"Connection": "close"},
            )
            assert answer.status_code == 200, f"{answer.text}\n{server.log()}"
            seen |= {
                (s["capacity"], s["remaining"])
                for s in answer.json()
                if s["window"] == window.pk and s["start"] == timezone.localtime(start).isoformat()
            }
    return seen


def test_the_other_process_answers_every_committed_change_at_once(
    server, client, sms_inbox, hall, department
):
    today = timezone.localdate()
    for year in {today.year, (today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS)).year}:
        with contextlib.suppress(HolidayDataMissing):
            holiday_year_import(year=year)
    window = Window.objects.create(
        hall=hall, number="F01", name="新鲜度", is_no_rest=False, capacity_per_slot=2
    )
    window.departments.add(department)
    matter = Matter.objects.create(hall=hall, name="个体工商户设立登记", materials="身份证")
    matter.windows.add(window)
    start = _first_free_start(window)
    assert _places(server, matter, window, start) == {(2, 2)}  # now cached in the server

    phone = "13700137000"
    sent = client.post(
        "/api/v1/verification-codes/", {"phone": phone}, content_type="application/json"
    )
    assert sent.status_code == 202, sent.content
    booked = client.post(
        "/api/v1/appointments/",
        {
            "matter": matter.pk,
            "window": window.pk,
            "start": start.isoformat(),
            "name": "李娜",
            "phone": phone,
            "code": sms_inbox.last_code(f"+86{phone}"),
        },
        content_type="application/json",
    )
    answered_at = time.monotonic()
    assert booked.status_code == 201, booked.content
    assert _places(server, matter, window, start) == {(2, 1)}
    assert time.monotonic() - answered_at < 1

    cancelled = client.post(
        f"/api/v1/appointments/{booked.json()['reference']}/cancel",
        {"token": booked.json()["token"]},
        content_type="application/json",
    )
    assert cancelled.status_code == 200, cancelled.content
    assert _places(server, matter, window, start) == {(2, 2)}

    # The booking made the slot's row (its lock); an administrator gives it more places.
    Slot.objects.update_or_create(
        window=window,
        start=start,
        defaults={"end": start + dt.timedelta(minutes=30), "capacity": 4},
    )
    assert _places(server, matter, window, start) == {(4, 4)}

    CalendarDay.objects.create(
        date=timezone.localdate(start), kind=CalendarDay.Kind.HOLIDAY, name="临时休假"
    )
    assert _places(server, matter, window, start) == set()
