"""Benchmark: the supervisors' dashboard over a year of 250 000 bookings, and at city scale.

    make bench-dashboard        # SQLite file in /tmp, no Redis
    make bench-dashboard-pg     # PostgreSQL (yuyue_bench_dash_…) + Redis db 6
    make bench-dashboard-city   # PostgreSQL, 2 500 000 bookings over 20 halls

Each run seeds the data once (``seed_demo --bookings 250000 --seed 1``; the city through
``seed_city``) into a database named after SEED_VERSION and the size, KEPT between runs (pass
``--drop`` to drop it first, or delete the SQLite file), then — every run — analyses the tables
(ANALYZE, as autovacuum would in production), makes the dashboard's per-day summary as the
worker's sweep would (timed) and analyses again, and requests ``/admin/dashboard/`` through the
test client (server time: view, queries and template, no network) with periods of 7, 30, 90 and
365 days, a third for the whole hall, a third by department, a third by window. It prints
p50/p95 by period and scope as a Markdown table, with the machine. At city scale it then
measures each hall's year and a city supervisor's city-wide view ("all halls": the year and the
last 30 days, with their queries).

    BENCH_BOOKINGS=20000 .venv/bin/python bench/dashboard.py      # a quicker run
"""

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Bump when seed_demo / seed_city change what they write: a kept database is then seeded anew.
SEED_VERSION = 2
parser = argparse.ArgumentParser()
parser.add_argument("--pg", action="store_true", help="PostgreSQL (and Redis) instead of SQLite")
parser.add_argument("--city", action="store_true", help="2 500 000 bookings over 20 halls")
parser.add_argument("--drop", action="store_true", help="drop the kept database, seed anew")
parser.add_argument("--requests", type=int, default=60)
ARGS = parser.parse_args()
CITY = ARGS.city
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "2500000" if CITY else "250000"))
PG = ARGS.pg or CITY
NAME = f"yuyue_bench_dash_{'city_' if CITY else ''}v{SEED_VERSION}_{BOOKINGS}"
if PG:
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{NAME}"
    )
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")
else:
    os.environ["DATABASE_URL"] = f"sqlite:////tmp/{NAME}.sqlite3"
    os.environ.pop("REDIS_URL", None)
    if ARGS.drop:
        Path(f"/tmp/{NAME}.sqlite3").unlink(missing_ok=True)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yuyue.settings")
os.environ.setdefault("DEBUG", "1")  # the static files storage without a manifest

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.models import Appointment  # noqa: E402
from duty.models import Department, Hall, Window  # noqa: E402
from evaluation.reporting.summary import summary_refresh  # noqa: E402

SPANS = [7, 30, 90, 365]


def _admin_connection():
    import psycopg

    settings_dict = connection.settings_dict
    return psycopg.connect(
        dbname="postgres",
        user=settings_dict["USER"],
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        password=settings_dict["PASSWORD"] or None,
        autocommit=True,
    )


def ensure_database():
    if PG:
        name = connection.settings_dict["NAME"]
        with _admin_connection() as conn:
            if ARGS.drop:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        cache.clear()  # this benchmark's own Redis db
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if not Appointment.objects.exists():
        started = time.monotonic()
        if CITY:
            call_command("seed_city", bookings=BOOKINGS, seed=1)
        else:
            call_command("seed_demo", bookings=BOOKINGS, seed=1)
        print(f"seeded {BOOKINGS} bookings: {time.monotonic() - started:.0f} s")
    else:
        print(f"seeded database kept: {connection.settings_dict['NAME']}")


def analyse():
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.monotonic() - started


def variants(halls, requests):
    today = timezone.localdate()
    result = []
    for i in range(requests):
        hall = halls[i % len(halls)]
        departments = list(Department.objects.filter(hall=hall).order_by("pk"))
        windows = list(Window.objects.filter(hall=hall).order_by("pk"))
        span = SPANS[i % len(SPANS)]
        end = today - dt.timedelta(days=1 + (i * 3) % 20)
        params = {
            "hall": hall.pk,
            "start": (end - dt.timedelta(days=span - 1)).isoformat(),
            "end": end.isoformat(),
        }
        scope = "hall"
        if i % 3 == 1:
            params["department"] = departments[i % len(departments)].pk
            scope = "department"
        elif i % 3 == 2:
            params["window"] = windows[i % len(windows)].pk
            scope = "window"
        result.append((span, scope, params))
    return result


def p95(values):
    values = sorted(values)
    return values[max(0, int(len(values) * 0.95 + 0.5) - 1)]


