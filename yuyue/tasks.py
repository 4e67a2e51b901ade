"""Thin django-q2 tasks of the project itself."""

from django.utils import timezone

from .ratelimit import rate_limit_counters_purge
from .sweeps import SWEEPS
from .worker import worker_heartbeat_write


def heartbeat_task() -> None:
    worker_heartbeat_write(now=timezone.now())


def sweep_task(name: str) -> str:
    """Run the registered sweep ``name`` (yuyue/sweeps.py) as of now."""
    now = timezone.now()
    worker_heartbeat_write(now=now)
    return str(SWEEPS[name](now=now))


def rate_limits_purge_task() -> int:
    return rate_limit_counters_purge(now=timezone.now())
