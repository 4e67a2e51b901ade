"""Export a hall's register (DB1403/T 附录A 预约服务登记表) for a period to an Excel file.

Why: the hall files and prints the register every month, and an operator must be able to produce
it without a browser (or when the web export would be too large to wait for). The file is the same
as the console's export: same layout, same rows, written in streaming mode.

    manage.py export_register --hall yangquan-city --from 2026-09-01 --to 2026-09-30 -o sep.xlsx

Bad input (an unknown hall, a date that cannot be read, --from after --to) stops with a message
and exit status 2; a period without bookings gives a valid file with the headers only.
"""

from django.core.management.base import BaseCommand, CommandError

from duty.command_args import USAGE_ERROR, hall_arg, period_args
from duty.models import Department, Window

from ...models import Channel, Status
from ...register import By, RegisterFilter, register_export, register_queryset


class Command(BaseCommand):
    help = "Export the register (DB1403/T 附录A) of a hall for a period to an .xlsx file."
    # The system checks look at the project's configuration (URLs, admin, models, security
    # settings), which `manage.py check` and `migrate` verify on deployment; this command only
    # reads bookings, and running them first cost about 0.15 s of every export's start-up.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--hall", required=True, help="hall code (or its full name)")
        parser.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument(
            "--by",
            choices=By.CHOICES,
            default=By.APPOINTMENT,
            help="count the period by appointment time (default) or by registration date",
        )
        parser.add_argument("-o", "--output", help="the .xlsx file to write")
        parser.add_argument("--window", help="only this window (its number, e.g. A01)")
        parser.add_argument("--department", help="only matters of this department (its name)")
        parser.add_argument("--channel", choices=Channel.values)
        parser.add_argument("--status", choices=Status.values)
        parser.add_argument(
            "--dry-run", action="store_true", help="count the rows without writing a file"
        )

    def handle(self, *args, **options):
        register = self._register(options)
        if options["dry_run"]:
            count = register_queryset(register=register).count()
            self.stdout.write(f"{count} bookings would be written.")
            return
        if not options["output"]:
            raise CommandError("Name the file to write with -o FILE.xlsx.", returncode=USAGE_ERROR)
        written = register_export(register=register, out=options["output"])
        self.stdout.write(self.style.SUCCESS(f"{written} bookings written to {options['output']}."))

    def _register(self, options) -> RegisterFilter:
        hall = hall_arg(options["hall"])
        date_from, date_to = period_args(options["date_from"], options["date_to"])
        window_id = department_id = None
        if options["window"]:
            window = Window.objects.filter(hall=hall, number=options["window"]).first()
            if window is None:
                raise CommandError(
                    f"{hall} has no window “{options['window']}”.", returncode=USAGE_ERROR
                )
            window_id = window.pk
        if options["department"]:
            department = Department.objects.filter(hall=hall, name=options["department"]).first()
            if department is None:
                raise CommandError(
                    f"{hall} has no department “{options['department']}”.", returncode=USAGE_ERROR
                )
            department_id = department.pk
        return RegisterFilter(
            hall_id=hall.pk,
            date_from=date_from,
            date_to=date_to,
            by=options["by"],
            window_id=window_id,
            department_id=department_id,
            channel=options["channel"] or "",
            status=options["status"] or "",
        )
