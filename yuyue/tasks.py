"""Thin django-q2 tasks of the project itself."""

from django.utils import timezone

from .ratelimit import rate_limit_counters_purge
from .worker import worker_heartbeat_write


def heartbeat_task() -> None:
    worker_heartbeat_write(now=timezone.now())


def rate_limits_purge_task() -> int:
    return rate_limit_counters_purge(now=timezone.now())