def measure(client, plan):
    results = []
    for span, scope, params in plan:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/admin/dashboard/", params)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (params, response.status_code)
        results.append((span, scope, elapsed, len(captured.captured_queries)))
    return results


def machine():
    from machine import cpu_model, database_version

    cpu, version = cpu_model(), database_version(connection)
    return (
        f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; {version}; "
        f"Redis {'on' if os.environ.get('REDIS_URL') else 'off'}; load {os.getloadavg()[0]:.1f}"
    )


def table(results, title):
    print(f"\n{title}\n")
    print("| scope | p50 | p95 | 7 days | 30 days | 90 days | 365 days | queries |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for scope in ("all", "hall", "department", "window"):
        rows = [r for r in results if scope == "all" or r[1] == scope]
        if not rows:
            continue
        times = [r[2] for r in rows]
        by_span = []
        for span in SPANS:
            values = [r[2] for r in rows if r[0] == span]
            by_span.append(f"{statistics.median(values):.0f} ms" if values else "–")
        queries = sorted({r[3] for r in rows})
        print(
            f"| {scope} | {statistics.median(times):.0f} ms | {p95(times):.0f} ms | "
            f"{' | '.join(by_span)} | {queries[0]}–{queries[-1]} |"
        )


def main():
    ensure_database()
    analysed = analyse()
    started = time.monotonic()
    made = summary_refresh(now=timezone.now())
    refreshed = time.monotonic() - started
    started = time.monotonic()
    summary_refresh(now=timezone.now())  # a minute later: nothing stale, nothing new
    again = time.monotonic() - started
    analysed += analyse()  # the summary's new tables too, as autovacuum would
    if CITY:
        halls = list(Hall.objects.filter(windows__isnull=False).distinct().order_by("pk"))
    else:
        halls = [Hall.objects.get(code="yangquan-city")]
    total = Appointment.objects.count()
    supervisor = get_user_model().objects.get(username="supervisor")
    client = Client()
    client.force_login(supervisor)
    client.get("/admin/dashboard/")  # warm up
    results = measure(client, variants(halls, ARGS.requests))
    print(f"\nmachine: {machine()}")
    print(
        f"data: {total} bookings in {len(halls)} hall(s); ANALYZE {analysed:.1f} s; summary "
        f"made in {refreshed:.1f} s ({made} window-days), sweep with nothing to do {again:.2f} s"
    )
    table(results, f"`/admin/dashboard/`, {len(results)} requests (server time)")
    times = [r[2] for r in results]
    target = 500 if CITY else (300 if connection.vendor == "postgresql" else 500)
    if CITY:
        hall_years(client, halls, target)
        city_wide(client, halls)
    else:
        print(f"\np95 {p95(times):.0f} ms; target {target} ms: ratio {p95(times) / target:.2f}")


def hall_years(client, halls, target):
    """Each hall's whole year (the last 365 days), whole hall, twice round the city."""
    today = timezone.localdate()
    params = {
        "start": (today - dt.timedelta(days=365)).isoformat(),
        "end": (today - dt.timedelta(days=1)).isoformat(),
    }
    times = []
    for _round in range(2):
        for hall in halls:
            started = time.perf_counter()
            assert client.get("/admin/dashboard/", {**params, "hall": hall.pk}).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    print(
        f"\na hall's year, whole hall ({len(times)} requests over {len(halls)} halls): "
        f"p50 {statistics.median(times):.0f} ms, p95 {p95(times):.0f} ms (target {target} ms)"
    )


def city_wide(client, halls):
    """A city supervisor's view of every hall together ("all halls"): the last 365 and the last
    30 days, 10 requests each, with their queries (target 1 000 ms p95 for the year)."""
    today = timezone.localdate()
    for days in (365, 30):
        params = {
            "start": (today - dt.timedelta(days=days)).isoformat(),
            "end": (today - dt.timedelta(days=1)).isoformat(),
            "hall": "all",
        }
        times, queries = [], set()
        for _request in range(10):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get("/admin/dashboard/", params)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            queries.add(len(captured.captured_queries))
        print(
            f"city-wide view, all {len(halls)} halls, {days} days ({len(times)} requests): "
            f"p50 {statistics.median(times):.0f} ms, p95 {p95(times):.0f} ms, "
            f"{min(queries)}–{max(queries)} queries"
            + (f" (target 1 000 ms: ratio {p95(times) / 1000:.2f})" if days == 365 else "")
        )


if __name__ == "__main__":
    main()
