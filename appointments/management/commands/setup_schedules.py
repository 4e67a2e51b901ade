"""Create or update the worker's schedules; safe to run any number of times.

Why: the standard's time rules (the 30-minute no-show follow-up, reminders, confirmation and
hand-over deadlines) only hold if something watches the clock. `make run` and every deployment
run this after `migrate`; schedules are found by name, so running it twice changes nothing and
an edited interval is updated in place.
"""

from django.core.management.base import BaseCommand
from django_q.models import Schedule

# name → (function, args, minutes between runs)
SCHEDULES = {
    "heartbeat": ("yuyue.tasks.heartbeat_task", "", 1),
    "purge rate_limits": ("yuyue.tasks.rate_limits_purge_task", "", 60),
    "sweep no_shows": ("appointments.tasks.sweep_task", "'no_shows'", 1),
    "sweep hand_over": ("appointments.tasks.sweep_task", "'hand_over'", 1),
    "sweep unconfirmed": ("appointments.tasks.sweep_task", "'unconfirmed'", 5),
    "sweep reminders": ("appointments.tasks.sweep_task", "'reminders'", 5),
    "sweep failed_sms": ("appointments.tasks.sweep_task", "'failed_sms'", 5),
    "deliver sms": ("sms.tasks.messages_deliver_due_task", "", 1),
    "sweep duty_absences": ("appointments.tasks.sweep_task", "'duty_absences'", 1),
    "sweep rosters": ("appointments.tasks.sweep_task", "'rosters'", 60),
    "sweep complaints": ("appointments.tasks.sweep_task", "'complaints'", 60),
    "sweep bad_reviews": ("appointments.tasks.sweep_task", "'bad_reviews'", 60),
    "sweep improvement_actions": ("appointments.tasks.sweep_task", "'improvement_actions'", 1440),
}


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show, do not save.")

    def handle(self, *args, dry_run, **options):
        for name, (func, args, minutes) in SCHEDULES.items():
            wanted = {
                "func": func,
                "args": args or None,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            }
            current = Schedule.objects.filter(name=name).first()
            if current and all(getattr(current, k) == v for k, v in wanted.items()):
                state = "unchanged"
            elif dry_run:
                state = "would update" if current else "would create"
            else:
                Schedule.objects.update_or_create(name=name, defaults=wanted)
                state = "updated" if current else "created"
            self.stdout.write(f"{name}: every {minutes} min, {state}")
