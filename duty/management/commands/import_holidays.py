"""Load a year's official holiday arrangement (statutory holidays, bridging rest days and make-up
working days) for whole years.

Why: DB1403/T 4 serves holidays by appointment only and treats make-up days (调休上班) as working
days. Until a year is loaded its statutory holidays are computed from the law as provisional
holidays; the State Council publishes each year's arrangement in November, and this fills the
table from the ``chinese-calendar`` package for the years it knows. Years it does not know are
entered by an administrator on the console's "Enter a year's holiday arrangement" page. Either way
the bookings whose day changes kind are listed (here, and in an alert to the desk).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from duty.services import HolidayDataMissing, holiday_year_import


class Command(BaseCommand):
    help = "Load a year's official holiday arrangement from chinese-calendar."

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int)
        parser.add_argument("--dry-run", action="store_true", help="Show, do not save.")

    def handle(self, *args, years, dry_run, **options):
        for year in years:
            try:
                entered = holiday_year_import(year=year, now=timezone.now(), dry_run=dry_run)
            except HolidayDataMissing as error:
                raise CommandError(
                    f"chinese-calendar has no data for {year}; enter that year's arrangement "
                    "in the console (Holiday years › Enter a year's arrangement)."
                ) from error
            days = entered.days
            holidays = sum(1 for d in days if d.kind == "holiday")
            prefix = "Would load" if dry_run else "Loaded"
            self.stdout.write(
                f"{prefix} {year}: {holidays} holiday dates, {len(days) - holidays} make-up days"
            )
            for day, (before, after) in sorted(entered.changed.items()):
                self.stdout.write(f"  {day}: {before.day_type} -> {after.day_type}")
            if entered.bookings:
                self.stdout.write(
                    f"  {len(entered.bookings)} booking(s) on those days, listed for the desk:"
                )
                for line in entered.bookings:
                    self.stdout.write(f"    {line}")
            if entered.duties_removed:
                self.stdout.write(
                    f"  {len(entered.duties_removed)} duty(ies) no longer fit their day, removed "
                    "(the window heads are alerted):"
                )
                for line in entered.duties_removed:
                    self.stdout.write(f"    {line}")
