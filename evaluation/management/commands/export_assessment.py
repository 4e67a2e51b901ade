"""Export the monthly assessment of a hall's windows and staff (DB1403/T 7.4) to Excel.

Why: the assessment is filed with the hall's monthly records and handed to the departments
whose staff sit at the windows; an operator must be able to produce it on a schedule or without
a browser. The file is the same as the console's: the same figures, the score's formula printed
above each table.

    manage.py export_assessment --hall yangquan-city --month 2026-09 -o 2026-09.xlsx

Bad input (an unknown hall, a month that cannot be read or has not started) stops with a message
and exit status 2.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from duty.command_args import USAGE_ERROR, hall_arg

from ...months import month_clean
from ...reporting.assessment import assessment_compute
from ...reporting.assessment_export import assessment_write


class Command(BaseCommand):
    help = "Export the assessment of a hall's windows and staff (DB1403/T 7.4) to an .xlsx file."

    def add_arguments(self, parser):
        parser.add_argument("--hall", required=True, help="hall code (or its full name)")
        parser.add_argument("--month", required=True, help="the month, YYYY-MM")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")

    def handle(self, *args, hall, month, output, **options):
        found = hall_arg(hall)
        try:
            assessment = assessment_compute(
                hall_id=found.pk, month=month_clean(month), now=timezone.now()
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=USAGE_ERROR) from None
        assessment_write(assessment=assessment, out=output)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(assessment.windows)} windows and {len(assessment.staff)} staff "
                f"written to {output}."
            )
        )
