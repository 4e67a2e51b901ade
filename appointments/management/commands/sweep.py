"""Run one of the background sweeps by hand, optionally as of another moment.

Why: the worker runs these on a schedule, but an operator must be able to run one after an
outage, and to catch up a past moment (`--now 2026-10-01T12:30`): what the sweep does then is real
(follow-ups opened, alerts raised, reminders queued) and safe to repeat, since everything carries
a dedupe key. `--now` may not lie in the future (it would act on what has not happened), nor be
given to `sms`, whose send times are records (DB1403/T 6.2.2 judges the 8 hours on them).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sms.services import messages_deliver_due
from yuyue.sweeps import SWEEPS

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
            try:
                moment = parse_datetime(now)
            except ValueError:
                moment = None
            if moment is None:
                raise CommandError(f"--now: not a date and time: {now!r}")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            if moment > timezone.now():
                raise CommandError("--now must not be in the future.")
            if name in ("sms", "all"):
                raise CommandError("--now cannot be given to sms or all: send times are records.")
        for sweep in NAMES if name == "all" else [name]:
            if sweep == "sms":
                result = f"{messages_deliver_due(now=moment)} messages tried"
            else:
                result = SWEEPS[sweep](now=moment)
            self.stdout.write(f"{sweep} @ {timezone.localtime(moment):%Y-%m-%d %H:%M}: {result}")
