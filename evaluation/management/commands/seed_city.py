"""Fill a city's halls with a year of realistic history, fast: 2 500 000 bookings over 20 halls
for the dashboard's city-scale benchmark (``make bench-dashboard-city``).

Why not ``seed_demo`` for every hall: it builds each row in Python (~100 s per 250 000 bookings).
Here ``seed_demo`` fills the city hall (yangquan-city) with its share, then every other hall is a
copy of the city hall's organisation (departments, windows, matters, service periods) whose
history is copied in SQL (``INSERT … SELECT``, one statement per table and hall) from the city
hall's: bookings, ratings, bad-review cases, no-show follow-ups, changes, duties and check-ins —
the same realistic shapes (confirmation times, 3 % served late, ratings and appeals, late
follow-ups, changes told late) as ``seed_demo``, on another hall's windows. Complaints and
improvement actions stay the city hall's. PostgreSQL only (on SQLite use seed_demo).

Deterministic like seed_demo; refuses to run on a database with other halls' bookings (it
carries on from a city hall already seeded).
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from appointments.models import Appointment, ChangeRequest, Matter, NoShowFollowUp
from duty.models import Department, Duty, DutyAssignment, Hall, ServicePeriod, Window
from evaluation.models import BadReviewCase, DashboardSummaryState, Rating

BASE = "yangquan-city"


def _columns(model):
    return [f.column for f in model._meta.concrete_fields if not f.primary_key]


def _clone(model, *, replace: dict, joins: str, where: str = "TRUE") -> int:
    """INSERT INTO model's table SELECT the rows ``o`` (joined with ``joins``, filtered by
    ``where``) with the columns in ``replace`` given by SQL expressions."""
    table = model._meta.db_table
    columns = _columns(model)
    quote = connection.ops.quote_name
    select = ", ".join(replace.get(c, f"o.{quote(c)}") for c in columns)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
        f"SELECT {select} FROM {table} o {joins} WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def _copy(obj, **changes):
    """An unsaved copy of a model instance with ``changes``."""
    fields = {
        f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not f.primary_key
    }
    fields.update(changes)
    return type(obj)(**fields)


class Command(BaseCommand):
    help = "Fill 20 halls with 2 500 000 bookings for the city-scale dashboard benchmark."

    def add_arguments(self, parser):
        parser.add_argument("--bookings", type=int, default=2_500_000, help="over all halls")
        parser.add_argument("--halls", type=int, default=20)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, bookings, halls, seed, **options):
        if connection.vendor != "postgresql":
            raise CommandError("seed_city copies in PostgreSQL's SQL; on SQLite use seed_demo.")
        started = time.monotonic()
        copies = Hall.objects.filter(code__startswith="city-")
        if Appointment.objects.exclude(window__hall__code=BASE).exists() or copies.exists():
            raise CommandError("seed_city fills an empty database.")
        if not Appointment.objects.filter(window__hall__code=BASE).exists():
            call_command("seed_demo", bookings=bookings // halls, seed=seed, stdout=self.stdout)
        # else: the city hall seeded by an interrupted run: its copies are made again.
        base = Hall.objects.get(code=BASE)
        for number in range(1, halls):
            with transaction.atomic():
                rows = self.copy_hall(base, number)
            self.stdout.write(
                f"  hall {number + 1}/{halls}: {rows} rows ({time.monotonic() - started:.0f} s)"
            )
        DashboardSummaryState.objects.all().delete()  # written in bulk: no stale marks
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {bookings // halls * halls} bookings in {halls} halls "
                f"({time.monotonic() - started:.0f} s)."
            )
        )

    def copy_hall(self, base: Hall, number: int) -> int:
        hall = _copy(
            base,
            name=f"{base.name}（分厅{number:02d}）",
            code=f"city-{number:02d}",
            is_city_hall=False,
        )
        hall.save()
        ServicePeriod.objects.bulk_create(
            _copy(p, hall_id=hall.pk) for p in ServicePeriod.objects.filter(hall=base)
        )
        departments = {}
        for department in Department.objects.filter(hall=base):
            departments[department.pk] = _copy(department, hall_id=hall.pk)
            departments[department.pk].save()
        windows = {}
        for window in Window.objects.filter(hall=base).prefetch_related("departments"):
            windows[window.pk] = _copy(window, hall_id=hall.pk)
            windows[window.pk].save()
            windows[window.pk].departments.set(
                [departments[d.pk] for d in window.departments.all()]
            )
        matters = {}
        for matter in Matter.objects.filter(hall=base).prefetch_related("departments", "windows"):
            matters[matter.pk] = _copy(matter, hall_id=hall.pk)
            matters[matter.pk].save()
            matters[matter.pk].departments.set(
                [departments[d.pk] for d in matter.departments.all()]
            )
            matters[matter.pk].windows.set([windows[w.pk] for w in matter.windows.all()])
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS _wmap, _mmap, _dmap, _amap")
            for name, mapping in (("_wmap", windows), ("_mmap", matters), ("_dmap", departments)):
                cursor.execute(f"CREATE TEMP TABLE {name} (old integer PRIMARY KEY, new integer)")
                cursor.executemany(
                    f"INSERT INTO {name} VALUES (%s, %s)",
                    [(old, new.pk) for old, new in mapping.items()],
                )
        prefix = f"'C{number:02d}'"
        rows = _clone(
            Appointment,
            replace={
                "window_id": "w.new",
                "matter_id": "m.new",
                "reference": f"{prefix} || substr(o.reference, 3)",
            },
            joins="JOIN _wmap w ON w.old = o.window_id JOIN _mmap m ON m.old = o.matter_id",
            where="o.reference LIKE 'SD%%'",
        )
        table = Appointment._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE _amap AS SELECT o.id AS old, n.id AS new FROM {table} o "
                f"JOIN {table} n ON n.reference = {prefix} || substr(o.reference, 3) "
                "WHERE o.reference LIKE 'SD%%'"
            )
            cursor.execute("ALTER TABLE _amap ADD PRIMARY KEY (old)")
        rows += _clone(
            Rating,
            replace={
                "appointment_id": "a.new",
                "hall_id": str(hall.pk),
                "window_id": "w.new",
                "department_id": "d.new",
            },
            joins="JOIN _amap a ON a.old = o.appointment_id JOIN _wmap w ON w.old = o.window_id "
            "LEFT JOIN _dmap d ON d.old = o.department_id",
        )
        rating = Rating._meta.db_table
        rows += _clone(
            BadReviewCase,
            replace={"rating_id": "rn.id", "complaint_id": "NULL"},
            joins=f"JOIN {rating} ro ON ro.id = o.rating_id JOIN _amap a ON a.old = "
            f"ro.appointment_id JOIN {rating} rn ON rn.appointment_id = a.new",
        )
        rows += _clone(
            NoShowFollowUp,
            replace={"appointment_id": "a.new"},
            joins="JOIN _amap a ON a.old = o.appointment_id",
        )
        rows += _clone(
            ChangeRequest,
            replace={
                "appointment_id": "a.new",
                "original_window_id": "w1.new",
                "new_window_id": "w2.new",
            },
            joins="JOIN _amap a ON a.old = o.appointment_id "
            "JOIN _wmap w1 ON w1.old = o.original_window_id "
            "JOIN _wmap w2 ON w2.old = o.new_window_id",
        )
        rows += _clone(
            Duty, replace={"window_id": "w.new"}, joins="JOIN _wmap w ON w.old = o.window_id"
        )
        duty = Duty._meta.db_table
        rows += _clone(
            DutyAssignment,
            replace={"duty_id": "dn.id"},
            joins=f"JOIN {duty} d0 ON d0.id = o.duty_id JOIN _wmap w ON w.old = d0.window_id "
            f"JOIN {duty} dn ON dn.window_id = w.new AND dn.start = d0.start",
        )
        return rows
