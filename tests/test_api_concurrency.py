"""No overbooking through the API (issue 4): 50 citizens at once for a slot with one place.

The app runs in a real gunicorn (several worker processes, several threads each) on the test
database the suite runs on: SQLite (IMMEDIATE transactions) in the first CI pass, PostgreSQL
(SELECT ... FOR UPDATE on the slot row) in the second. The server uses the real clock, so the
slot is a really bookable one: the first free slot at least 25 h ahead.
"""

import contextlib
import datetime as dt
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from appointments.models import Appointment, Matter, Slot
from appointments.slots import window_availability
from duty.models import Window
from duty.services import HolidayDataMissing, holiday_year_import

from .conftest import roster_test_dates
from .subprocesses import Gunicorn, test_database_url

ATTEMPTS = 50
LEAD = dt.timedelta(hours=settings.BOOKING_MIN_LEAD_HOURS + 1)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """One gunicorn for the module, on the test database (created by then)."""
    folder = tmp_path_factory.mktemp("api-concurrency")
    env = {
        "DATABASE_URL": test_database_url(),
        "DEBUG": "1",
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(folder / "sms"),
        "RATE_LIMIT_BOOKING": "100000/600",
        "RATE_LIMIT_VERIFICATION": "100000/600",
        "RATE_LIMIT_LOOKUP": "100000/600",
        "VERIFICATION_CODES_PER_ADDRESS_PER_HOUR": "100000",
        "LOG_LEVEL": "WARNING",
    }
    started = Gunicorn(env=env, log_path=folder / "gunicorn.log", workers=4, threads=4)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()
        # The server cached availability answers in the database cache, which the flush after a
        # transactional test leaves alone: later tests would be answered from it. (Its rate-limit
        # counts are in a model's table, which the flush empties.)
        with django_db_blocker.unblock():
            cache.clear()


def _load_holidays(today: dt.date) -> None:
    for year in {today.year, (today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS)).year}:
        # A year chinese-calendar does not know yet: the calendar falls back to weekends.
        with contextlib.suppress(HolidayDataMissing):
            holiday_year_import(year=year)


def _first_bookable_start(window: Window) -> dt.datetime:
    """The first slot with a place left, at least 25 h ahead (24 h rule plus a margin)."""
    now = timezone.now()
    today = timezone.localdate(now)
    for available in window_availability(
        window=window,
        start_date=today,
        end_date=today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS - 1),
        not_before=now + LEAD,
    ):
        if available.remaining >= 1:
            return available.slot.start
    raise AssertionError(f"window {window} has no free slot in the booking horizon")


def _codes(server: Gunicorn, phones: list[str]) -> dict[str, str]:
    """Ask the server for a code for each number; read the newest codes from the file backend
    (file names begin with the time sent)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:

        def ask(phone):
            return client.post("/api/v1/verification-codes/", json={"phone": phone})

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(ask, phones))
    refused = [(r.status_code, r.text) for r in responses if r.status_code != 202]
    assert not refused, f"{refused[:3]}\n{server.log()}"
    wanted = {f"+86{phone}": phone for phone in phones}
    codes: dict[str, str] = {}
    deadline = time.monotonic() + 10
    while len(codes) < len(phones) and time.monotonic() < deadline:
        for path in sorted(Path(server.env["SMS_FILE_PATH"]).glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            to = text.split("\n", 1)[0].removeprefix("To: ")
            # Not \b: there is no word boundary in “验证码是123456”.
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
            if to in wanted and found:
                codes[wanted[to]] = found.group(1)
        time.sleep(0.05)
    assert len(codes) == len(phones), f"{len(codes)} codes of {len(phones)}\n{server.log()}"
    return codes


def _race(server: Gunicorn, payloads: list[dict]) -> list[httpx.Response | str]:
    """POST every payload at once, each from its own thread and connection."""
    barrier = threading.Barrier(len(payloads))
    results: list[httpx.Response | str] = [""] * len(payloads)

    def run(i: int, payload: dict) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            try:
                barrier.wait(timeout=30)
                results[i] = client.post("/api/v1/appointments/", json=payload)
            except Exception as error:  # shown in the assertion
                results[i] = repr(error)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


@pytest.fixture
def one_place(request, hall, department, make_user):
    """A matter and a no-rest window whose next bookable slot has exactly one place.

    ``first``: the window takes one booking per slot and the slot row does not exist yet (the
    racers also race to create it); ``override``: a window of two places per slot, and the
    slot row exists with its capacity set to 1 by an administrator.
    """
    _load_holidays(timezone.localdate())
    capacity = 1 if request.param == "first" else 2
    window = Window.objects.create(
        hall=hall, number="C01", name="并发测试", is_no_rest=True, capacity_per_slot=capacity
    )
    window.departments.add(department)
    # DB1403/T 5.2: off-hours slots are bookable only with someone on duty.
    roster_test_dates(window, make_user("c01", "window_staff", hall, window))
    matter = Matter.objects.create(hall=hall, name="个体工商户设立登记", materials="身份证")
    matter.departments.add(department)
    matter.windows.add(window)
    start = _first_bookable_start(window)
    if request.param == "override":
        Slot.objects.create(
            window=window, start=start, end=start + dt.timedelta(minutes=30), capacity=1
        )
    return matter, window, start


@pytest.mark.parametrize("one_place", ["first", "override"], indirect=True)
def test_fifty_simultaneous_api_bookings_of_the_last_place_give_one_201_and_49_409(
    server, one_place
):
    """DB1403/T 5.1.1 and the capacity rule "lock, recount, then create": 50 citizens POST
    /api/v1/appointments/ at the same moment for a slot with one place, against gunicorn with
    4 processes x 4 threads. Exactly one is booked (201); 49 are told the slot is full (409);
    no 5xx; exactly one booking in the database."""
    matter, window, start = one_place
    phones = [f"1390000{n:04}" for n in range(ATTEMPTS)]
    codes = _codes(server, phones)
    payloads = [
        {
            "matter": matter.pk,
            "window": window.pk,
            "start": start.isoformat(),
            "name": f"申请人{n}",
            "phone": phone,
            "code": codes[phone],
            "content": "并发预约",
        }
        for n, phone in enumerate(phones)
    ]

    results = _race(server, payloads)

    statuses = Counter(r.status_code if isinstance(r, httpx.Response) else r for r in results)
    failures = [
        r.text[:500] for r in results if isinstance(r, httpx.Response) and r.status_code >= 500
    ]
    refused = Counter(
        r.json()["detail"][0]["type"]
        for r in results
        if isinstance(r, httpx.Response) and r.status_code in (409, 422)
    )
    explain = (
        f"{dict(statuses)} {dict(refused)}\n5xx bodies: {failures[:2]}\n"
        f"gunicorn log:\n{server.log()}"
    )
    assert statuses == {201: 1, 409: ATTEMPTS - 1}, explain
    assert refused == {"slot_full": ATTEMPTS - 1}, explain
    [won] = [r.json() for r in results if r.status_code == 201]
    booked = Appointment.objects.filter(window=window, start=start)
    assert booked.count() == 1 and Appointment.objects.count() == 1, explain
    assert booked.get().reference == won["reference"]
