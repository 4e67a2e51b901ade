"""Benchmark: the register (DB1403/T 附录A) export against CSV and xlsxwriter, time and memory.

`make bench-export` runs it on SQLite without Redis (the database file is kept in the temporary
directory between runs, keyed by SEED_VERSION, so that reruns skip the seeding);
`make bench-export-pg` on a scratch PostgreSQL database the script creates and drops, with
Redis (REDIS_URL, its db flushed first). For each size it seeds one hall of its own with that
many accepted bookings in 2026 and measures two ways, ``--repeat`` times, interleaved (so that
load from elsewhere hits every writer alike); the fastest time and the highest peak count.

In-process (each writer in a fresh process, timed from the queryset to the closed file, peak
resident memory VmHWM of that process) over the same rows from the same chunked queryset
iterator and the same cell values (``register_cells``):

- ``csv``: the eight columns as a UTF-8 CSV: the floor of what writing the rows costs;
- ``xlsxwriter``: xlsxwriter's constant-memory mode writing the same cells, formats, merges and
  print set-up (``bench/register_xlsxwriter.py``): the reference;
- ``openpyxl``: the product, ``appointments.register.register_write`` (write-only mode).

Whole process (wall time from spawn to exit, peak RSS from wait4): the product's
``manage.py export_register --hall … --from 2026-01-01 --to 2026-12-31 -o …`` against
``bench/register_xlsxwriter.py`` with the same arguments, a stand-alone script that sets Django
up, reads the same rows the same way and writes them with xlsxwriter (its docstring says why
that is the fair reference).

Aim: at 100 000 rows the product within 1.3x of xlsxwriter's time both ways, under 150 MB.

The driver itself never imports Django (seeding runs in a child), so a child's peak from wait4
is its own and not the driver's.
"""

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
IN_PROCESS = ("csv", "xlsxwriter", "openpyxl")
WHOLE = ("xlsxwriter", "manage.py")
YEAR = ("2026-01-01", "2026-12-31")
SEED_VERSION = 2  # bump when seed_hall() changes, so that a kept SQLite file is seeded again
PG_NAME = "yuyue_export_bench"


def memory_mb(field: str) -> float:
    """VmHWM (peak) or VmRSS (now) of this process in MB. Not getrusage's ru_maxrss: Linux keeps
    that across exec, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def django_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yuyue.settings")
    import django

    django.setup()


# --- in-process: each writer runs in its own process ------------------------------------------


def write_csv(rows, out: Path, subtitle: str) -> int:
    from appointments.register import register_cells

    count = 0
    with out.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "序号",
                "登记日期",
                "姓名",
                "联系电话",
                "预约时间",
                "预约事项/内容",
                "受理人员",
                "备注",
            ]
        )
        for cells in register_cells(rows):
            number, registered, name, phone, start, what, staff, remarks = cells
            writer.writerow(
                [number, registered, name, phone, f"{start:%Y-%m-%d %H:%M}", what, staff, remarks]
            )
            count = number
    return count


def write_openpyxl(rows, out: Path, subtitle: str) -> int:
    from appointments.register import register_write

    return register_write(rows=rows, subtitle=subtitle, out=out)


def child(writer: str, hall_code: str, out: Path) -> None:
    """Run one writer over the hall's register for the year; print its figures as JSON."""
    django_setup()
    import datetime as dt

    from django.conf import settings
    from django.utils import translation

    from appointments.register import (
        RegisterFilter,
        register_queryset,
        register_rows,
        register_subtitle,
    )
    from bench.register_xlsxwriter import write_xlsxwriter
    from duty.models import Hall

    register = RegisterFilter(
        hall_id=Hall.objects.get(code=hall_code).pk,
        date_from=dt.date.fromisoformat(YEAR[0]),
        date_to=dt.date.fromisoformat(YEAR[1]),
    )
    write = {"csv": write_csv, "xlsxwriter": write_xlsxwriter, "openpyxl": write_openpyxl}[writer]
    baseline = memory_mb("VmRSS")
    started = time.perf_counter()
    with translation.override(settings.LANGUAGE_CODE):
        subtitle = register_subtitle(register=register)
        count = write(register_rows(register_queryset(register=register)), out, subtitle)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": count,
                "seconds": seconds,
                "peak_mb": memory_mb("VmHWM"),
                "baseline_mb": baseline,
                "bytes": out.stat().st_size,
            }
        )
    )


# --- seeding (in a child too) -----------------------------------------------------------------

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈杰", "杨静", "赵磊", "黄敏", "𠮷田", "=SUM(A1)"]


