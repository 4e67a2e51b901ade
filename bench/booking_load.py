"""Load benchmark: the citizen API under gunicorn, driven by wrk (issues 4 and 19).

`make bench-load` runs it on SQLite (a file in a temporary directory) without Redis: the cache,
rate limits and task queue in the database. `make bench-load-pg` runs it on PostgreSQL (the
scratch database `yuyue_bench_load`, created afresh and dropped afterwards; BENCH_DATABASE_URL
overrides it) with Redis (BENCH_REDIS_URL, default database 2, flushed first) for the cache,
rate limits and task queue, as deployed at scale.

It seeds one hall of 30 windows (20 no-rest, 2 places per 30-minute slot) and 10 matters with a
year of bookings (~150 000: 300 days back, 65 ahead, one of the two places of three slots in four
taken), sends the verification codes the bookings will use beforehand (in-process, file
backend), starts gunicorn as configured today (`-w 2 -k gthread --threads 4 --preload`,
DEBUG=0, rate limits raised so that they never refuse) and drives it with wrk
(bench/booking_load.lua: requests read from a file, each sent once), so that the client takes
little of the server's CPU: wrk counts the answers that are not 2xx/3xx, the bookings made are
counted in the database afterwards, and only the bookings-alone phase has its answers counted by
status in Lua (which copies every body into a Lua string: ~60 kB per availability answer).
Phases, in this order, each between two `/healthz` phases (the ceiling: an empty view through
every middleware) and compared with their mean, so that the machine's drift over the run does
not count against a phase:

- availability of random weeks: `GET /api/v1/availability/` of a random matter for 7 days
  starting 1 to 49 days ahead;
- availability of the coming week of a matter (10 distinct questions);
- MIXED: 95 % random weeks and 5 % bookings (each a distinct free place at least 25 h ahead with
  its own mobile number and code), so that the cache is made stale as in life;
- bookings alone (as in MIXED, one after the other).

Before the server starts, the seeded tables are vacuumed and analysed and a checkpoint is taken
(as on a server that has run a while). Prints a Markdown table (req/s, wrk's p50/p95, answers by
status, ratio to the phase's own /healthz), the machine, and checks in the database that no slot
holds more live bookings than its capacity. Environment: BENCH_SECONDS (each phase, default 10),
BENCH_MIXED_SECONDS (20), BENCH_CONNECTIONS (16), BENCH_WRK_THREADS (1), BENCH_WORKERS (2),
BENCH_THREADS (4), BENCH_MIXED_BOOKINGS (2000, places and codes prepared for MIXED),
BENCH_BOOKINGS (1500, for bookings alone), BENCH_HEALTHZ_SECONDS (5), BENCH_KEEP_DB=1 keeps the
database.
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
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

PG = "--pg" in sys.argv
WORK = Path(tempfile.mkdtemp(prefix="yuyue-bench-load-"))
if PG:
    DATABASE_URL = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yuyue_bench_load"
    )
    REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
else:
    DATABASE_URL = f"sqlite:///{WORK / 'bench.sqlite3'}"
    REDIS_URL = ""
SECONDS = int(os.environ.get("BENCH_SECONDS", 10))
MIXED_SECONDS = int(os.environ.get("BENCH_MIXED_SECONDS", 20))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 16))
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", 1))
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
THREADS = int(os.environ.get("BENCH_THREADS", 4))
MIXED_BOOKINGS = int(os.environ.get("BENCH_MIXED_BOOKINGS", 2000))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", 1500))
LOOKS_PER_BOOKING = 19  # 95 % looks, 5 % bookings
SMS_FOLDER = WORK / "sms"
LUA = ROOT / "bench" / "booking_load.lua"

# The server and this process read the same settings.
SERVER_ENV = {
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "CONN_MAX_AGE": "60",
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


def _pg_admin() -> tuple[str, str]:
    url = urlsplit(DATABASE_URL)
    admin = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    return admin, url.path.lstrip("/")


def database_create() -> None:
    if PG:
        import psycopg

        admin, name = _pg_admin()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    if REDIS_URL:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    # createcachetable: without Redis the cache is a table (a fresh database has none).
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True)


def database_drop() -> None:
    if PG:
        import psycopg

        admin, name = _pg_admin()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(WORK, ignore_errors=True)


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
    """(matter, window, start) of ``count`` distinct free places at least 25 h ahead, spread at
    random over the next 55 days."""
    from django.utils import timezone

    from appointments.slots import windows_availability

    now = timezone.now()
    today = timezone.localdate(now)
    targets, taken = [], set()
    for matter in matters:
        for a in windows_availability(
            windows=list(matter.windows.all()),
            start_date=today,
            end_date=today + dt.timedelta(days=55),
            not_before=now + dt.timedelta(hours=25),
        ):
            # Matters of one department share its windows: each free place is a target once
            # (one booking per place, so that every booking should be made: 201).
            if a.remaining >= 1 and (a.slot.window_id, a.slot.start) not in taken:
                taken.add((a.slot.window_id, a.slot.start))
                targets.append((matter.pk, a.slot.window_id, a.slot.start))
    random.Random(4).shuffle(targets)
    if len(targets) < count:
        raise SystemExit(f"only {len(targets)} free places for {count} bookings")
    return targets[:count]


def codes_send(count: int) -> list[tuple[str, str]]:
    """Send a code to ``count`` fresh mobile numbers (the file backend) and read them back."""
    from django.utils import timezone

    from sms.services import verification_code_send

    files = {}
    for n in range(count):
        phone = f"1390{n:07}"
        message = verification_code_send(phone=phone, client_address=None, now=timezone.now())
        files[phone] = SMS_FOLDER / message.gateway_id
    pairs = []
    for phone, path in files.items():
        code = re.search(r"(?<!\d)(\d{6})(?!\d)", path.read_text(encoding="utf-8"))
        pairs.append((phone, code.group(1)))
    return pairs


def oversold() -> int:
    """Slots holding more live bookings than their capacity (must be 0)."""
    from django.db.models import Count

    from appointments.models import LIVE_STATUSES, Appointment, Slot
    from duty.models import Window

    per_window = dict(Window.objects.values_list("pk", "capacity_per_slot"))
    capacities = {
        (w, s): c
        for w, s, c in Slot.objects.filter(capacity__isnull=False).values_list(
            "window_id", "start", "capacity"
        )
    }
    counts = (
        Appointment.objects.filter(status__in=LIVE_STATUSES)
        .values_list("window_id", "start")
        .annotate(n=Count("pk"))
    )
    return sum(1 for w, s, n in counts if n > capacities.get((w, s), per_window[w]))


# --- the server -------------------------------------------------------------------------------


def database_settle(connection) -> None:
    """Vacuum and analyse the freshly seeded tables, then write the dirty pages out, as a server
    that has been running a while has them: otherwise autovacuum and the checkpointer start on
    the 150 000 new rows during the first phase and take the cores from it (a first /healthz
    phase at half the second's rate was seen)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("ANALYZE")


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


# --- the client: wrk --------------------------------------------------------------------------


def wrk(port: int, name: str, lines: list[str], seconds: int, statuses: bool = False) -> dict:
    """Run wrk for ``seconds`` over the request ``lines`` (see bench/booking_load.lua);
    ``statuses``: count the answers by status in Lua (costs the client a copy of each body)."""
    requests = WORK / f"{name}.txt"
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = subprocess.run(
        [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout=30s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}",
        ],
        env={
            **os.environ,
            "BENCH_REQUESTS": str(requests),
            "BENCH_THREADS": str(WRK_THREADS),
            "BENCH_STATUSES": "1" if statuses else "0",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = dict(
        (key, int(value))
        for key, value in re.findall(r"(\w+)=(\d+)", re.search(r"^RESULT .*$", output, re.M)[0])
    )
    counted = Counter()
    for status, count in re.findall(r"^STATUS (\d+) (\d+)$", output, re.M):
        counted[str(status)] += int(count)
    if not statuses:
        counted = Counter({"2xx": result["requests"] - result["status"], "other": result["status"]})
    repeated = sum(int(n) for n in re.findall(r"^REPEATED (\d+)$", output, re.M))
    errors = sum(result[k] for k in ("connect", "read", "write", "timeout"))
    return {
        "requests": result["requests"],
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50": result["p50_us"] / 1000,
        "p95": result["p95_us"] / 1000,
        "statuses": {k: n for k, n in sorted(counted.items()) if n},
        "repeated": repeated,
        "errors": errors,
    }


# --- the run ----------------------------------------------------------------------------------


def machine() -> str:
    from django.db import connection
    from django.utils import timezone
    from machine import cpu_model, database_version

    cpu, database = cpu_model(), database_version(connection)
    cache = "database cache"
    if REDIS_URL:
        import redis

        cache = f"Redis {redis.Redis.from_url(REDIS_URL).info()['redis_version']}"
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {database}, "
        f"{cache}, {wrk_version.split(' [')[0].strip()}, {timezone.localdate()}"
    )


def lines_prepare(matters, targets, pairs) -> dict[str, list[str]]:
    from django.utils import timezone

    today = timezone.localdate()
    rng = random.Random(7)

    def random_week() -> str:
        matter = rng.choice(matters).pk
        first = today + dt.timedelta(days=rng.randrange(1, 50))
        return (
            f"GET /api/v1/availability/?matter={matter}&from={first}&to={first + dt.timedelta(6)}"
        )

    def coming_week() -> str:
        first = today + dt.timedelta(days=1)
        return (
            f"GET /api/v1/availability/?matter={rng.choice(matters).pk}&from={first}"
            f"&to={first + dt.timedelta(6)}"
        )

    def booking(target, pair) -> str:
        (matter, window, start), (phone, code) = target, pair
        body = {
            "matter": matter,
            "window": window,
            "start": start.isoformat(),
            "name": "李娜",
            "phone": phone,
            "code": code,
            "content": "压力测试",
        }
        return f"POST /api/v1/appointments/ {json.dumps(body, ensure_ascii=False)}"

    bookings = [booking(t, p) for t, p in zip(targets, pairs, strict=True)]
    mixed = []
    for made in bookings[:MIXED_BOOKINGS]:
        mixed += [random_week() for _ in range(LOOKS_PER_BOOKING // 2)]
        mixed.append(made)
        mixed += [random_week() for _ in range(LOOKS_PER_BOOKING - LOOKS_PER_BOOKING // 2)]
    return {
        "healthz": ["GET /healthz"],
        "random weeks": [random_week() for _ in range(20_000)],
        "coming week": [coming_week() for _ in range(2_000)],
        "mixed": mixed,
        "bookings": bookings[MIXED_BOOKINGS:],
    }


MIXED = "MIXED: 95 % random weeks, 5 % bookings"
PHASES = [
    # (name, requests, seconds, statuses counted by wrk's Lua); each is run between two /healthz
    # phases and compared with their mean: the machine's own speed drifts over minutes (another
    # VM on the host, the database writing out what the phase before wrote), and a ratio to a
    # ceiling measured minutes away carries that drift.
    ("availability, random weeks", "random weeks", SECONDS, False),
    ("availability, the coming week", "coming week", SECONDS, False),
    (MIXED, "mixed", MIXED_SECONDS, False),
    ("bookings alone", "bookings", SECONDS, True),
]
HEALTHZ_SECONDS = int(os.environ.get("BENCH_HEALTHZ_SECONDS", 5))


def bookings_made(phones: list[str]) -> int:
    from appointments.models import Appointment

    return Appointment.objects.filter(phone__in=[f"+86{p}" for p in phones]).count()


def _n(number: float) -> str:
    """12 345, as the tables in docs/PERFORMANCE.md write numbers."""
    return f"{number:,.0f}".replace(",", " ")


def report(results: dict, ceilings: dict, made: int) -> None:
    """``ceilings``: each phase's /healthz rate, the mean of the /healthz phases around it."""
    ceiling = statistics.mean(
        r["rps"] for name, r in results.items() if name.startswith("/healthz")
    )
    print(
        f"\nServer: gunicorn -w {WORKERS} -k gthread --threads {THREADS} --preload, DEBUG=0, "
        f"CONN_MAX_AGE=60, rate limits raised (10000000/600); "
        f"{'PostgreSQL + Redis' if PG else 'SQLite, no Redis'}."
    )
    print(
        f"Client: wrk -t{WRK_THREADS} -c{CONNECTIONS}, {SECONDS} s a phase (MIXED "
        f"{MIXED_SECONDS} s), each between two /healthz phases of {HEALTHZ_SECONDS} s."
    )
    print(f"Machine: {machine()}\n")
    print("| phase | requests | req/s | p50 (ms) | p95 (ms) | answers | / its /healthz |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for name, r in results.items():
        answers = ", ".join(f"{n} × {s}" for s, n in r["statuses"].items())
        if r["errors"]:
            answers += f", {r['errors']} socket errors"
        share = f"{r['rps'] / ceilings[name]:.0%}" if name in ceilings else ""
        print(
            f"| {name} | {_n(r['requests'])} | {_n(r['rps'])} | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {answers} | {share} |"
        )
    mixed = results[MIXED]
    looks = mixed["rps"] * (mixed["requests"] - made) / max(mixed["requests"], 1)
    print(f"\nCeiling: /healthz {_n(ceiling)} req/s on average over the run")
    print(
        f"MIXED: {mixed['rps'] / ceilings[MIXED]:.0%} of its /healthz (target >= 50 %); its looks "
        f"alone {looks / ceilings[MIXED]:.0%}; bookings made (counted in the database) {made} = "
        f"{made / max(mixed['requests'], 1):.1%} of its requests"
        + (
            f"\nWARNING: {mixed['repeated']} looks after the prepared bookings ran out (fewer "
            "than 5 % bookings): raise BENCH_MIXED_BOOKINGS"
            if mixed["repeated"]
            else ""
        )
    )
    random_weeks, coming = "availability, random weeks", "availability, the coming week"
    print(
        f"Random weeks alone: {results[random_weeks]['rps'] / ceilings[random_weeks]:.0%}; "
        f"the coming week: {results[coming]['rps'] / ceilings[coming]:.0%}"
    )
    alone = results["bookings alone"]
    print(
        f"Bookings alone: {_n(alone['statuses'].get('201', 0) / (alone['duration'] or 1))} "
        f"made/s = {alone['rps'] / ceilings['bookings alone']:.0%} of its /healthz "
        "(target >= 25 %)"
    )


def main() -> None:
    started = time.monotonic()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (`make bench-load` installs it)")
    print(f"database {DATABASE_URL}; redis {REDIS_URL or 'none'}")
    database_create()
    import django

    django.setup()
    from django.db import connection

    matters, windows, seeded = seed()
    print(
        f"seeded {seeded} bookings, {len(windows)} windows, {len(matters)} matters "
        f"({time.monotonic() - started:.0f} s)",
        flush=True,
    )
    targets = booking_targets(matters, MIXED_BOOKINGS + BOOKINGS)
    pairs = codes_send(len(targets))
    lines = lines_prepare(matters, targets, pairs)
    database_settle(connection)
    connection.close()
    print(f"{len(pairs)} codes sent; setup took {time.monotonic() - started:.0f} s", flush=True)

    port = free_port()
    log = WORK / "gunicorn.log"
    server = server_start(port, log)
    results = {}
    try:
        # Warm up workers, connections and the cache (a hall that has been open a while).
        wrk(port, "warm-up", lines["healthz"], 2)
        wrk(port, "warm-up", lines["random weeks"], 6)
        healthz = [f"/healthz {n}" for n in range(1, len(PHASES) + 2)]
        phases = [(healthz[0], "healthz", HEALTHZ_SECONDS, False)]
        for phase, after in zip(PHASES, healthz[1:], strict=True):
            phases += [phase, (after, "healthz", HEALTHZ_SECONDS, False)]
        for name, key, seconds, statuses in phases:
            phase_started = time.monotonic()
            results[name] = wrk(port, key, lines[key], seconds, statuses)
            results[name]["duration"] = time.monotonic() - phase_started
            print(
                f"  {name}: {results[name]['rps']:,.0f} req/s {results[name]['statuses']}",
                flush=True,
            )
        ceilings = {
            name: statistics.mean((results[before]["rps"], results[after]["rps"]))
            for (name, *_), before, after in zip(PHASES, healthz[:-1], healthz[1:], strict=True)
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    report(results, ceilings, bookings_made([phone for phone, _code in pairs[:MIXED_BOOKINGS]]))
    count = oversold()
    print(f"Oversold slots in the database afterwards: {count}")
    print(f"Whole run: {time.monotonic() - started:.0f} s")
    if count:
        raise SystemExit("OVERSOLD")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL and Redis")
    parser.parse_args()
    try:
        main()
    finally:
        if os.environ.get("BENCH_KEEP_DB") != "1":
            database_drop()
