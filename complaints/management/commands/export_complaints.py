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

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from duty.models import Hall

from ...ledger import ledger_export

USAGE_ERROR = 2


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"“{value}” is not a date; write it as YYYY-MM-DD.", returncode=USAGE_ERROR
        ) from None


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
        hall = Hall.objects.filter(Q(code=options["hall"]) | Q(name=options["hall"])).first()
        if hall is None:
            known = ", ".join(Hall.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(
                f"No hall “{options['hall']}”. Known halls: {known or 'none'}.",
                returncode=USAGE_ERROR,
            )
        date_from, date_to = _date(options["date_from"]), _date(options["date_to"])
        if date_from > date_to:
            raise CommandError(
                f"--from {date_from} is after --to {date_to}.", returncode=USAGE_ERROR
            )
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
