"""Benchmark: availability and booking as bookings accumulate, and the cost of one citizen
booking through the API against ``/healthz``.

Run with `make bench` (SQLite in a temporary file, no Redis) or `make bench-pg` (PostgreSQL: a
scratch database the script creates and drops, with Redis db 3). Prints milliseconds per call
and the ratio to the empty-database figure: the aim is that availability stays flat as bookings
grow (it reads two grouped queries), and that a booking costs the same whatever the table size
(lock one slot row, count one slot). Then ``POST /api/v1/appointments/`` and ``GET /healthz``
through Django's test client in this process, one request at a time: CPU and wall time per
request, their ratio (issue 19's target: a booking at least 25 % of ``/healthz``), and the
queries and commits of one booking.
"""

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yuyue.settings")
# As deployed (DEBUG off: no query log kept per request), reached over plain HTTP by the test
# client; the booking rate limit is raised so that it counts every request but refuses none.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("RATE_LIMIT_BOOKING", "1000000000/600")
os.environ.setdefault("CONN_MAX_AGE", "60")  # as served by gunicorn (bench/booking_load.py)

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.models import Appointment, Matter  # noqa: E402
from appointments.services import appointment_register  # noqa: E402
from appointments.slots import window_availability, window_slots  # noqa: E402
from duty.models import Department, Duty, DutyAssignment, Hall, StaffProfile, Window  # noqa: E402
from duty.rosters import off_hours_periods  # noqa: E402
from duty.services import hall_calendar_set_defaults, holiday_year_import  # noqa: E402
from sms.models import VerificationCode  # noqa: E402
from sms.phones import phone_clean  # noqa: E402
from sms.services import _code_hash  # noqa: E402

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


CODE = "123456"
# One API booking as this bench counted it before issue 19's changes (the code of de09bec): on
# PostgreSQL with Redis (rate limit, cache and task queue in Redis), and on SQLite without it
# (rate-limit row, two availability-version bumps in the database cache, the task queue's row).
BEFORE = {"postgresql": (29, 1), "sqlite": (42, 5)}


class Recorder:
    """The statements sent to the database, and what reaches it as its own transaction: each
    COMMIT of an atomic block, and each writing statement run in autocommit mode (outside any
    block). (CaptureQueriesContext cannot see into a request: request_started resets its log.)"""

    def __init__(self):
        self.commits = 0
        self.queries = []

    def __enter__(self):
        self._commit = connection._commit
        connection._commit = self._counted_commit
        self._wrapper = connection.execute_wrapper(self._autocommitted)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)
        connection._commit = self._commit

    def _counted_commit(self):
        self.commits += 1
        return self._commit()

    def _autocommitted(self, execute, sql, params, many, context):
        self.queries.append(sql)
        writes = sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        if writes and not connection.in_atomic_block:
            self.commits += 1
        return execute(sql, params, many, context)


def api_bookings(matter, windows, count):
    """``count`` online bookings' requests, each its own number (with a valid code) and slot."""
    starts = [
        (window, slot.start)
        for window in windows
        for slot in window_slots(
            window=window, start_date=dt.date(2026, 1, 8), end_date=dt.date(2026, 2, 28)
        )
    ]
    requests = []
    for i, (window, start) in enumerate(starts[:count]):
        phone = phone_clean(f"139{i:08}", mobile_only=True)
        VerificationCode.objects.create(
            phone=phone,
            code_hash=_code_hash(phone, CODE),
            created_at=NOW,
            expires_at=NOW + dt.timedelta(days=1),
        )
        requests.append(
            {
                "matter": matter.pk,
                "window": window.pk,
                "start": start.isoformat(),
                "name": "李娜",
                "phone": f"139{i:08}",
                "code": CODE,
                "content": "",
            }
        )
    return requests


def per_request(send, requests):
    """Median and total CPU and wall milliseconds per request (this process's CPU: with SQLite
    the database's work is in it, with PostgreSQL and Redis it is not)."""
    cpu, wall = [], []
    for request in requests:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        send(request)
        cpu.append((time.process_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - wall_start) * 1000)
    return statistics.median(cpu), statistics.median(wall), sum(cpu) / len(cpu)


