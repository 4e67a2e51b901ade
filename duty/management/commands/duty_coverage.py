"""Print every gap and conflict of a hall's duty rosters; exit 1 when there is any, 2 on bad input.

Why: no-rest service (DB1403/T 4, 5.2) exists only if someone is at the window in every
off-hours period, on every booked holiday, and not on leave (6.2.4). Operators and the daily
background check run this to catch a roster gap before the citizen does. Read-only, so there is
no --dry-run.
"""

import sys

from django.core.management.base import BaseCommand
from django.utils import timezone

from duty.command_args import date_arg, hall_arg, usage_error
from duty.rosters import booking_horizon_end, duty_coverage_check


class Command(BaseCommand):
    help = "Check a hall's duty rosters (DB1403/T 4, 5.2, 6.2.4); exit 1 on any gap or conflict."

    def add_arguments(self, parser):
        parser.add_argument("--hall", required=True, help="the hall's code")
        parser.add_argument("--from", dest="start", help="first date, YYYY-MM-DD (today)")
        parser.add_argument(
            "--to",
            dest="end",
            help="last date, YYYY-MM-DD (the last day citizens can book: BOOKING_HORIZON_DAYS)",
        )

    def handle(self, *args, hall, start, end, **options):
        hall = hall_arg(hall)
        start = date_arg(start) if start else timezone.localdate()
        end = date_arg(end) if end else max(start, booking_horizon_end(timezone.now()))
        if end < start:
            raise usage_error("--to is before --from.")
        if (end - start).days > 366:
            raise usage_error("Check at most a year at once.")
        problems = duty_coverage_check(hall=hall, start_date=start, end_date=end)
        for problem in problems:
            self.stdout.write(f"[{problem.kind}] {problem.message}")
        if problems:
            self.stdout.write(
                self.style.ERROR(f"{hall.code} {start}..{end}: {len(problems)} problem(s).")
            )
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"{hall.code} {start}..{end}: covered."))
