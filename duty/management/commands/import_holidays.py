"""Load statutory holidays and make-up working days for whole years.

Why: DB1403/T 4 serves holidays by appointment only and treats make-up days (调休上班) as working
days. The State Council publishes each year's arrangement in November; this fills the table from
the ``chinese-calendar`` package for the years it knows. Years it does not know are entered by an
administrator in the console.
"""

from django.core.management.base import BaseCommand, CommandError

from duty.services import HolidayDataMissing, holiday_year_import


class Command(BaseCommand):
    help = "Load a year's statutory holidays and make-up working days from chinese-calendar."

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int)
        parser.add_argument("--dry-run", action="store_true", help="Show, do not save.")

    def handle(self, *args, years, dry_run, **options):
        for year in years:
            try:
                days = holiday_year_import(year=year, dry_run=dry_run)
            except HolidayDataMissing as error:
                raise CommandError(
                    f"chinese-calendar has no data for {year}; enter that year's arrangement "
                    "in the console (holidays and make-up days)."
                ) from error
            holidays = sum(1 for d in days if d.kind == "holiday")
            prefix = "Would load" if dry_run else "Loaded"
            self.stdout.write(
                f"{prefix} {year}: {holidays} holiday dates, {len(days) - holidays} make-up days"
            )
