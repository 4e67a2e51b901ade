"""Benchmark: the register (DB1403/T 附录A) export against CSV and xlsxwriter, time and memory.

Run with `make bench-export` (SQLite in a temporary file) or with DATABASE_URL naming a scratch
PostgreSQL database (created if missing, dropped at the end), e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yuyue_bench_export .venv/bin/python \\
        bench/export_register.py --sizes 1000,10000,100000

It seeds N accepted bookings in one hall, then for each size runs each writer in a fresh
subprocess (so that each one's peak resident memory, VmHWM, is its own) over the same
rows from the same chunked queryset iterator and the same cell values (``register_cells``),
``--repeat`` times, interleaved; the fastest run and the highest peak count:

- ``csv``: the eight columns as a UTF-8 CSV: the floor of what writing the rows costs;
- ``xlsxwriter``: xlsxwriter's constant-memory mode writing the same cells, formats, merges and
  print set-up: the reference;
- ``openpyxl``: the product, ``appointments.register.register_write`` (write-only mode).

Aim: at 100 000 rows openpyxl within 1.3x of xlsxwriter's time, and under 150 MB peak RSS.
"""

import argparse
import csv
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WRITERS = ("csv", "xlsxwriter", "openpyxl")
YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


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


# --- the writers (each runs in its own process) ----------------------------------------------


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


def write_xlsxwriter(rows, out: Path, subtitle: str) -> int:
    """The same sheet as register_write, with xlsxwriter in constant-memory mode."""
    import xlsxwriter

    from appointments.register import COLUMNS, FORMULA_STARTS, _text, register_cells

    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    ws = wb.add_worksheet("登记表")
    border = {"border": 1, "valign": "vcenter", "text_wrap": True}
    centre = {**border, "align": "center"}
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    sub = wb.add_format({"align": "center", "valign": "vcenter"})
    header = wb.add_format({**centre, "bold": True, "bg_color": "#F2F2F2"})
    number_f = wb.add_format(centre)
    date_f = wb.add_format({**centre, "num_format": "yyyy-mm-dd"})
    time_f = wb.add_format({**centre, "num_format": "yyyy-mm-dd hh:mm"})
    text_f = wb.add_format(border)
    quoted_f = wb.add_format({**border, "quote_prefix": True})
    for index, (_key, _top, _sub, width) in enumerate(COLUMNS):
        ws.set_column(index, index, width)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2, 3)
    ws.freeze_panes(4, 0)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    last = len(COLUMNS) - 1
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, last, "预约服务登记表", title)
    ws.merge_range(1, 0, 1, last, subtitle, sub)
    # Constant-memory mode writes row by row, so the two header rows are written in order and
    # their merges recorded directly (merge_range would write both rows at once).
    tops = ["序号", "登记日期", "预约人", None, "预约时间", "预约事项/内容", "受理人员", "备注"]
    seconds = [None, None, "姓名", "联系电话", None, None, None, None]
    for col, label in enumerate(tops):
        ws.write(2, col, label, header) if label else ws.write_blank(2, col, None, header)
    for col, label in enumerate(seconds):
        ws.write(3, col, label, header) if label else ws.write_blank(3, col, None, header)
    ws.merge.extend([[2, c, 3, c] for c, label in enumerate(seconds) if label is None])
    ws.merge.append([2, 2, 2, 3])

    row = 3
    count = 0
    for cells in register_cells(rows):
        row += 1
        number, registered, name, phone, start, what, staff, remarks = cells
        ws.write_number(row, 0, number, number_f)
        ws.write_datetime(row, 1, registered, date_f)
        for col, value in ((2, name), (3, phone), (5, what), (6, staff), (7, remarks)):
            value = _text(value)
            ws.write_string(
                row, col, value, quoted_f if value.startswith(FORMULA_STARTS) else text_f
            )
        ws.write_datetime(row, 4, start, time_f)
        count = number
    wb.close()
    return count


def write_openpyxl(rows, out: Path, subtitle: str) -> int:
    from appointments.register import register_write

    return register_write(rows=rows, subtitle=subtitle, out=out)


