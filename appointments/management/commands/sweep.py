"""Run one of the background sweeps by hand, optionally as of another moment.

Why: the worker runs these on a schedule, but an operator must be able to run one after an
outage, or replay a past moment (`--now 2026-10-01T12:30`) to see what it would have done; every
sweep is safe to run again (what it sends or raises carries a dedupe key).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from appointments.sweeps import SWEEPS
from sms.services import messages_deliver_due

NAMES = [*SWEEPS, "sms"]


class Command(BaseCommand):
    help = "Run a sweep: " + ", ".join(NAMES) + ", or all."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=[*NAMES, "all"])
        parser.add_argument(
            "--now", help="Run as of this moment (ISO 8601; without offset: Asia/Shanghai)."
        )

    def handle(self, *args, name, now, **options):
        moment = timezone.now()
        if now:
            moment = parse_datetime(now)
            if moment is None:
                raise CommandError(f"--now: not a date and time: {now!r}")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        for sweep in NAMES if name == "all" else [name]:
            if sweep == "sms":
                result = f"{messages_deliver_due(now=moment)} messages tried"
            else:
                result = SWEEPS[sweep](now=moment)
            self.stdout.write(f"{sweep} @ {timezone.localtime(moment):%Y-%m-%d %H:%M}: {result}")
