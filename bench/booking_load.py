"""Load benchmark: the citizen API under gunicorn on PostgreSQL (issue 4, "Benchmark").

Run with `make bench-load`. The script creates the PostgreSQL database `yuyue_bench` (dropped
and created afresh; BENCH_DATABASE_URL overrides it), migrates it, seeds a year of bookings
across 30 windows, starts gunicorn with DEBUG off on a free local port, and measures in one
run, with a small asyncio HTTP/1.1 keep-alive client (cheap, so that the client takes as little
of the machine's CPU as possible):

- the trivial `/healthz` view: the ceiling (before and after the API phases);
- `GET /api/v1/availability/` of a matter for 7 days: random weeks over the next 50 days (mostly
  computed), then the coming week (the usual question, mostly answered from the cache);
- `POST /api/v1/appointments/` with codes sent beforehand, each for a free place at least 25 h
  ahead.

Prints throughput, p50 and p95 per phase and the ratios to the ceiling (targets: availability at
least 50 %, booking at least 25 %). Results go to docs/PERFORMANCE.md by hand, with the machine.
Set REDIS_URL to measure the deployment at scale (Redis cache for rate limits and answers, Redis
task broker); without it the cache and the broker are the database.
"""

import asyncio
import datetime as dt
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yuyue_bench"
)
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
THREADS = int(os.environ.get("BENCH_THREADS", 4))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 16))
CONN_MAX_AGE = os.environ.get("BENCH_CONN_MAX_AGE", "60")
HEALTHZ_REQUESTS = int(os.environ.get("BENCH_HEALTHZ", 3000))
AVAILABILITY_REQUESTS = int(os.environ.get("BENCH_AVAILABILITY", 1000))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", 600))
WINDOWS = 30
MATTERS = 10
SMS_FOLDER = Path(tempfile.mkdtemp(prefix="yuyue-bench-sms-"))

# The server and this process read the same settings.
SERVER_ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "CONN_MAX_AGE": CONN_MAX_AGE,
    "SMS_BACKEND": "file",
    "SMS_FILE_PATH": str(SMS_FOLDER),
    "RATE_LIMIT_BOOKING": "10000000/600",
    "RATE_LIMIT_VERIFICATION": "10000000/600",
    "RATE_LIMIT_LOOKUP": "10000000/600",
    "VERIFICATION_CODES_PER_ADDRESS_PER_HOUR": "10000000",
    # The codes are sent before the run starts; the run must not outlast them.
    "VERIFICATION_CODE_MINUTES": "60",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "yuyue.settings",
}
os.environ.update(SERVER_ENV)


# --- the database -----------------------------------------------------------------------------


def database_recreate() -> None:
    import psycopg

    url = urlsplit(DATABASE_URL)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True)


def database_drop() -> None:
    import psycopg

    url = urlsplit(DATABASE_URL)
    admin = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.path.lstrip("/")}" WITH (FORCE)')


