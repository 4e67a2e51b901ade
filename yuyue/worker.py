"""Is the background worker alive? It writes a heartbeat every minute; staff pages warn when it
is older than WORKER_HEARTBEAT_MAX_SECONDS — reminders that silently stop are the most common
failure of booking systems."""

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django_q.conf import Conf
from django_q.tasks import async_task

logger = logging.getLogger(__name__)

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


def task_enqueue_on_commit(func: str, *args, **options) -> None:
    """Queue the task ``func(*args)`` for the worker once the surrounding transaction commits.

    The broker (Redis) is a way to be quick, not the record: what the task works on is in the
    database, and a sweep finds what no task took up (queued text messages: the "deliver sms"
    schedule, every minute; register exports: the "register exports" sweep). So a broker that is
    down or restarting when the task is queued costs a delay, logged, and never the answer of the
    request whose transaction has committed."""
    transaction.on_commit(partial(_enqueue_or_log, func, args, options))


def _enqueue_or_log(func: str, args: tuple, options: dict) -> None:
    try:
        async_task(func, *args, **options)
    except Exception as error:  # whatever the broker raised: the committed work stays queued
        logger.warning(
            "Task %s%r not queued (broker unavailable: %s: %s); a sweep takes it up.",
            func,
            args,
            type(error).__name__,
            error,
        )