def seed_hall(size: int) -> str:
    """A hall of its own with ``size`` accepted bookings in 2026 (topped up if short); its code."""
    import datetime as dt

    from django.contrib.auth.models import User
    from django.utils import timezone

    from appointments.models import Appointment, Matter
    from duty.models import Department, Hall, StaffProfile, Window
    from duty.services import hall_calendar_set_defaults

    code = f"bench-{size}"
    desk = User.objects.filter(username="desk").first()
    if desk is None:
        desk = User.objects.create_user("desk", first_name="王敏", is_staff=True)
    hall = Hall.objects.filter(code=code).first()
    if hall is None:
        hall = Hall.objects.create(name=f"阳泉市政务服务中心{size}", code=code)
        hall_calendar_set_defaults(hall=hall)
        department = Department.objects.create(hall=hall, name="市场监督管理局")
        matter = Matter.objects.create(hall=hall, name="个体工商户设立登记")
        matter.departments.add(department)
        for i in range(40):
            window = Window.objects.create(hall=hall, number=f"W{i:02}", name="窗口")
            window.departments.add(department)
            matter.windows.add(window)
        StaffProfile.objects.get_or_create(user=desk, defaults={"hall": hall})
    matter = Matter.objects.get(hall=hall)
    windows = list(Window.objects.filter(hall=hall).order_by("number"))
    tz = timezone.get_default_timezone()
    first = dt.datetime(2026, 1, 2, 9, 0, tzinfo=tz)
    batch = []
    for i in range(Appointment.objects.filter(window__hall=hall).count(), size):
        # 40 windows × 30-minute slots around the clock: 100 000 rows end in mid-March.
        start = first + dt.timedelta(minutes=30 * (i // len(windows)))
        batch.append(
            Appointment(
                reference=f"B{hall.pk:03}{i:08}",
                channel=("onsite", "phone")[i % 2],
                status="accepted",
                matter=matter,
                window=windows[i % len(windows)],
                start=start,
                end=start + dt.timedelta(minutes=30),
                applicant_name=NAMES[i % len(NAMES)],
                phone=f"+86138{i:08}",
                content="设立个体工商户，经营范围：日用百货零售" if i % 3 else "",
                remarks="携带委托书" if i % 7 == 0 else "",
                created_at=start - dt.timedelta(days=3),
                accepted_at=start - dt.timedelta(days=3),
                received_by=desk,
            )
        )
        if len(batch) == 5000:
            Appointment.objects.bulk_create(batch)
            batch = []
    Appointment.objects.bulk_create(batch)
    return code


def setup(sizes: list[int]) -> None:
    """Migrate, create the cache table (the database cache without REDIS_URL), seed; print the
    halls' codes and the database's version as JSON."""
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    halls = {str(size): seed_hall(size) for size in sizes}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        version = f"{connection.vendor} {cursor.fetchone()[0].split()[0]}"
    print(json.dumps({"halls": halls, "database": version}))


def scratch_postgres(url: str, create: bool) -> None:
    """Create (or drop) the PostgreSQL database named in ``url``."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if create:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        else:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the driver ---------------------------------------------------------------------------------


def child_env() -> dict:
    """The children run as a deployed process does, with their bytecode cached: a machine with
    PYTHONDONTWRITEBYTECODE set would compile every module of the project at every start."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(*args: str) -> dict:
    """This script in a child process; the JSON it printed last."""
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=child_env()
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_in_process(writer: str, hall: str, out: Path) -> dict:
    return run_child("--child", writer, hall, str(out))


def run_whole(which: str, hall: str, out: Path) -> dict:
    """One whole process, from spawn to exit; its peak RSS from wait4 (this driver is small)."""
    script = (
        [str(ROOT / "manage.py"), "export_register"]
        if which == "manage.py"
        else [str(ROOT / "bench" / "register_xlsxwriter.py")]
    )
    args = [*script, "--hall", hall, "--from", YEAR[0], "--to", YEAR[1], "-o", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=child_env(),
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(f"{which} failed:\n{stderr.decode()}")
    return {
        "rows": int(stdout.split()[0]),
        "seconds": seconds,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "bytes": out.stat().st_size,
    }


def keep_best(results: dict, key: str, run: dict) -> None:
    best = results.setdefault(key, run)
    for field in ("seconds", "cpu"):
        if field in run:
            best[field] = min(best[field], run[field])
    best["peak_mb"] = max(best["peak_mb"], run["peak_mb"])


def machine(database: str) -> str:
    from machine import cpu_model

    model = cpu_model()
    from importlib.metadata import PackageNotFoundError, version

    def have(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return (
        f"{os.cpu_count()} cores ({model}), load average {os.getloadavg()[0]:.1f}; "
        f"Python {platform.python_version()}; {database}; "
        f"Redis {'yes' if os.environ.get('REDIS_URL') else 'no'}; "
        f"openpyxl {have('openpyxl')}, lxml {have('lxml')}, xlsxwriter {have('xlsxwriter')}"
    )


LABELS = {
    "csv": "CSV",
    "xlsxwriter": "xlsxwriter (constant memory)",
    "openpyxl": "openpyxl (write-only), the product",
    "manage.py": "`manage.py export_register`, the product",
}


def main(sizes: list[int], repeat: int) -> None:
    url = os.environ.get("DATABASE_URL", "")
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    if not url:
        kept = Path(tempfile.gettempdir()) / f"yuyue-bench-export-{SEED_VERSION}.sqlite3"
        url = f"sqlite:///{kept}"
    elif url.startswith("postgres"):
        scratch_postgres(url, create=True)
    os.environ["DATABASE_URL"] = url
    if os.environ.get("REDIS_URL"):
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    try:
        started = time.perf_counter()
        info = run_child("--setup", ",".join(map(str, sizes)))
        print(f"Database ready in {time.perf_counter() - started:.0f} s: {url.split('@')[-1]}")
        print(f"Machine: {machine(info['database'])}")
        for which in WHOLE:  # warm-up, not counted: bytecode written, database file cached
            run_whole(which, info["halls"][str(sizes[0])], tmp / "warm-up.xlsx")
        tables = []
        for size in sizes:
            hall = info["halls"][str(size)]
            inproc, whole = {}, {}
            for _round in range(repeat):
                for writer in IN_PROCESS:
                    out = tmp / f"{writer}-{size}.{'csv' if writer == 'csv' else 'xlsx'}"
                    keep_best(inproc, writer, run_in_process(writer, hall, out))
                for which in WHOLE:
                    out = tmp / f"whole-{which}-{size}.xlsx"
                    keep_best(whole, which, run_whole(which, hall, out))
            for results in (inproc, whole):
                assert all(r["rows"] == size for r in results.values()), results
            tables.append((size, inproc, whole))
            report(size, inproc, whole)
        print()
        print(f"Machine: {machine(info['database'])}; best of {repeat} interleaved runs.")
        print()
        print(
            "| rows | writer | in-process s | ratio | peak RSS MB | growth MB | "
            "whole process s | ratio | CPU s | peak RSS MB | file MB |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size, inproc, whole in tables:
            ref, wref = inproc["xlsxwriter"]["seconds"], whole["xlsxwriter"]["seconds"]
            for writer in IN_PROCESS:
                r = inproc[writer]
                w = whole.get("manage.py" if writer == "openpyxl" else writer)
                whole_cells = (
                    f"{w['seconds']:.2f} | {w['seconds'] / wref:.2f} | {w['cpu']:.2f} | "
                    f"{w['peak_mb']:.1f}"
                    if w
                    else " | | | "
                )
                print(
                    f"| {size:,} ".replace(",", " ")
                    + f"| {LABELS[writer]} | {r['seconds']:.2f} | {r['seconds'] / ref:.2f} "
                    f"| {r['peak_mb']:.1f} "
                    f"| {r['peak_mb'] - r['baseline_mb']:.1f} | {whole_cells} "
                    f"| {r['bytes'] / 1e6:.2f} |"
                )
        size, inproc, whole = tables[-1]
        print()
        print(
            f"At {size} rows: in-process "
            f"{inproc['openpyxl']['seconds'] / inproc['xlsxwriter']['seconds']:.2f}x xlsxwriter, "
            f"whole process {whole['manage.py']['seconds'] / whole['xlsxwriter']['seconds']:.2f}x "
            f"(target <= 1.3x both); peak {inproc['openpyxl']['peak_mb']:.0f} MB in-process, "
            f"{whole['manage.py']['peak_mb']:.0f} MB whole process (target < 150 MB)."
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the written files; a kept SQLite file stays
        if url.startswith("postgres"):
            scratch_postgres(url, create=False)


def report(size: int, inproc: dict, whole: dict) -> None:
    ref, wref = inproc["xlsxwriter"]["seconds"], whole["xlsxwriter"]["seconds"]
    for writer, r in inproc.items():
        print(
            f"{size:>8} in-process {writer:>10} {r['seconds']:7.2f} s "
            f"{r['seconds'] / ref:5.2f}x peak {r['peak_mb']:6.1f} MB"
        )
    for which, r in whole.items():
        print(
            f"{size:>8} whole      {which:>10} {r['seconds']:7.2f} s "
            f"{r['seconds'] / wref:5.2f}x peak {r['peak_mb']:6.1f} MB (CPU {r['cpu']:.2f} s)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per writer; the fastest counts")
    parser.add_argument("--child", nargs=3, metavar=("WRITER", "HALL", "OUT"))
    parser.add_argument("--setup", metavar="SIZES")
    args = parser.parse_args()
    if args.child:
        writer, hall, out = args.child
        child(writer, hall, Path(out))
    elif args.setup:
        setup([int(n) for n in args.setup.split(",")])
    else:
        main([int(n) for n in args.sizes.split(",")], args.repeat)
