"""System checks of the background work's setup (run by `migrate` and `check --database`)."""

from django.core.checks import Tags, Warning, register
from django.db import connections, router
from django_q.conf import Conf


@register(Tags.database)
def schedules_run_by_this_queue(app_configs=None, databases=None, **kwargs):
    """A schedule set up for another worker cluster never runs here, and nothing fails: say so
    where an operator looks while deploying."""
    from django_q.models import Schedule

    from yuyue.worker import schedules_not_run_here

    alias = router.db_for_read(Schedule)
    if not databases or alias not in databases:
        return []
    # `migrate` checks before it migrates: on a new database there is no table yet.
    if Schedule._meta.db_table not in connections[alias].introspection.table_names():
        return []
    stranded = list(schedules_not_run_here().values_list("name", "cluster"))
    if not stranded:
        return []
    listed = ", ".join(f"{name} ({cluster or 'no cluster'})" for name, cluster in stranded[:5])
    if len(stranded) > 5:
        listed += f" and {len(stranded) - 5} more"
    return [
        Warning(
            f'{len(stranded)} schedules are not run by the worker cluster "{Conf.CLUSTER_NAME}" '
            f"(Q_CLUSTER_QUEUE): {listed}.",
            hint="Run `manage.py setup_schedules` with the workers' environment; a schedule "
            f'without a cluster runs only on a cluster named "{Conf.PREFIX}".',
            id="appointments.W001",
        )
    ]
