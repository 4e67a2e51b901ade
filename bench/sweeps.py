"""Benchmark: the background sweeps over a large bookings table.

Run with `make bench-sweeps` (SQLite in a temporary file) or with DATABASE_URL set (PostgreSQL).
Seeds 1 000 and then 100 000 bookings of which the same 40 are due for something (reminders,
unconfirmed online bookings, no-shows, hand-over); runs each sweep with a fixed `now` and prints
its time and query count. The aim: queries constant, time driven by what is due, not by the table.
"""

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yuyue.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.models import Appointment, Channel, Matter, Status  # noqa: E402
from duty.models import Department, Hall, StaffProfile, Window  # noqa: E402
from duty.services import hall_calendar_set_defaults, holiday_year_import  # noqa: E402
from sms.models import Alert, Message  # noqa: E402
from yuyue.sweeps import SWEEPS  # noqa: E402

TZ = timezone.get_default_timezone()
NOW = dt.datetime(2026, 6, 15, 18, 30, tzinfo=TZ)  # a Monday evening
SIZES = (1_000, 100_000)


def setup():
    holiday_year_import(year=2026)
    hall = Hall.objects.create(name="bench", code="bench", phone="0353-1")
    hall_calendar_set_defaults(hall=hall)
    department = Department.objects.create(hall=hall, name="dept")
    head = User.objects.create_user("head", password="x", is_staff=True)
    head.groups.add(Group.objects.get(name="window_head"))
    StaffProfile.objects.create(user=head, hall=hall)
    desk = User.objects.create_user("desk", password="x", is_staff=True)
    desk.groups.add(Group.objects.get(name="desk"))
    StaffProfile.objects.create(user=desk, hall=hall)
    matter = Matter.objects.create(hall=hall, name="matter", materials="身份证")
    matter.departments.add(department)
    windows = [
        Window.objects.create(hall=hall, number=f"W{i:02}", name="w", is_no_rest=True, head=head)
        for i in range(30)
    ]
    matter.windows.add(*windows)
    return matter, windows, desk


def booking(n, matter, window, start, status, **fields):
    return Appointment(
        reference=f"B{n:07d}",
        channel=fields.pop("channel", Channel.ONSITE),
        status=status,
        matter=matter,
        window=window,
        start=start,
        end=start + dt.timedelta(minutes=30),
        applicant_name="张三",
        phone=f"+86139{n:08d}",
        created_at=fields.pop("created_at", start - dt.timedelta(days=5)),
        accepted_at=fields.pop("accepted_at", start - dt.timedelta(days=5)),
        window_head=window.head,
        **fields,
    )


def seed_due(matter, windows, desk):
    """40 bookings due for something at NOW, the same in every run."""
    rows = []
    tomorrow = dt.datetime(2026, 6, 16, 12, 0, tzinfo=TZ)
    for i in range(10):
        window = windows[i]
        rows.append(booking(9_000_000 + i, matter, window, tomorrow, Status.HANDED_OVER))
        rows.append(
            booking(
                9_000_100 + i,
                matter,
                window,
                tomorrow + dt.timedelta(days=1),
                Status.PENDING,
                channel=Channel.ONLINE,
                created_at=NOW - dt.timedelta(days=1),
                accepted_at=None,
            )
        )
        rows.append(
            booking(9_000_200 + i, matter, window, NOW - dt.timedelta(hours=1), Status.HANDED_OVER)
        )
        rows.append(
            booking(
                9_000_300 + i,
                matter,
                window,
                tomorrow + dt.timedelta(days=3),
                Status.ACCEPTED,
                accepted_at=NOW - dt.timedelta(hours=1),
                received_by=desk,
            )
        )
    Appointment.objects.bulk_create(rows)


def seed_bulk(matter, windows, count, offset):
    """Bookings due for nothing: served in the past year or handed over for next autumn."""
    rows = []
    past, future = dt.datetime(2025, 7, 1, 12, tzinfo=TZ), dt.datetime(2026, 9, 1, 12, tzinfo=TZ)
    for n in range(count):
        window = windows[n % len(windows)]
        day = dt.timedelta(days=(n // len(windows)) % 300)
        if n % 2:
            rows.append(booking(offset + n, matter, window, past + day, Status.SERVED))
        else:
            rows.append(booking(offset + n, matter, window, future + day, Status.HANDED_OVER))
        if len(rows) == 5000:
            Appointment.objects.bulk_create(rows)
            rows = []
    Appointment.objects.bulk_create(rows)


def run():
    matter, windows, desk = setup()
    seed_due(matter, windows, desk)
    results = {}
    seeded = 0
    for size in SIZES:
        seed_bulk(matter, windows, size - seeded, offset=seeded)
        seeded = size
        for name, sweep in SWEEPS.items():
            Alert.objects.all().delete()
            Message.objects.all().delete()
            Appointment.objects.filter(reference__startswith="B09002").update(
                status=Status.HANDED_OVER
            )
            from appointments.models import NoShowFollowUp

            NoShowFollowUp.objects.all().delete()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                outcome = sweep(now=NOW)
                elapsed = (time.perf_counter() - started) * 1000
            results[(name, size)] = (elapsed, len(queries.captured_queries), outcome)
    print(f"database: {connection.vendor}; bookings {SIZES[0]:,} and {SIZES[-1]:,} (+40 due)")
    print(f"{'sweep':<12} {'ms @1k':>8} {'ms @100k':>9} {'ratio':>6} {'queries':>12}  result")
    for name in SWEEPS:
        small, large = results[(name, SIZES[0])], results[(name, SIZES[-1])]
        print(
            f"{name:<12} {small[0]:8.1f} {large[0]:9.1f} {large[0] / small[0]:6.2f} "
            f"{small[1]:>5} → {large[1]:<5}  {large[2]}"
        )


if __name__ == "__main__":
    old = setup_databases(verbosity=0, interactive=False)
    try:
        run()
    finally:
        teardown_databases(old, verbosity=0)
