"""Benchmark: availability and booking as bookings accumulate.

Run with `make bench` (SQLite in a temporary file) or with DATABASE_URL set (e.g. PostgreSQL;
the database named there is created and dropped by the script's test-database machinery).
Prints milliseconds per call and the ratio to the empty-database figure: the aim is that
availability stays flat as bookings grow (it reads two grouped queries), and that a booking costs
the same whatever the table size (lock one slot row, count one slot).
"""

import datetime as dt
import os
import statistics
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
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.models import Appointment, Matter  # noqa: E402
from appointments.services import appointment_register  # noqa: E402
from appointments.slots import window_availability, window_slots  # noqa: E402
from duty.models import Department, Duty, DutyAssignment, Hall, StaffProfile, Window  # noqa: E402
from duty.rosters import off_hours_periods  # noqa: E402
from duty.services import hall_calendar_set_defaults, holiday_year_import  # noqa: E402

NOW = dt.datetime(2026, 1, 5, 8, 0, tzinfo=timezone.get_default_timezone())
SIZES = (0, 1_000, 10_000)


def timed(fn, repeat):
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def setup():
    holiday_year_import(year=2026)
    hall = Hall.objects.create(name="bench", code="bench")
    hall_calendar_set_defaults(hall=hall)
    department = Department.objects.create(hall=hall, name="dept")
    matter = Matter.objects.create(hall=hall, name="matter")
    matter.departments.add(department)
    windows = []
    for i in range(40):
        window = Window.objects.create(
            hall=hall, number=f"W{i:02}", name="w", is_no_rest=True, capacity_per_slot=2
        )
        window.departments.add(department)
        windows.append(window)
    matter.windows.add(*windows)
    roster(hall, windows)
    desk = User.objects.create_user("desk", password="x")
    desk.groups.add(Group.objects.get(name="desk"))
    StaffProfile.objects.create(user=desk, hall=hall)
    return matter, windows, User.objects.get(pk=desk.pk)


def roster(hall, windows):
    """DB1403/T 5.2: off-hours slots are bookable only with someone on duty: one staff member
    per window on every off-hours period of the year (holidays are by appointment)."""
    periods = [
        p
        for p in off_hours_periods(
            hall_ids=[hall.pk], start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
        )[hall.pk]
        if not p.is_holiday
    ]
    for window in windows:
        staff = User.objects.create_user(f"staff-{window.number}", password="x")
        StaffProfile.objects.create(user=staff, hall=hall, window=window)
        Duty.objects.bulk_create(
            Duty(window=window, date=p.date, start=p.start, end=p.end) for p in periods
        )
        DutyAssignment.objects.bulk_create(
            DutyAssignment(duty=duty, staff=staff, is_receiving=True)
            for duty in Duty.objects.filter(window=window)
        )


def fill(windows, total):
    """Bulk-insert bookings spread over the other windows (the measured window stays empty)."""
    existing = Appointment.objects.count()
    rows = []
    for window in windows[1:]:
        for slot in window_slots(
            window=window, start_date=dt.date(2026, 1, 6), end_date=dt.date(2026, 12, 30)
        ):
            if existing + len(rows) >= total:
                break
            rows.append(
                Appointment(
                    reference=f"B{existing + len(rows):07}",
                    channel="onsite",
                    status="accepted",
                    matter_id=1,
                    window=window,
                    start=slot.start,
                    end=slot.end,
                    applicant_name="x",
                    phone="+8613800138000",
                    created_at=NOW,
                    accepted_at=NOW,
                )
            )
    Appointment.objects.bulk_create(rows, batch_size=2000)


def main():
    print(f"database: {connection.vendor}; python {sys.version.split()[0]}; cores {os.cpu_count()}")
    matter, windows, desk = setup()
    measured = windows[0]
    slots = iter(
        window_slots(window=measured, start_date=dt.date(2026, 1, 7), end_date=dt.date(2026, 3, 1))
    )
    base = {}
    header = ("bookings", "availability 60 d (ms)", "ratio", "register (ms)", "ratio")
    print("{:>9} {:>24} {:>6} {:>14} {:>6}".format(*header))
    for size in SIZES:
        fill(windows, size)
        avail = timed(
            lambda: window_availability(
                window=measured,
                start_date=dt.date(2026, 1, 6),
                end_date=dt.date(2026, 3, 6),
                not_before=NOW,
            ),
            repeat=20,
        )

        def book():
            slot = next(slots)
            appointment_register(
                matter=matter,
                window=measured,
                start=slot.start,
                applicant_name="张伟",
                phone="13800138000",
                channel="onsite",
                actor=desk,
                now=NOW,
                allow_duplicate=True,  # one caller, many bookings: the bench measures the path
            )

        register = timed(book, repeat=30)
        base.setdefault("avail", avail)
        base.setdefault("register", register)
        print(
            f"{Appointment.objects.count():>9} {avail:>24.2f} {avail / base['avail']:>6.2f}"
            f" {register:>14.2f} {register / base['register']:>6.2f}"
        )


if __name__ == "__main__":
    old = setup_databases(verbosity=0, interactive=False)
    try:
        call_command("createcachetable", verbosity=0)
        main()
    finally:
        teardown_databases(old, verbosity=0)
