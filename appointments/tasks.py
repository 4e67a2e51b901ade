"""Thin django-q2 tasks: they take names or ids and call services."""

from django.utils import timezone

from yuyue.worker import worker_heartbeat_write

from .sweeps import SWEEPS


def sweep_task(name: str) -> str:
    now = timezone.now()
    worker_heartbeat_write(now=now)
    return str(SWEEPS[name](now=now))
