"""Is the background worker alive? It writes a heartbeat every minute; staff pages warn when it
is older than WORKER_HEARTBEAT_MAX_SECONDS — reminders that silently stop are the most common
failure of booking systems."""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django_q.conf import Conf

HEARTBEAT_KEY = "worker-heartbeat"


def worker_heartbeat_write(*, now: dt.datetime) -> None:
    cache.set(HEARTBEAT_KEY, now.timestamp(), timeout=None)


def worker_last_heartbeat() -> dt.datetime | None:
    stamp = cache.get(HEARTBEAT_KEY)
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC) if stamp is not None else None


def worker_is_alive(*, now: dt.datetime) -> bool:
    last = worker_last_heartbeat()
    limit = dt.timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_SECONDS)
    return last is not None and now - last <= limit


def schedules_not_run_here():
    """Active schedules no worker of this queue runs: django-q2's scheduler takes a schedule that
    names its cluster, and one that names none only when the cluster is called like the site
    (Q_CLUSTER "name"). Left from a setup_schedules run with another Q_CLUSTER_QUEUE (or from
    before it named the cluster), they never run: no sweeps, no SMS retries, no heartbeat."""
    from django_q.models import Schedule  # a model: not importable before the apps are ready

    runs_here = Q(cluster=Conf.CLUSTER_NAME)
    if Conf.CLUSTER_NAME == Conf.PREFIX:
        runs_here |= Q(cluster__isnull=True)
    return Schedule.objects.exclude(repeats=0).exclude(runs_here).order_by("name", "pk")
