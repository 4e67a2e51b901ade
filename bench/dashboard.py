"""Benchmark: the supervisors' dashboard over a year of 250 000 bookings.

Run with `make bench-dashboard`: seeds `manage.py seed_demo --bookings 250000` into a SQLite file
in /tmp (kept between runs: delete it to seed again), or into the database DATABASE_URL names
(use your own database name on PostgreSQL; it is created if missing and kept), then requests the
dashboard page 60 times with varied filters through the test client (server time: view, queries
and template, no network) and prints p50/p95 in ms and the queries per request.

    BENCH_BOOKINGS=20000 .venv/bin/python bench/dashboard.py      # a quicker run
"""

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "250000"))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:////tmp/yuyue-bench-dashboard-{BOOKINGS}.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yuyue.settings")
os.environ.setdefault("DEBUG", "1")  # the static files storage without a manifest

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.models import Appointment  # noqa: E402
from duty.models import Department, Hall, Window  # noqa: E402

REQUESTS = 60


def ensure_database():
    url = os.environ["DATABASE_URL"]
    if url.startswith("postgres"):
        import psycopg

        name = connection.settings_dict["NAME"]
        admin = {**connection.settings_dict, "NAME": "postgres"}
        with psycopg.connect(
            dbname="postgres",
            user=admin["USER"],
            host=admin["HOST"] or None,
            port=admin["PORT"] or None,
            password=admin["PASSWORD"] or None,
            autocommit=True,
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if not Appointment.objects.filter(reference__startswith="SD").exists():
        started = time.monotonic()
        call_command("seed_demo", bookings=BOOKINGS, seed=1)
        print(f"seed_demo --bookings {BOOKINGS}: {time.monotonic() - started:.0f} s")


def variants(hall):
    today = timezone.localdate()
    departments = list(Department.objects.filter(hall=hall))
    windows = list(Window.objects.filter(hall=hall))
    spans = [7, 30, 90, 365]
    result = []
    for i in range(REQUESTS):
        span = spans[i % len(spans)]
        end = today - dt.timedelta(days=1 + (i * 3) % 20)
        params = {"start": (end - dt.timedelta(days=span - 1)).isoformat(), "end": end.isoformat()}
        if i % 3 == 1:
            params["department"] = departments[i % len(departments)].pk
        elif i % 3 == 2:
            params["window"] = windows[i % len(windows)].pk
        result.append(params)
    return result


def main():
    ensure_database()
    hall = Hall.objects.get(code="yangquan-city")
    total = Appointment.objects.filter(window__hall=hall).count()
    supervisor = get_user_model().objects.get(username="supervisor")
    client = Client()
    client.force_login(supervisor)
    client.get("/admin/dashboard/")  # warm up
    times, queries, by_span = [], [], {}
    for params in variants(hall):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/admin/dashboard/", params)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (params, response.status_code)
        times.append(elapsed)
        queries.append(len(captured.captured_queries))
        days = (dt.date.fromisoformat(params["end"]) - dt.date.fromisoformat(params["start"])).days
        by_span.setdefault(days + 1, []).append(elapsed)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"database: {connection.vendor}, {total} bookings in the hall")
    print(
        f"dashboard, {len(times)} requests: p50 {statistics.median(times):.0f} ms, "
        f"p95 {p95:.0f} ms, max {times[-1]:.0f} ms; queries per request {min(queries)}–"
        f"{max(queries)}"
    )
    for span, values in sorted(by_span.items()):
        print(f"  period of {span:>3} days: median {statistics.median(values):.0f} ms")


if __name__ == "__main__":
    main()