def seed():
    """A hall with 5 departments of 6 windows (20 no-rest) and 10 matters, each handled by its
    department's 6 windows; a year of bookings: 300 days back and 65 ahead, one of the two
    places of each slot taken (three slots of four ahead)."""
    from django.utils import timezone

    from appointments.models import Appointment, Matter
    from appointments.slots import windows_slots
    from duty.models import Department, Hall, Window
    from duty.services import HolidayDataMissing, hall_calendar_set_defaults, holiday_year_import

    today = timezone.localdate()
    for year in range(today.year - 1, today.year + 2):
        try:
            holiday_year_import(year=year)
        except HolidayDataMissing:
            print(f"  (no holiday data for {year}: weekends only)")
    hall = Hall.objects.create(name="阳泉市政务服务中心", code="bench", is_city_hall=True)
    hall_calendar_set_defaults(hall=hall)
    windows, matters = [], []
    for d in range(5):
        department = Department.objects.create(hall=hall, name=f"部门{d}")
        own = []
        for w in range(6):
            number = d * 6 + w
            window = Window.objects.create(
                hall=hall,
                number=f"W{number:02}",
                name=f"窗口{number}",
                is_no_rest=w < 4,
                capacity_per_slot=2,
            )
            window.departments.add(department)
            own.append(window)
        windows.extend(own)
        for m in range(2):
            matter = Matter.objects.create(
                hall=hall, name=f"事项{d}-{m}", materials="身份证原件\n申请表"
            )
            matter.departments.add(department)
            matter.windows.add(*own)
            matters.append(matter)
    now = timezone.now()
    slots = windows_slots(
        windows=windows,
        start_date=today - dt.timedelta(days=300),
        end_date=today + dt.timedelta(days=65),
    )
    matter_of = {w.pk: matters[(i // 6) * 2] for i, w in enumerate(windows)}
    rows = []
    for n, slot in enumerate(slots):
        past = slot.start < now
        if past or n % 4:  # a year: one of two places taken, every fourth future slot empty
            rows.append(
                Appointment(
                    reference=f"S{len(rows):09}",
                    channel="onsite",
                    status="served" if past else "accepted",
                    matter=matter_of[slot.window_id],
                    window_id=slot.window_id,
                    start=slot.start,
                    end=slot.end,
                    applicant_name="张伟",
                    phone=f"+86138{n % 100_000_000:08}",
                    created_at=now,
                    accepted_at=now,
                )
            )
    Appointment.objects.bulk_create(rows, batch_size=5000)
    return matters, windows, len(rows)


def booking_targets(matters, count: int) -> list[tuple[int, int, dt.datetime]]:
    """(matter, window, start) of ``count`` distinct free places at least 25 h ahead."""
    from django.utils import timezone

    from appointments.slots import windows_availability

    now = timezone.now()
    today = timezone.localdate(now)
    per_matter = -(-count // len(matters))
    targets, taken = [], set()
    for matter in matters:
        free = [
            a
            for a in windows_availability(
                windows=list(matter.windows.all()),
                start_date=today,
                end_date=today + dt.timedelta(days=55),
                not_before=now + dt.timedelta(hours=25),
            )
            if a.remaining >= 1
        ]
        # One booking per number per matter per day: every target has its own number anyway.
        # Matters of one department share its windows: each free place is a target once.
        free = [a for a in free if (a.slot.window_id, a.slot.start) not in taken][:per_matter]
        taken.update((a.slot.window_id, a.slot.start) for a in free)
        targets += [(matter.pk, a.slot.window_id, a.slot.start) for a in free]
    random.Random(4).shuffle(targets)
    return targets[:count]


def codes_send(count: int) -> list[tuple[str, str]]:
    """Send a code to ``count`` fresh mobile numbers (the file backend) and read them back."""
    from django.utils import timezone

    from sms.services import verification_code_send

    phones = [f"1390{n:07}" for n in range(count)]
    files = {}
    for phone in phones:
        message = verification_code_send(phone=phone, client_address=None, now=timezone.now())
        files[phone] = SMS_FOLDER / message.gateway_id
    pairs = []
    for phone in phones:
        code = re.search(r"(?<!\d)(\d{6})(?!\d)", files[phone].read_text(encoding="utf-8"))
        pairs.append((phone, code.group(1)))
    return pairs


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_start(port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            f"--workers={WORKERS}",
            "--worker-class=gthread",
            f"--threads={THREADS}",
            f"--bind=127.0.0.1:{port}",
            "--keep-alive=30",
            "--preload",
            "yuyue.wsgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, **SERVER_ENV},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if b" 200 " in conn.recv(200):
                    return process
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")


# --- the client: asyncio, HTTP/1.1 keep-alive -------------------------------------------------


async def _connection(port: int, requests, samples: list, statuses: Counter) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for method, path, body in requests:  # one shared iterator: each request is sent once
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        started = time.perf_counter()
        writer.write(head.encode() + b"\r\n" + body)
        status_line = await reader.readline()
        if not status_line:  # the server closed the connection: count it, reconnect
            statuses["closed"] += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        await reader.readexactly(length)
        samples.append(time.perf_counter() - started)
        statuses[int(status_line.split()[1])] += 1
        if close:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()


def load(port: int, requests: list[tuple[str, str, bytes]]) -> dict:
    samples: list[float] = []
    statuses: Counter = Counter()
    shared = iter(requests)

    async def run():
        await asyncio.gather(
            *(_connection(port, shared, samples, statuses) for _ in range(CONNECTIONS))
        )

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    samples.sort()
    return {
        "requests": len(samples),
        "rps": len(samples) / elapsed,
        "p50": statistics.median(samples) * 1000,
        "p95": samples[int(len(samples) * 0.95) - 1] * 1000,
        "statuses": dict(statuses),
    }


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    import json

    started = time.monotonic()
    print(f"database {DATABASE_URL}; python {sys.version.split()[0]}; cores {os.cpu_count()}")
    database_recreate()
    import django

    django.setup()
    from django.db import connection

    matters, windows, seeded = seed()
    print(
        f"seeded {seeded} bookings, {len(windows)} windows, {len(matters)} matters "
        f"({time.monotonic() - started:.0f} s)"
    )
    targets = booking_targets(matters, BOOKINGS)
    pairs = codes_send(len(targets))
    connection.close()
    print(f"{len(pairs)} codes sent; setup took {time.monotonic() - started:.0f} s")

    from django.utils import timezone

    today = timezone.localdate()
    rng = random.Random(7)
    availability = []
    for _ in range(AVAILABILITY_REQUESTS):
        matter = rng.choice(matters).pk
        first = today + dt.timedelta(days=rng.randrange(1, 50))
        last = first + dt.timedelta(days=6)
        path = f"/api/v1/availability/?matter={matter}&from={first}&to={last}"
        availability.append(("GET", path, b""))
    # What most citizens ask: the coming week of a matter (few distinct questions, mostly cached).
    this_week = []
    for _ in range(AVAILABILITY_REQUESTS):
        matter = rng.choice(matters).pk
        first = today + dt.timedelta(days=1)
        path = f"/api/v1/availability/?matter={matter}&from={first}&to={first + dt.timedelta(6)}"
        this_week.append(("GET", path, b""))
    bookings = [
        (
            "POST",
            "/api/v1/appointments/",
            json.dumps(
                {
                    "matter": matter,
                    "window": window,
                    "start": start.isoformat(),
                    "name": "李娜",
                    "phone": phone,
                    "code": code,
                    "content": "压力测试",
                },
                ensure_ascii=False,
            ).encode(),
        )
        for (matter, window, start), (phone, code) in zip(targets, pairs, strict=True)
    ]
    healthz = [("GET", "/healthz", b"")] * HEALTHZ_REQUESTS

    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="yuyue-bench-")) / "gunicorn.log"
    server = server_start(port, log)
    try:
        load(port, healthz[:500] + availability[:100])  # warm up workers and connections
        results = {}
        for name, requests in (
            ("healthz (ceiling)", healthz),
            ("availability 7 d", availability),
            ("availability, this wk", this_week),
            ("booking", bookings),
            ("healthz again", healthz),
        ):
            results[name] = load(port, requests)
            print(f"  {name}: {results[name]['rps']:.0f} req/s", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    ceiling = statistics.mean(
        (results["healthz (ceiling)"]["rps"], results["healthz again"]["rps"])
    )
    print(
        f"\ngunicorn -w {WORKERS} -k gthread --threads {THREADS}, DEBUG=0, "
        f"CONN_MAX_AGE={CONN_MAX_AGE}; client: {CONNECTIONS} keep-alive connections"
    )
    print(f"{'phase':<20} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}  statuses")
    for name, r in results.items():
        print(
            f"{name:<20} {r['requests']:>8} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p95']:>8.1f}"
            f"  {r['statuses']}"
        )
    avail = results["availability 7 d"]["rps"] / ceiling
    week = results["availability, this wk"]["rps"] / ceiling
    book = results["booking"]["rps"] / ceiling
    print(f"\nceiling (mean of both healthz runs): {ceiling:.0f} req/s")
    print(
        f"availability / ceiling: {avail:.0%} random weeks, {week:.0%} this week (target >= 50 %)"
    )
    print(f"booking / ceiling:      {book:.0%} (target >= 25 %)")
    if results["booking"]["statuses"] != {201: len(bookings)}:
        print(f"WARNING: not every booking was made: {results['booking']['statuses']}")
        print(f"gunicorn log: {log}")


if __name__ == "__main__":
    try:
        main()
    finally:
        if os.environ.get("BENCH_KEEP_DB") != "1":
            database_drop()