def api_phase(matter, windows, *, count, show_queries, profile):
    """POST /api/v1/appointments/ against GET /healthz through the test client, one at a time."""
    client = Client()
    requests = api_bookings(matter, windows, count + 1)

    def post(payload):
        response = client.post("/api/v1/appointments/", payload, content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"booking answered {response.status_code}: {response.content!r}")

    def healthz(_):
        response = client.get("/healthz")
        assert response.status_code == 200

    with time_machine.travel(NOW, tick=True):
        post(requests.pop())  # warm-up: the first request imports and fills caches
        healthz(None)
        with Recorder() as recorded:
            post(requests.pop())
        for _ in range(2):
            hz_cpu, hz_wall, hz_mean = per_request(healthz, range(2000))
        profiler = cProfile.Profile(time.process_time) if profile else None
        if profiler:
            profiler.enable()
        bk_cpu, bk_wall, bk_mean = per_request(post, requests)
        if profiler:
            profiler.disable()
        hz2_cpu, hz2_wall, hz2_mean = per_request(healthz, range(2000))
    hz_cpu, hz_wall = (hz_cpu + hz2_cpu) / 2, (hz_wall + hz2_wall) / 2
    if show_queries:
        for number, sql in enumerate(recorded.queries, 1):
            print(f"  {number:>2}. {sql[:150]}")
    print()
    before_statements, before_commits = BEFORE[connection.vendor]
    print(
        f"One online booking through the API: {len(recorded.queries)} statements,"
        f" {recorded.commits} commit(s) (before issue 19, at de09bec: {before_statements}"
        f" statements, {before_commits} commits); {len(requests)} bookings timed."
    )
    print()
    print("| request | CPU per request (ms, median) | wall (ms, median) |")
    print("|---|---:|---:|")
    print(f"| `GET /healthz` | {hz_cpu:.2f} | {hz_wall:.2f} |")
    print(f"| `POST /api/v1/appointments/` | {bk_cpu:.2f} | {bk_wall:.2f} |")
    print()
    print(
        f"Booking as a share of /healthz (the throughput ratio of a CPU-bound server): "
        f"by CPU {hz_cpu / bk_cpu:.1%}, by wall time {hz_wall / bk_wall:.1%} (target >= 25 %)."
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(90)
        stats.sort_stats("tottime").print_stats(30)


def main(args):
    machine = platform_line()
    print(machine)
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
    api_phase(
        matter,
        windows[5:],
        count=args.bookings,
        show_queries=args.queries,
        profile=args.profile,
    )


def platform_line() -> str:
    import platform

    from machine import cpu_model, database_version

    cpu, database = cpu_model(), database_version(connection)
    redis = "Redis " + os.environ["REDIS_URL"] if os.environ.get("REDIS_URL") else "no Redis"
    return (
        f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()};"
        f" {database}; {redis}"
    )


def quiet_request_log():
    """The per-request log line is still formatted (as in production), but not printed here."""
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for name in ("", "yuyue.requests"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sink)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=300, help="API bookings timed")
    parser.add_argument("--queries", action="store_true", help="list one booking's queries")
    parser.add_argument("--profile", action="store_true", help="cProfile the API bookings")
    arguments = parser.parse_args()
    quiet_request_log()
    # The database named in DATABASE_URL is the scratch database itself (created, dropped).
    if connection.vendor == "postgresql":
        settings.DATABASES["default"]["TEST"]["NAME"] = settings.DATABASES["default"]["NAME"]
    old = setup_databases(verbosity=0, interactive=False)
    try:
        call_command("createcachetable", verbosity=0)
        if os.environ.get("REDIS_URL"):
            cache.clear()  # the bench's own Redis db: counters and cached answers of earlier runs
        main(arguments)
    finally:
        teardown_databases(old, verbosity=0)
