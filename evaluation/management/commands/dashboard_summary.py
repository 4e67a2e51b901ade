"""Make or check the dashboard's per-day summary (evaluation.reporting.summary) by hand.

    manage.py dashboard_summary              # as the worker's sweep: stale days, new days
    manage.py dashboard_summary --full       # every hall counted again from the records
    manage.py dashboard_summary --dry-run    # compare the summary with the records, write nothing

``--dry-run`` exits with status 1 if any day the summary answers for differs from the records.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from duty.models import Hall

from ...reporting.summary import summary_check, summary_refresh


class Command(BaseCommand):
    help = "Make (or, with --dry-run, check) the dashboard's per-day summary."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="rebuild every day")
        parser.add_argument(
            "--dry-run", action="store_true", help="compare with the records; write nothing"
        )
        parser.add_argument("--hall", help="one hall's code")

    def handle(self, *args, full, dry_run, hall, **options):
        hall_ids = None
        if hall:
            hall_ids = list(Hall.objects.filter(code=hall).values_list("pk", flat=True))
            if not hall_ids:
                raise CommandError(f"No hall with code {hall!r}.")
        now = timezone.now()
        started = time.monotonic()
        if dry_run:
            differences = summary_check(now=now, hall_ids=hall_ids)
            for window_id, day, matter_id, column, stored, counted in differences[:50]:
                self.stdout.write(
                    f"window {window_id} {day} matter {matter_id} {column}: "
                    f"summary {stored}, records {counted}"
                )
            if differences:
                raise CommandError(f"{len(differences)} figures differ from the records.")
            self.stdout.write(
                f"The summary equals the records ({time.monotonic() - started:.1f} s)."
            )
            return
        made = summary_refresh(now=now, full=full, hall_ids=hall_ids)
        self.stdout.write(f"Summary made: {made} window-days ({time.monotonic() - started:.1f} s).")
