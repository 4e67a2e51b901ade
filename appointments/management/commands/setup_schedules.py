"""Create or update the worker's schedules; safe to run any number of times.

Why: the standard's time rules (the 30-minute no-show follow-up, reminders, confirmation and
hand-over deadlines) only hold if something watches the clock. `make run` and every deployment
run this after `migrate`; schedules are found by name, so running it twice changes nothing and
an edited interval is updated in place.

Each schedule names the worker cluster (the queue, Q_CLUSTER_QUEUE) that runs it: django-q2
runs a schedule without a cluster only on a cluster named like the site, so under any other
queue name nothing would run, silently. Run it with the workers' environment; run with another
queue name, it moves the schedules to that queue.
"""

from django.core.management.base import BaseCommand
from django_q.conf import Conf
from django_q.models import Schedule

from yuyue.sweeps import SWEEP_MINUTES
from yuyue.worker import schedules_not_run_here

# name → (function, args, minutes between runs): the worker's own jobs, then one schedule per
# sweep in the registry (yuyue/sweeps.py; each app registers its own).
SCHEDULES = {
    "heartbeat": ("yuyue.tasks.heartbeat_task", "", 1),
    "purge rate_limits": ("yuyue.tasks.rate_limits_purge_task", "", 60),
    "deliver sms": ("sms.tasks.messages_deliver_due_task", "", 1),
    "check sms receipts": ("sms.tasks.messages_receipts_check_task", "", 5),
    **{
        f"sweep {name}": ("yuyue.tasks.sweep_task", repr(name), minutes)
        for name, minutes in SWEEP_MINUTES.items()
    },
}


class Command(BaseCommand):
    help = (
        "Create or update the django-q2 schedules (idempotent) for the worker cluster of "
        "Q_CLUSTER_QUEUE: run it with the workers' environment."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show, do not save.")

    def handle(self, *args, dry_run, **options):
        cluster = Conf.CLUSTER_NAME
        self.stdout.write(f'Schedules for the worker cluster "{cluster}":')
        ours = []
        for name, (func, args, minutes) in SCHEDULES.items():
            wanted = {
                "func": func,
                "args": args or None,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
                "cluster": cluster,
            }
            current = Schedule.objects.filter(name=name).order_by("pk").first()
            moved = ""
            if current is None:
                state = "would create" if dry_run else "created"
                if not dry_run:
                    ours.append(Schedule.objects.create(name=name, **wanted).pk)
            else:
                ours.append(current.pk)
                if current.cluster != cluster:
                    moved = f" (was for {_cluster_label(current.cluster)})"
                if all(getattr(current, k) == v for k, v in wanted.items()):
                    state = "unchanged"
                elif dry_run:
                    state = "would update"
                else:
                    for field, value in wanted.items():
                        setattr(current, field, value)
                    current.save()
                    state = "updated"
            self.stdout.write(f"{name}: every {minutes} min, {state}{moved}")
        for schedule in schedules_not_run_here().exclude(pk__in=ours):
            self.stderr.write(
                self.style.WARNING(
                    f'Schedule "{schedule.name or schedule.pk}" is for '
                    f'{_cluster_label(schedule.cluster)}: no worker of "{cluster}" runs it.'
                )
            )


def _cluster_label(cluster: str | None) -> str:
    if cluster is None:
        return f'no cluster, which only a cluster named "{Conf.PREFIX}" runs'
    return f'the cluster "{cluster}"'
