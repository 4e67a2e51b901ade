"""Export a hall's complaint ledger (投诉台账, GB/T 36113; DB1403/T 7.3, 7.4) for a period to an
Excel file.

Why: supervision files the ledger every month and the assessment of windows and staff (7.4) reads
it; an operator must be able to produce it without a browser. The file is the same as the
console's export. The complainant's name and phone are masked unless --user names a user who may
see them (that user's views are then logged, as in the console): the command line is no way
around the confidentiality of GB/T 36113.

    manage.py export_complaints --hall city --from 2026-09-01 --to 2026-09-30 -o sep.xlsx

Bad input (an unknown hall or user, a date that cannot be read, --from after --to, no -o) stops
with a message and exit status 2; a period without complaints gives a file with the headers only.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from duty.command_args import USAGE_ERROR, hall_arg, period_args

from ...ledger import ledger_export


class Command(BaseCommand):
    help = "Export the complaint ledger (投诉台账) of a hall for a period to an .xlsx file."

    def add_arguments(self, parser):
        parser.add_argument("--hall", required=True, help="hall code (or its full name)")
        parser.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("-o", "--output", help="the .xlsx file to write")
        parser.add_argument(
            "--user",
            help="write it for this user (login): unmasked only if they may see who complained",
        )

    def handle(self, *args, **options):
        hall = hall_arg(options["hall"])
        date_from, date_to = period_args(options["date_from"], options["date_to"])
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user “{options['user']}”.", returncode=USAGE_ERROR)
        if not options["output"]:
            raise CommandError("Name the file to write with -o FILE.xlsx.", returncode=USAGE_ERROR)
        written = ledger_export(
            hall_id=hall.pk,
            date_from=date_from,
            date_to=date_to,
            out=options["output"],
            user=user,
            now=timezone.now(),
        )
        self.stdout.write(
            self.style.SUCCESS(f"{written} complaints written to {options['output']}.")
        )