def child(writer: str, hall_id: int, out: Path) -> None:
    """Run one writer over the hall's register for the year; print its figures as JSON."""
    django_setup()
    from django.conf import settings
    from django.utils import translation

    from appointments.register import (
        RegisterFilter,
        register_queryset,
        register_rows,
        register_subtitle,
    )

    register = RegisterFilter(hall_id=hall_id, date_from=YEAR[0], date_to=YEAR[1])
    subtitle = register_subtitle(register=register)
    baseline = memory_mb("VmRSS")
    started = time.perf_counter()
    with translation.override(settings.LANGUAGE_CODE):
        rows = register_rows(register_queryset(register=register))
        count = {"csv": write_csv, "xlsxwriter": write_xlsxwriter, "openpyxl": write_openpyxl}[
            writer
        ](rows, out, subtitle)
    seconds = time.perf_counter() - started
    peak = memory_mb("VmHWM")
    print(
        json.dumps(
            {
                "writer": writer,
                "rows": count,
                "seconds": seconds,
                "peak_mb": peak,
                "baseline_mb": baseline,
                "bytes": out.stat().st_size,
            }
        )
    )


# --- seeding and the driver --------------------------------------------------------------------

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈杰", "杨静", "赵磊", "黄敏", "𠮷田", "=SUM(A1)"]


def seed(total: int) -> int:
    """Bulk-insert accepted bookings up to ``total``; return the hall's id."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from appointments.models import Appointment, Matter
    from duty.models import Department, Hall, StaffProfile, Window
    from duty.services import hall_calendar_set_defaults

    hall = Hall.objects.filter(code="bench").first()
    if hall is None:
        hall = Hall.objects.create(name="阳泉市政务服务中心", code="bench")
        hall_calendar_set_defaults(hall=hall)
        department = Department.objects.create(hall=hall, name="市场监督管理局")
        matter = Matter.objects.create(hall=hall, name="个体工商户设立登记")
        matter.departments.add(department)
        for i in range(40):
            window = Window.objects.create(hall=hall, number=f"W{i:02}", name="窗口")
            window.departments.add(department)
            matter.windows.add(window)
        desk = User.objects.create_user("desk", first_name="王敏", is_staff=True)
        StaffProfile.objects.create(user=desk, hall=hall)
    matter = Matter.objects.get(hall=hall)
    windows = list(Window.objects.filter(hall=hall).order_by("number"))
    desk = User.objects.get(username="desk")
    tz = timezone.get_default_timezone()
    first = dt.datetime(2026, 1, 2, 9, 0, tzinfo=tz)
    existing = Appointment.objects.count()
    batch = []
    for i in range(existing, total):
        start = first + dt.timedelta(minutes=30 * (i // len(windows)))
        batch.append(
            Appointment(
                reference=f"B{i:09}",
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
    return hall.pk


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


def main(sizes: list[int], repeat: int) -> None:
    url = os.environ.get("DATABASE_URL", "")
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    if not url:
        url = f"sqlite:///{tmp}/bench.sqlite3"
    elif url.startswith("postgres"):
        scratch_postgres(url, create=True)
    os.environ["DATABASE_URL"] = url
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}; python {sys.version.split()[0]}; cores {os.cpu_count()}")
    header = ("rows", "writer", "seconds", "rows/s", "ratio", "peak RSS MB", "growth MB", "MB")
    print("{:>8} {:>11} {:>8} {:>8} {:>6} {:>12} {:>10} {:>6}".format(*header))
    try:
        for size in sizes:
            hall_id = seed(size)
            connection.close()
            results = {}
            for _round in range(repeat):  # interleaved, so that load from elsewhere hits all
                for writer in WRITERS:
                    out = tmp / f"{writer}-{size}.{'csv' if writer == 'csv' else 'xlsx'}"
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", writer, str(hall_id), str(out)],
                        capture_output=True,
                        text=True,
                        check=True,
                        env=os.environ,
                    )
                    run = json.loads(done.stdout.strip().splitlines()[-1])
                    best = results.setdefault(writer, run)
                    best["seconds"] = min(best["seconds"], run["seconds"])
                    best["peak_mb"] = max(best["peak_mb"], run["peak_mb"])
            reference = results["xlsxwriter"]["seconds"]
            for writer in WRITERS:
                r = results[writer]
                assert r["rows"] == size, r
                print(
                    f"{size:>8} {writer:>11} {r['seconds']:>8.2f} {size / r['seconds']:>8.0f}"
                    f" {r['seconds'] / reference:>6.2f} {r['peak_mb']:>12.1f}"
                    f" {r['peak_mb'] - r['baseline_mb']:>10.1f} {r['bytes'] / 1e6:>6.1f}"
                )
    finally:
        connection.close()
        if url.startswith("postgres"):
            scratch_postgres(url, create=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per writer; the fastest counts")
    parser.add_argument("--child", nargs=3, metavar=("WRITER", "HALL_ID", "OUT"))
    args = parser.parse_args()
    if args.child:
        writer, hall_id, out = args.child
        child(writer, int(hall_id), Path(out))
    else:
        main([int(n) for n in args.sizes.split(",")], args.repeat)
